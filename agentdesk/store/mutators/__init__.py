"""Built-in mutators, registered on import. One module per aggregate."""

from agentdesk.store.mutators import (  # noqa: F401
    alerts,
    audit,
    customers,
    interactions,
    knowledge,
    orders,
    reminders,
    tickets,
)
