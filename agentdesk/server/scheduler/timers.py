"""Durable timers: rows in ``scheduled_timer`` that the leader fires when they are due.

A timer is named by ``(kind, subject)``; :func:`schedule` inserts it or moves
an unfired one, inside the caller's transaction (so a timer is set exactly
when the write that needs it commits). :meth:`TimerRunner.fire_due` fires
what is due in ``due_at`` order, each timer in its own transaction:

* the timer row is locked (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite
  writers are serialised) and re-read unfired, and the lease is checked
  current, in that transaction;
* the handler for its ``kind`` runs in a savepoint of the same transaction and
  ``fired_at`` is set with it: the handler's writes and the firing commit
  together, so a timer fires once, also across a crash or restart (a timer
  due while the server was down is simply due at the next tick);
* a handler that raises is rolled back alone; the timer records the attempt
  and error and is tried again from ``retry_at`` with back-off.

Handlers do database work only. Work that leaves the building (e-mail, SMS)
is queued by the handler in the same transaction and sent by its own outbox.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from agentdesk.ids import uuid7
from agentdesk.logsafe import describe_error
from agentdesk.models import ScheduledTimer
from agentdesk.server.scheduler.clock import Clock
from agentdesk.server.scheduler.lease import LeaderLease
from agentdesk.store.engine import read_session, write_session

log = logging.getLogger(__name__)

FIRST_RETRY = dt.timedelta(seconds=30)
MAX_RETRY = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Firing:
    """What a handler is given: the timer as it was due, and the instant it fires."""

    id: uuid.UUID
    kind: str
    subject: str
    due_at: dt.datetime
    payload: Mapping[str, Any]
    attempt: int
    now: dt.datetime


Handler = Callable[[Session, Firing], None]


def retry_delay(attempts: int) -> dt.timedelta:
    delay: dt.timedelta = FIRST_RETRY * (2 ** max(attempts - 1, 0))
    return min(delay, MAX_RETRY)


def schedule(
    session: Session,
    kind: str,
    subject: str,
    due_at: dt.datetime,
    payload: Mapping[str, Any] | None = None,
    *,
    rearm: bool = False,
) -> None:
    """Set timer ``(kind, subject)`` for ``due_at`` inside the caller's transaction.

    An unfired timer of that name is moved (and its payload replaced); a fired one is
    left alone unless ``rearm``, which makes it due again.
    """
    if due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    is_pg = session.get_bind().dialect.name == "postgresql"
    dialect_insert = postgresql.insert if is_pg else sqlite.insert
    stmt = dialect_insert(ScheduledTimer).values(
        id=uuid7(),
        kind=kind,
        subject=subject,
        due_at=due_at,
        payload=dict(payload or {}),
        attempts=0,
    )
    changes: dict[str, Any] = {
        "due_at": stmt.excluded.due_at,
        "payload": stmt.excluded.payload,
        "retry_at": None,
        "last_error": None,
        "attempts": 0,
    }
    if rearm:
        changes["fired_at"] = None
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["kind", "subject"],
            set_=changes,
            where=None if rearm else ScheduledTimer.fired_at.is_(None),
        )
    )


def cancel(session: Session, kind: str, subject: str) -> bool:
    """Drop an unfired timer; True if there was one."""
    row = session.scalars(
        select(ScheduledTimer).where(
            ScheduledTimer.kind == kind,
            ScheduledTimer.subject == subject,
            ScheduledTimer.fired_at.is_(None),
        )
    ).one_or_none()
    if row is None:
        return False
    session.delete(row)
    return True


class TimerRunner:
    """Fires due timers with the handlers registered per kind."""

    def __init__(self, engine: Engine, lease: LeaderLease, clock: Clock) -> None:
        self.engine = engine
        self.lease = lease
        self.clock = clock
        self.handlers: dict[str, Handler] = {}
        self._pg = engine.dialect.name == "postgresql"

    def register(self, kind: str, handler: Handler) -> None:
        if kind in self.handlers:
            raise ValueError(f"a handler for timer kind {kind!r} is already registered")
        self.handlers[kind] = handler

    def due(self, now: dt.datetime, limit: int) -> list[uuid.UUID]:
        """Ids of unfired timers due by ``now`` (not waiting out a retry), oldest first."""
        t = ScheduledTimer
        with read_session(self.engine) as s:
            return list(
                s.scalars(
                    select(t.id)
                    .where(
                        t.fired_at.is_(None),
                        t.due_at <= now,
                        or_(t.retry_at.is_(None), t.retry_at <= now),
                    )
                    .order_by(t.due_at, t.id)
                    .limit(limit)
                ).all()
            )

    def fire_due(self, limit: int = 200) -> int:
        """Fire up to ``limit`` due timers in due order; how many fired."""
        now = self.clock()
        fired = 0
        for timer_id in self.due(now, limit):
            outcome = self._fire(timer_id)
            if outcome is None:
                break  # the lease is gone: stop, the new leader carries on
            fired += outcome
        return fired

    def _fire(self, timer_id: uuid.UUID) -> int | None:
        with write_session(self.engine) as s:
            if not self.lease.current(s):
                return None
            now = self.clock()
            query = select(ScheduledTimer).where(
                ScheduledTimer.id == timer_id, ScheduledTimer.fired_at.is_(None)
            )
            if self._pg:
                query = query.with_for_update(skip_locked=True)
            timer = s.scalars(query).one_or_none()
            if timer is None:
                return 0  # fired meanwhile (another instance, an earlier tick)
            timer.attempts += 1
            firing = Firing(
                timer.id,
                timer.kind,
                timer.subject,
                timer.due_at,
                dict(timer.payload),
                timer.attempts,
                now,
            )
            handler = self.handlers.get(timer.kind)
            try:
                if handler is None:
                    raise LookupError(f"no handler for timer kind {timer.kind!r}")
                with s.begin_nested():
                    handler(s, firing)
            except Exception as exc:
                timer.retry_at = now + retry_delay(timer.attempts)
                timer.last_error = (
                    describe_error(exc)
                    if getattr(exc, "orig", None)
                    else (f"{type(exc).__name__}: {exc}"[:2000])
                )
                log.warning(
                    "timer %s (%s) attempt %d failed, retrying at %s: %s",
                    timer.id,
                    timer.kind,
                    timer.attempts,
                    timer.retry_at.isoformat(),
                    type(exc).__name__,
                )
                return 0
            timer.fired_at = now
            timer.retry_at = None
            timer.last_error = None
        log.debug("timer %s (%s) fired", timer_id, firing.kind)
        return 1
