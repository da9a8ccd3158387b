"""Follow-up reminders: set on the desk, made due by the server, shown live and at sign-in.

* The desk writes ``reminder.set`` / ``reminder.close`` through its writer (the
  outbox and sync, like every change); :func:`set_reminder` builds the arguments
  from what the agent typed and refuses a time in the past.
* On the server, :meth:`ReminderService.reconcile` (a leader job, from
  ``feed_follower.FeedFollower``) follows the change feed for ``reminder`` rows
  after its cursor (``sync_state`` ``reminders.cursor``) and keeps one
  ``reminder.due`` timer per open reminder (subject: the reminder's id), moving
  the cursor in the same transaction. On first start it sweeps the pending
  reminders.
* :meth:`ReminderService.handle` fires in the timer's transaction: the reminder,
  locked and still pending and due, becomes ``due`` (version bumped, feed row
  appended), which reaches the owner's desktop live through sync.
* A desk that was signed out keeps them: :func:`due_reminders` lists the open,
  due reminders of an agent from the desk's cache (or the centre), the "missed
  while away" list shown at sign-in; :func:`upcoming_reminders` the pending ones.

Logs name reminders by id only; the note is never logged.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select, tuple_
from sqlalchemy.orm import Session

from agentdesk.ids import uuid7
from agentdesk.models import Customer, Reminder, ReminderState, Ticket, utcnow
from agentdesk.services.tickets.escalation import (
    AlertView,
    EscalationView,
    alerts_for,
    escalated_tickets,
)
from agentdesk.services.tickets.feed_follower import FeedFollower, SweepKey, TimerOps, publish
from agentdesk.store.engine import read_session
from agentdesk.store.mutation_args.alerts import TicketAlertRead
from agentdesk.store.mutation_args.base import rejecting
from agentdesk.store.mutation_args.reminders import ReminderClose, ReminderOutcome, ReminderSet
from agentdesk.store.mutations import Changed, MutationRejected
from agentdesk.store.sync.central import CentralStore
from agentdesk.store.writer import LocalWriter

log = logging.getLogger(__name__)

TIMER_KIND = "reminder.due"
CURSOR_KEY = "reminders.cursor"
OPEN = (ReminderState.PENDING.value, ReminderState.DUE.value)
Clock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class ReminderView:
    """One reminder as the desk lists it."""

    id: uuid.UUID
    due_at: dt.datetime
    state: str
    note: str | None
    ticket_id: uuid.UUID | None
    customer_id: uuid.UUID | None
    fired_at: dt.datetime | None


def _view(row: Reminder) -> ReminderView:
    return ReminderView(
        row.id, row.due_at, row.state, row.note, row.ticket_id, row.customer_id, row.fired_at
    )


# --- the desk's side --------------------------------------------------------------------------


def set_reminder(
    writer: LocalWriter,
    agent_id: uuid.UUID,
    due_at: dt.datetime,
    *,
    ticket_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    note: str | None = None,
    now: dt.datetime | None = None,
    reminder_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Set (or, with ``reminder_id``, move) a follow-up; a time already past is refused."""
    if due_at.tzinfo is None:
        raise MutationRejected("the reminder time needs a time zone", "due_at")
    if due_at <= (now or utcnow()):
        raise MutationRejected("the reminder time is in the past", "due_at")
    rid = reminder_id or uuid7()
    with rejecting(ReminderSet.mutation):
        args = ReminderSet(
            id=rid,
            agent_id=agent_id,
            ticket_id=ticket_id,
            customer_id=customer_id,
            due_at=due_at,
            note=(note or "").strip() or None,
        )
    writer.write(ReminderSet.mutation, args)
    return rid


def close_reminder(
    writer: LocalWriter, reminder_id: uuid.UUID, outcome: ReminderOutcome = ReminderOutcome.DONE
) -> None:
    writer.write(ReminderClose.mutation, ReminderClose(id=reminder_id, outcome=outcome))


def due_reminders(engine: Engine, agent_id: uuid.UUID, limit: int = 200) -> list[ReminderView]:
    """The agent's reminders that came due and are not done, oldest first: the tray's list,
    and at sign-in the ones missed while away."""
    with read_session(engine) as s:
        rows = s.scalars(
            select(Reminder)
            .where(Reminder.agent_id == agent_id, Reminder.state == ReminderState.DUE.value)
            .order_by(Reminder.due_at, Reminder.id)
            .limit(max(1, min(limit, 1000)))
        ).all()
        return [_view(r) for r in rows]


def upcoming_reminders(engine: Engine, agent_id: uuid.UUID, limit: int = 200) -> list[ReminderView]:
    """The agent's reminders not yet due, soonest first."""
    with read_session(engine) as s:
        rows = s.scalars(
            select(Reminder)
            .where(Reminder.agent_id == agent_id, Reminder.state == ReminderState.PENDING.value)
            .order_by(Reminder.due_at, Reminder.id)
            .limit(max(1, min(limit, 1000)))
        ).all()
        return [_view(r) for r in rows]


# --- the server's side ------------------------------------------------------------------------


class ReminderService(FeedFollower):
    """Keeps a timer per open reminder and makes reminders due when it fires."""

    entity_type = "reminder"
    cursor_key = CURSOR_KEY
    name = "reminders"

    def __init__(self, store: CentralStore, *, timers: TimerOps, clock: Clock = utcnow) -> None:
        super().__init__(store)
        self.timers = timers
        self.clock = clock

    def sweep_page(self, s: Session, after: SweepKey | None, limit: int) -> list[SweepKey]:
        """Pending reminders by due time (the index ``(agent_id, state, due_at)`` does not
        lead with the state, so this reads the pending ones; a sweep is rare)."""
        stmt = (
            select(Reminder.due_at, Reminder.id)
            .where(Reminder.state == ReminderState.PENDING.value)
            .order_by(Reminder.due_at, Reminder.id)
            .limit(limit)
        )
        if after is not None:
            stmt = stmt.where(tuple_(Reminder.due_at, Reminder.id) > tuple_(*after))
        return [(due, rid) for due, rid in s.execute(stmt)]

    def replan_in(self, s: Session, reminder_id: uuid.UUID) -> None:
        row = s.get(Reminder, reminder_id)
        if row is not None and row.state == ReminderState.PENDING.value:
            self.timers.schedule(s, TIMER_KIND, str(reminder_id), row.due_at, rearm=True)
        else:
            self.timers.cancel(s, TIMER_KIND, str(reminder_id))

    def handle(self, s: Session, firing: Any) -> None:
        """``reminder.due`` handler: a pending reminder whose time came becomes due."""
        row = s.get(Reminder, uuid.UUID(firing.subject), with_for_update=True)
        if row is None:
            return
        s.refresh(row)
        if row.state != ReminderState.PENDING.value or row.due_at > firing.now:
            return  # closed, or moved later (the reconcile re-arms the timer)
        row.state = ReminderState.DUE.value
        row.fired_at = firing.now
        row.updated_at = firing.now
        row.version += 1
        s.flush()
        publish(self.store, s, [Changed("reminder", row.id, version=row.version)])
        log.info("reminder %s due", row.id)


# --- the desk's follow-ups, as one service for the desktop ------------------------------------

SNOOZE_MIN = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class FollowUps:
    """What the desk's Reminders list shows: due (missed or just come), upcoming, alerts."""

    due: tuple[ReminderView, ...]
    upcoming: tuple[ReminderView, ...]
    alerts: tuple[AlertView, ...]
    # What the reminders are about, as the desk names them: customer display names and
    # ticket numbers by id (from the cache; absent when not cached).
    names: Mapping[uuid.UUID, str] = field(default_factory=dict)
    # For supervisors: the open escalated tickets this desk holds (its teams'), highest
    # level first; empty for agents.
    escalated: tuple[EscalationView, ...] = ()


class DeskFollowUps:
    """One agent's reminders and escalation alerts on the desk: read from the cache, written
    through the desk's writer (outbox and sync, like every change). Qt-free; call it off the
    GUI thread."""

    def __init__(
        self,
        engine: Engine,
        writer: LocalWriter,
        agent_id: uuid.UUID,
        *,
        clock: Clock = utcnow,
        supervisor: bool = False,
    ) -> None:
        self.engine = engine
        self.writer = writer
        self.agent_id = agent_id
        self.clock = clock
        self.supervisor = supervisor

    def load(self) -> FollowUps:
        due = tuple(due_reminders(self.engine, self.agent_id))
        upcoming = tuple(upcoming_reminders(self.engine, self.agent_id))
        customers = {r.customer_id for r in due + upcoming if r.customer_id is not None}
        tickets = {r.ticket_id for r in due + upcoming if r.ticket_id is not None}
        names: dict[uuid.UUID, str] = {}
        with read_session(self.engine) as s:
            if customers:
                stmt = select(Customer.id, Customer.display_name).where(
                    Customer.id.in_(sorted(customers))
                )
                names.update((cid, name) for cid, name in s.execute(stmt))
            if tickets:
                stmt = select(Ticket.id, Ticket.number).where(Ticket.id.in_(sorted(tickets)))
                names.update((tid, number) for tid, number in s.execute(stmt))
        escalated = tuple(escalated_tickets(self.engine)) if self.supervisor else ()
        alerts = tuple(alerts_for(self.engine, self.agent_id))
        return FollowUps(due, upcoming, alerts, names, escalated)

    def customer_of(self, ticket_id: uuid.UUID) -> uuid.UUID | None:
        """The customer a cached ticket is about (to open it from an alert)."""
        with read_session(self.engine) as s:
            return s.scalar(select(Ticket.customer_id).where(Ticket.id == ticket_id))

    def set(
        self,
        due_at: dt.datetime,
        *,
        ticket_id: uuid.UUID | None = None,
        customer_id: uuid.UUID | None = None,
        note: str | None = None,
    ) -> uuid.UUID:
        """A new follow-up; refused (``MutationRejected``, the field named) when the time is
        past, more than a year ahead, or it is about nothing."""
        return set_reminder(
            self.writer,
            self.agent_id,
            due_at,
            ticket_id=ticket_id,
            customer_id=customer_id,
            note=note,
            now=self.clock(),
        )

    def done(self, reminder_id: uuid.UUID) -> None:
        close_reminder(self.writer, reminder_id)

    def cancel(self, reminder_id: uuid.UUID) -> None:
        close_reminder(self.writer, reminder_id, ReminderOutcome.CANCELLED)

    def snooze(self, reminder: ReminderView, until: dt.datetime) -> None:
        """Move an open reminder to ``until`` (pending again; the server re-arms its timer)."""
        if until < self.clock() + SNOOZE_MIN:
            raise MutationRejected("snooze to a time at least a minute ahead", "due_at")
        set_reminder(
            self.writer,
            self.agent_id,
            until,
            ticket_id=reminder.ticket_id,
            customer_id=reminder.customer_id,
            note=reminder.note,
            now=self.clock(),
            reminder_id=reminder.id,
        )

    def read_alert(self, alert_id: uuid.UUID) -> None:
        self.writer.write(TicketAlertRead.mutation, TicketAlertRead(id=alert_id))
