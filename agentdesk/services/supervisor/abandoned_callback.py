"""A callback task for an abandoned caller: a reminder for one agent, or a ticket for a team.

Issue 15 item 4. A supervisor picks a row of the worklist
(:mod:`agentdesk.services.supervisor.abandoned`) and who calls back:

- **an agent**: a ``reminder.set`` for that agent, due now (a minute ahead:
  a reminder is never set in the past), with the note ``Call back +44 7700
  900123 (abandoned in cards after 2:10)``. A reminder is about a customer or a
  ticket, so for a caller no customer has the number of, the reminder is about
  a callback ticket assigned to that agent in their team;
- **a team**: a ``ticket.create`` with that title, in the team (the routing
  history names the supervisor's choice), handed out by the team's assignment
  mode, with the team's SLA clocks.

Refused, with a message a supervisor can act on, before anything is written:
no agent or team chosen (or both), a number that cannot be dialled, a customer
id that does not have this number, and any customer with this number who asked
not to be phoned (``customer.phone_opt_out``). When the customer is known the
task is also filed on their timeline as an internal note. Writes go through
the centre's mutations (``write``), so desktops receive them by sync; the route
audits the outcome. Nothing here logs the number.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from agentdesk.ids import uuid7
from agentdesk.models import Agent, Customer, CustomerPhone, Team, TicketStatus, agent_team, utcnow
from agentdesk.models.enums import Channel, Direction
from agentdesk.services.crm.phone import normalise
from agentdesk.services.supervisor.abandoned import CALLBACK_PREFIX
from agentdesk.services.tickets.plan import TicketPlanner
from agentdesk.services.tickets.views import TicketValidationError
from agentdesk.store.engine import read_session
from agentdesk.store.mutation_args.base import MutationRejected, rejecting
from agentdesk.store.mutation_args.interactions import InteractionAdd
from agentdesk.store.mutation_args.reminders import ReminderSet
from agentdesk.store.mutation_args.tickets import TicketCreate

REASON = "general_enquiry"  # the ticket reason of a callback (the SLA policy's default)
LEAD = dt.timedelta(minutes=1)  # "due now": the reminder fires a minute after it is set
SUBJECT = "Callback task"

Write = Callable[[str, dict[str, Any], str], Any]  # CentralStore.write(name, args, actor)


class CallbackRefused(ValueError):
    """No task was created; the message says why and ``field`` names the input."""

    def __init__(self, message: str, field: str, status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


@dataclass(frozen=True)
class CallbackRequest:
    """One worklist row to call back, and who calls."""

    number: str
    queue: str
    wait_s: int
    agent_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    due_at: dt.datetime | None = None


@dataclass(frozen=True)
class CallbackCreated:
    """What was written: the task's words, for whom, and the rows' ids."""

    text: str
    assigned_to: str  # the agent's or team's display name
    reminder_id: uuid.UUID | None
    ticket_id: uuid.UUID | None
    customer_id: uuid.UUID | None
    note_id: uuid.UUID | None  # the timeline entry, when the customer is known


def wait_text(seconds: int) -> str:
    """``2:10`` for 130 s; ``1:02:05`` past an hour."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def callback_text(display: str, queue: str, wait_s: int) -> str:
    """The task's words; ``abandoned.callbacks_since`` reads the number back from them."""
    return f"{CALLBACK_PREFIX}{display} (abandoned in {queue} after {wait_text(wait_s)})"


class CallbackService:
    """Turns a worklist row into a callback task at the centre (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        write: Write,
        planner: TicketPlanner,
        *,
        region: str = "GB",
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self._write = write
        self._planner = planner
        self._region = region
        self._clock = clock

    def create(self, req: CallbackRequest, actor: str, actor_id: uuid.UUID) -> CallbackCreated:
        if (req.agent_id is None) == (req.team_id is None):
            raise CallbackRefused("Choose either an agent or a team to call back.", "agent_id")
        number = normalise(req.number, self._region)
        if number.lookup_key is None:
            raise CallbackRefused(
                f"This number cannot be called back ({number.reason or 'not a phone number'}).",
                "number",
            )
        now = self._clock()
        due = req.due_at or now + LEAD
        if due.tzinfo is None:
            raise CallbackRefused("The callback time needs a time zone.", "due_at")
        text = callback_text(number.display, req.queue or "the queue", req.wait_s)
        with read_session(self._engine) as session:
            customer_id = self._customer(session, number.lookup_key, req.customer_id)
            if req.agent_id is not None:
                agent = session.get(Agent, req.agent_id)
                if agent is None or not agent.active:
                    raise CallbackRefused("No such active agent.", "agent_id", 404)
                who = agent.display_name
                team_id = session.scalar(
                    select(agent_team.c.team_id)
                    .where(agent_team.c.agent_id == agent.id)
                    .order_by(agent_team.c.team_id)
                    .limit(1)
                )
            else:
                assert req.team_id is not None
                team = session.get(Team, req.team_id)
                if team is None:
                    raise CallbackRefused("No such team.", "team_id", 404)
                who, team_id = team.name, team.id
            ticket_args = None
            if req.team_id is not None or customer_id is None:
                ticket_args = self._ticket(session, text, customer_id, team_id, req.agent_id, now)
        ticket_id = ticket_args.id if ticket_args is not None else None
        writes: list[tuple[str, dict[str, Any]]] = []
        if ticket_args is not None:
            writes.append((TicketCreate.mutation, ticket_args.to_json()))
        reminder_id = note_id = None
        try:
            if req.agent_id is not None:
                reminder_id = uuid7()
                with rejecting(ReminderSet.mutation):
                    reminder = ReminderSet(
                        id=reminder_id,
                        agent_id=req.agent_id,
                        ticket_id=ticket_id,
                        customer_id=customer_id,
                        due_at=due,
                        note=text,
                    )
                writes.append((ReminderSet.mutation, reminder.to_json()))
            if customer_id is not None:
                note_id = uuid7()
                with rejecting("interaction.add"):
                    note = InteractionAdd(
                        id=note_id,
                        customer_id=customer_id,
                        channel=Channel.PHONE,
                        direction=Direction.INTERNAL,
                        started_at=now,
                        ended_at=now,
                        agent_id=actor_id,
                        queue=req.queue[:80] or None,
                        subject=f"{SUBJECT}: {text}"[:300],
                        notes=f"Callback task for {who}, set from the abandoned-call worklist.",
                        ticket_id=ticket_id,
                    )
                writes.append(("interaction.add", note.to_json()))
            for name, args in writes:
                self._write(name, args, actor)
        except MutationRejected as exc:
            raise CallbackRefused(str(exc), exc.field or "number") from exc
        return CallbackCreated(text, who, reminder_id, ticket_id, customer_id, note_id)

    def _customer(self, session: Any, e164: str, chosen: uuid.UUID | None) -> uuid.UUID | None:
        """The customer the task is about; refused if any of them asked not to be phoned."""
        rows = session.execute(
            select(Customer.id, Customer.display_name, Customer.phone_opt_out)
            .join(CustomerPhone, CustomerPhone.customer_id == Customer.id)
            .where(CustomerPhone.e164 == e164, Customer.deleted_at.is_(None))
            .distinct()
        ).all()
        if chosen is not None and all(row.id != chosen for row in rows):
            raise CallbackRefused("That customer does not have this number.", "customer_id")
        mine = [row for row in rows if chosen is None or row.id == chosen]
        for row in mine if chosen is not None else rows:
            if row.phone_opt_out:
                raise CallbackRefused(
                    f"{row.display_name} asked not to be phoned: no callback task was created.",
                    "customer_id",
                )
        if chosen is not None:
            return chosen
        return rows[0].id if len(rows) == 1 else None

    def _ticket(
        self,
        session: Any,
        text: str,
        customer_id: uuid.UUID | None,
        team_id: uuid.UUID | None,
        assignee: uuid.UUID | None,
        now: dt.datetime,
    ) -> TicketCreate:
        try:
            routed = self._planner.route_new(
                session,
                reason=REASON,
                customer_id=customer_id,
                product=None,
                channel=Channel.PHONE.value,
                team_id=team_id,
                priority=None,
            )
            if assignee is not None:
                self._planner.check_member(session, assignee, routed.team_id)
            clocks = self._planner.new_clocks(routed.team, routed.priority, now)
        except TicketValidationError as exc:
            raise CallbackRefused(str(exc), exc.field) from exc
        try:
            with rejecting(TicketCreate.mutation):
                return TicketCreate(
                    id=uuid7(),
                    reason=REASON,
                    title=text[:200],
                    description="An abandoned caller to call back, from the supervisor's worklist.",
                    customer_id=customer_id,
                    priority=routed.priority,
                    team_id=routed.team_id,
                    assignee_id=assignee,
                    status=TicketStatus.OPEN if assignee else TicketStatus.NEW,
                    routed_by=routed.routed_by,
                    assign=None if assignee else routed.assign,
                    first_response_due=clocks.first_response_due,
                    resolution_due=clocks.resolution_due,
                )
        except MutationRejected as exc:
            raise CallbackRefused(str(exc), exc.field or "number") from exc
