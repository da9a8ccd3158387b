"""What is due: open tickets whose earliest running SLA clock expires before a given instant.

Both queries read the indexed ``ticket.sla_next_due`` (kept by the ticket
mutators: the earliest of the running clocks, None while paused or finished),
so the cost is a range scan over the index whatever the number of open
tickets; pages continue with ``after`` (keyset pagination, never OFFSET).

* :func:`due_keys` is what the scheduler's work uses (the escalation sweep):
  ``(due, id)`` only, read from the index ``(sla_next_due, id)`` alone, no
  table row touched and no per-row objects built.
* :func:`due_before` gives each due ticket's clocks and fields (lists, tools).

Qt-free and session-agnostic: a ``Connection`` or an ORM ``Session`` both work.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, select, tuple_
from sqlalchemy.orm import Session

from agentdesk.models import Ticket

MAX_PAGE = 10_000


@dataclass(frozen=True)
class DueTicket:
    """One ticket with a clock due: which clock, when, and what escalation needs to know."""

    id: uuid.UUID
    number: str
    team_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    priority: str
    status: str
    escalation_level: int
    due_at: dt.datetime
    clock: str  # "first_response", "next_update" or "resolution"
    first_response_due: dt.datetime | None
    next_update_due: dt.datetime | None
    resolution_due: dt.datetime | None

    @property
    def cursor(self) -> tuple[dt.datetime, uuid.UUID]:
        """Pass as ``after`` to read the next page."""
        return self.due_at, self.id


_COLUMNS = (
    Ticket.id,
    Ticket.number,
    Ticket.team_id,
    Ticket.assignee_id,
    Ticket.priority,
    Ticket.status,
    Ticket.escalation_level,
    Ticket.sla_next_due,
    Ticket.first_response_due,
    Ticket.next_update_due,
    Ticket.resolution_due,
    Ticket.first_responded_at,
)


def _page(
    stmt: Any, when: dt.datetime, limit: int, after: tuple[dt.datetime, uuid.UUID] | None
) -> Any:
    if when.tzinfo is None:
        raise ValueError("when must be timezone-aware")
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must lie between 1 and {MAX_PAGE}")
    stmt = (
        stmt.where(Ticket.sla_next_due.is_not(None), Ticket.sla_next_due <= when)
        .order_by(Ticket.sla_next_due, Ticket.id)
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(tuple_(Ticket.sla_next_due, Ticket.id) > tuple_(*after))
    return stmt


def due_keys(
    conn: Connection | Session,
    when: dt.datetime,
    limit: int = 500,
    after: tuple[dt.datetime, uuid.UUID] | None = None,
) -> list[tuple[dt.datetime, uuid.UUID]]:
    """``(due, id)`` of tickets with a running clock due at or before ``when``, earliest
    first, at most ``limit`` (1..10 000); pass the last one as ``after`` for the next page.
    An index-only range scan: nothing is read from the ticket rows."""
    stmt = _page(select(Ticket.sla_next_due, Ticket.id), when, limit, after)
    return [(due, ticket_id) for due, ticket_id in conn.execute(stmt)]


def due_before(
    conn: Connection | Session,
    when: dt.datetime,
    limit: int = 500,
    after: tuple[dt.datetime, uuid.UUID] | None = None,
) -> list[DueTicket]:
    """Tickets with a running clock due at or before ``when``, earliest first, at most
    ``limit`` (1..10 000); ``after`` is the last page's final ``cursor``."""
    return [_due(row) for row in conn.execute(_page(select(*_COLUMNS), when, limit, after))]


def _due(row: Row[Any, *tuple[Any, ...]]) -> DueTicket:
    due = row.sla_next_due
    if row.first_responded_at is None and due == row.first_response_due:
        clock = "first_response"
    elif row.first_responded_at is not None and due == row.next_update_due:
        clock = "next_update"
    else:
        clock = "resolution"
    return DueTicket(
        id=row.id,
        number=row.number,
        team_id=row.team_id,
        assignee_id=row.assignee_id,
        priority=row.priority.value,
        status=row.status.value,
        escalation_level=row.escalation_level,
        due_at=due,
        clock=clock,
        first_response_due=row.first_response_due,
        next_update_due=row.next_update_due,
        resolution_due=row.resolution_due,
    )
