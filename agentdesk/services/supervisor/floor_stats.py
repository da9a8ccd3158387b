"""Central-store figures for the supervisor: ring→pop latency per workstation, breached tickets.

``FloorReads`` is what the supervisor service needs; the server answers it from
the database (``DatabaseFloorReads``), a desktop through the server's API.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Engine, and_, func, or_, select

from agentdesk.models import CallRecord, Ticket, TicketStatus
from agentdesk.services.desk.pop_latency import percentile
from agentdesk.store.engine import read_session

_CLOSED = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


@dataclass(frozen=True, slots=True)
class WorkstationLatency:
    """Ring (AgentCalled) → screen pop painted on one workstation, over the calls of a day."""

    workstation: str
    calls: int
    p50_ms: float
    p95_ms: float
    max_ms: float


@dataclass(frozen=True, slots=True)
class BreachedTickets:
    """Open tickets whose first-response or resolution clock has run out."""

    count: int
    oldest: tuple[str, ...]  # ticket numbers, most overdue first (at most five)


def day_bounds(day: dt.date, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """[local midnight, next local midnight) of ``day`` as UTC datetimes."""
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def pop_latency_by_workstation(
    engine: Engine, day: dt.date, tz: dt.tzinfo
) -> tuple[WorkstationLatency, ...]:
    """p50/p95 of ring→pop per workstation for calls offered on ``day`` (local)."""
    start, end = day_bounds(day, tz)
    when = func.coalesce(CallRecord.offered_at, CallRecord.enqueued_at, CallRecord.answered_at)
    stmt = (
        select(CallRecord.workstation, CallRecord.pop_latency_ms)
        .where(CallRecord.pop_latency_ms.is_not(None), when >= start, when < end)
        .order_by(CallRecord.workstation)
    )
    samples: dict[str, list[float]] = {}
    with read_session(engine) as session:
        for workstation, latency in session.execute(stmt):
            if latency is not None:
                samples.setdefault(workstation or "(unknown)", []).append(float(latency))
    rows = []
    for workstation, values in sorted(samples.items()):
        values.sort()
        rows.append(
            WorkstationLatency(
                workstation,
                len(values),
                percentile(values, 50),
                percentile(values, 95),
                values[-1],
            )
        )
    return tuple(rows)


def breached_tickets(engine: Engine, now: dt.datetime) -> BreachedTickets:
    """Open, undeleted tickets past resolution due, or past first-response due unanswered."""
    overdue = or_(
        Ticket.resolution_due < now,
        and_(Ticket.first_responded_at.is_(None), Ticket.first_response_due < now),
    )
    where = (Ticket.status.not_in(_CLOSED), Ticket.deleted_at.is_(None), overdue)
    due = func.coalesce(Ticket.first_response_due, Ticket.resolution_due)
    with read_session(engine) as session:
        count = session.scalar(select(func.count()).select_from(Ticket).where(*where)) or 0
        oldest = session.scalars(select(Ticket.number).where(*where).order_by(due).limit(5)).all()
    return BreachedTickets(int(count), tuple(oldest))


class FloorReads(Protocol):
    """The supervisor's historical reads, wherever they are answered."""

    def pop_latency(self, day: dt.date, tz: dt.tzinfo) -> tuple[WorkstationLatency, ...]:
        """Ring→pop per workstation for the calls offered on ``day`` (local)."""

    def breached(self, now: dt.datetime) -> BreachedTickets:
        """Open tickets past their SLA at ``now``."""


@dataclass(frozen=True)
class DatabaseFloorReads:
    """``FloorReads`` straight from a store (the server, tools, tests)."""

    engine: Engine

    def pop_latency(self, day: dt.date, tz: dt.tzinfo) -> tuple[WorkstationLatency, ...]:
        return pop_latency_by_workstation(self.engine, day, tz)

    def breached(self, now: dt.datetime) -> BreachedTickets:
        return breached_tickets(self.engine, now)
