"""Sub-commands of the ``agentdesk`` command line, one module per group.

Each module exposes ``register(subparsers)`` which adds its parser and sets
``func`` (called with the parsed namespace, returning an exit code).
"""
