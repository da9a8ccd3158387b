"""agentdesk: a native contact-center desktop for agents and supervisors."""

__version__ = "0.1.0"
