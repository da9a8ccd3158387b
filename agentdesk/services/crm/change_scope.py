"""Which customers a batch of changed rows belongs to, so screens refresh only what they show.

A local write reports the rows it touched (``WriteResult.changed``) and the
sync engine the rows a pull brought in, each as ``(entity kind, id)``. A
customer's workspace cares about the customer row, its history, its
interactions and its tickets (and their history and comments); this reads
the owning customer of each from the local cache, in a bounded number of
``IN`` queries.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import Engine, select

from agentdesk.models import CustomerHistory, Interaction, Ticket, TicketComment, TicketHistory
from agentdesk.store.engine import read_session

CHUNK = 500  # ids per IN (…) query; SQLite allows far more, this keeps statements small

# kind → (model, the id column looked up, the column naming the customer or the ticket)
_DIRECT = {
    "interaction": (Interaction, Interaction.id, Interaction.customer_id),
    "customer_history": (CustomerHistory, CustomerHistory.id, CustomerHistory.customer_id),
    "ticket": (Ticket, Ticket.id, Ticket.customer_id),
}
_VIA_TICKET = {
    "ticket_history": (TicketHistory.id, TicketHistory.ticket_id),
    "ticket_comment": (TicketComment.id, TicketComment.ticket_id),
}


def _chunks(ids: list[uuid.UUID]) -> Iterable[list[uuid.UUID]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


class ChangeScope:
    """Maps changed rows to the customers whose screens show them."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def customers_of(self, changed: Iterable[tuple[str, uuid.UUID]]) -> frozenset[uuid.UUID]:
        by_kind: dict[str, list[uuid.UUID]] = {}
        for kind, entity_id in changed:
            by_kind.setdefault(kind, []).append(entity_id)
        found: set[uuid.UUID] = set(by_kind.get("customer", ()))
        ticket_ids: set[uuid.UUID] = set()
        with read_session(self._engine) as session:
            for kind, (id_col, ticket_col) in _VIA_TICKET.items():
                for chunk in _chunks(by_kind.get(kind, [])):
                    ticket_ids.update(session.scalars(select(ticket_col).where(id_col.in_(chunk))))
            for kind, (_model, id_col, owner) in _DIRECT.items():
                ids = by_kind.get(kind, [])
                if kind == "ticket":
                    ids = list({*ids, *ticket_ids})
                for chunk in _chunks(ids):
                    found.update(
                        c for c in session.scalars(select(owner).where(id_col.in_(chunk))) if c
                    )
        return frozenset(found)
