"""Calling back an abandoned caller from the callback task on the agent's desk.

A supervisor's callback task (``services/supervisor/abandoned_callback.py``)
reaches the agent as a reminder whose note reads ``Call back +44 7700 900123
(abandoned in cards after 2:10)``. :meth:`CallbackTasks.place` is what the
desk's "Call back" button does before it asks the PBX to dial (click-to-dial,
through the server's call requests):

- it refuses a caller whose customer asked not to be phoned since the task
  was set (``customer.phone_opt_out`` in the desk's cache);
- it files the callback on the customer's timeline: an outbound phone
  interaction with the number (``caller_id``), about the task's ticket if any.
  That entry is also what takes the caller off the supervisor's worklist
  (``abandoned.callbacks_since`` reads outbound calls to the number). For a
  caller no customer has the number of, the task's ticket gets a comment instead;
- it marks the reminder done (a done callback reminder settles the caller too).

A team's callback ticket (titled with the same words) is called back from the
ticket's detail the same way (:meth:`CallbackTasks.place_ticket`): the same
check and timeline entry; the ticket itself is left for the agent to resolve
with the outcome.

Every write goes through the desk's writer (cache, outbox, sync), like any
other change. Qt-free; call it off the GUI thread. Nothing here logs the number.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, select

from agentdesk.ids import uuid7
from agentdesk.models import Customer, Ticket, utcnow
from agentdesk.models.enums import Channel, Direction
from agentdesk.services.crm.phone import normalise
from agentdesk.services.supervisor.abandoned import task_number
from agentdesk.services.tickets.reminders import ReminderView, close_reminder
from agentdesk.services.tickets.views import TicketRow
from agentdesk.store.engine import read_session
from agentdesk.store.mutation_args.base import MutationRejected
from agentdesk.store.mutation_args.interactions import InteractionAdd
from agentdesk.store.mutation_args.tickets import TicketCommentAdd
from agentdesk.store.writer import LocalWriter

SUBJECT = "Callback"


@dataclass(frozen=True)
class PlacedCallback:
    """A callback filed: the number to dial, and where it was recorded."""

    number: str  # E.164, what the PBX dials
    display: str  # the number as the agent reads it
    customer_id: uuid.UUID | None
    interaction_id: uuid.UUID | None  # the timeline entry, when the customer is known
    comment_id: uuid.UUID | None  # the ticket comment, for a caller not on file


def opt_out_reason(name: str) -> str:
    """Why the desk does not dial a customer who asked not to be phoned ("Not called: …")."""
    return f"{name} asked not to be phoned (Do not phone is on their record)"


def callback_number(note: str | None, region: str = "GB") -> str | None:
    """The E.164 number of a callback task's note, or None when it is not one."""
    text = task_number(note)
    return normalise(text, region).lookup_key if text else None


class CallbackTasks:
    """Files a callback from a callback reminder (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        writer: LocalWriter,
        agent_id: uuid.UUID,
        *,
        region: str = "GB",
        clock: Callable[[], dt.datetime] = utcnow,
        ensure_cached: Callable[[uuid.UUID], None] | None = None,
    ) -> None:
        self._engine = engine
        self._ensure_cached = ensure_cached
        self._writer = writer
        self._agent_id = agent_id
        self._region = region
        self._clock = clock

    def number_of(self, reminder: ReminderView) -> str | None:
        return callback_number(reminder.note, self._region)

    def place(self, reminder: ReminderView) -> PlacedCallback:
        """Check, record on the timeline and close the task; the caller then dials."""
        number = self.number_of(reminder)
        if number is None:
            raise MutationRejected("this reminder is not a callback task", "note")
        customer_id = reminder.customer_id
        if customer_id is None and reminder.ticket_id is not None:
            with read_session(self._engine) as session:
                customer_id = session.scalar(
                    select(Ticket.customer_id).where(Ticket.id == reminder.ticket_id)
                )
        placed = self._record(number, customer_id, reminder.ticket_id, reminder.note or "")
        close_reminder(self._writer, reminder.id)
        return placed

    def number_of_ticket(self, ticket: TicketRow) -> str | None:
        """The number a team's callback ticket asks to call (its title), or None."""
        return callback_number(ticket.title, self._region)

    def place_ticket(self, ticket: TicketRow) -> PlacedCallback:
        """A team's callback ticket: check and record like a reminder's task; the ticket stays
        as it is (the agent resolves it with the outcome; the timeline entry already takes the
        caller off the worklist)."""
        number = self.number_of_ticket(ticket)
        if number is None:
            raise MutationRejected("this ticket is not a callback task", "title")
        if not ticket.is_open:
            raise MutationRejected(f"ticket {ticket.number} is {ticket.status}", "status")
        return self._record(number, ticket.customer_id, ticket.id, ticket.title)

    def _record(
        self, number: str, customer_id: uuid.UUID | None, ticket_id: uuid.UUID | None, task: str
    ) -> PlacedCallback:
        """Refuse a customer who asked not to be phoned, else file the callback (docstring)."""
        if customer_id is not None and self._ensure_cached is not None:
            # A task can be about a customer this desk was never handed: bring them in
            # (fresh, so a "do not phone" set since is seen) before writing about them.
            self._ensure_cached(customer_id)
        with read_session(self._engine) as session:
            if customer_id is not None:
                row = session.execute(
                    select(Customer.display_name, Customer.phone_opt_out).where(
                        Customer.id == customer_id
                    )
                ).one_or_none()
                if row is not None and row.phone_opt_out:
                    raise MutationRejected(opt_out_reason(row.display_name), "customer_id")
        display = normalise(number, self._region).display
        now = self._clock()
        words = f"{SUBJECT} to {display}: {task}"
        interaction_id = comment_id = None
        if customer_id is not None:
            interaction_id = uuid7()
            self._writer.write(
                InteractionAdd.mutation,
                InteractionAdd(
                    id=interaction_id, customer_id=customer_id, channel=Channel.PHONE,
                    direction=Direction.OUTBOUND, started_at=now, agent_id=self._agent_id,
                    caller_id=number, subject=words[:300], ticket_id=ticket_id,
                    notes="Called back from the callback task (abandoned-call worklist).",
                ),
            )  # fmt: skip
        elif ticket_id is not None:
            comment_id = uuid7()
            self._writer.write(
                TicketCommentAdd.mutation,
                TicketCommentAdd(
                    id=comment_id, ticket_id=ticket_id, body=words, author_id=self._agent_id
                ),
            )  # fmt: skip
        return PlacedCallback(number, display, customer_id, interaction_id, comment_id)
