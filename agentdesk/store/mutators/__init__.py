"""Built-in mutators, registered on import. One module per aggregate."""

from agentdesk.store.mutators import audit, customers, interactions, tickets  # noqa: F401
