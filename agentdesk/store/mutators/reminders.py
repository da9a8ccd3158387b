"""Reminder mutators: an agent's follow-ups, set (or moved) and closed from the desktop.

The row is written here on both sides (the desk shows it at once); the timer that
makes it due is the server's: its reminder job follows the change feed and keeps
one ``reminder.due`` timer per open reminder (``services/tickets/reminders.py``).
``version`` stays at the centre's last confirmed value locally (0 for one set
here); the centre bumps it on every change it applies.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentdesk.models import Agent, Customer, Reminder, ReminderState, Ticket, agent_team
from agentdesk.store.mutation_args.reminders import MAX_AHEAD, ReminderClose, ReminderSet
from agentdesk.store.mutations import (
    Changed,
    MutationContext,
    MutationOutcome,
    MutationRejected,
    mutator,
)

OPEN_STATES = (ReminderState.PENDING.value, ReminderState.DUE.value)


def owner_team(session: Session, agent_id: uuid.UUID, ticket: Ticket | None) -> uuid.UUID | None:
    """The team the change feed routes the reminder by: one of the owner's teams, so it
    reaches the owner's desktop; the ticket's team when the owner has none."""
    team = session.scalar(
        select(agent_team.c.team_id)
        .where(agent_team.c.agent_id == agent_id)
        .order_by(agent_team.c.team_id)
        .limit(1)
    )
    return team if team is not None else (ticket.team_id if ticket is not None else None)


def _bump(row: Reminder, ctx: MutationContext) -> None:
    row.updated_at = ctx.now
    if ctx.side == "central":
        row.version += 1


@mutator("reminder.set", "reminder", ReminderSet)
def set_reminder(session: Session, args: ReminderSet, ctx: MutationContext) -> MutationOutcome:
    """Set a follow-up, or move an open one to a new ``due_at`` (pending again)."""
    if args.due_at > ctx.now + MAX_AHEAD:
        raise MutationRejected("a reminder can be set at most a year ahead", "due_at")
    existing = session.get(Reminder, args.id, with_for_update=True)
    if existing is not None:
        if existing.agent_id != args.agent_id:
            raise MutationRejected("this reminder belongs to another agent", "id")
        if existing.state not in OPEN_STATES:
            raise MutationRejected(f"this reminder is already {existing.state}", "id")
        if existing.due_at == args.due_at and existing.note == args.note:
            return MutationOutcome({"status": "unchanged", "id": str(args.id)})
        existing.due_at, existing.note = args.due_at, args.note
        existing.state, existing.fired_at = ReminderState.PENDING.value, None
        _bump(existing, ctx)
        session.flush()
        return MutationOutcome(
            {"status": "moved", "id": str(args.id)},
            [Changed("reminder", args.id, version=existing.version)],
        )
    owner = session.get(Agent, args.agent_id)
    if owner is None or not owner.active:
        raise MutationRejected("agent_id refers to no active agent", "agent_id")
    ticket = None
    if args.ticket_id is not None:
        ticket = session.get(Ticket, args.ticket_id)
        gone = ticket is not None and ticket.deleted_at is not None
        if gone or (ticket is None and ctx.side == "central"):
            raise MutationRejected("no such ticket", "ticket_id")
    customer_id = args.customer_id or (ticket.customer_id if ticket is not None else None)
    if customer_id is not None:
        customer = session.get(Customer, customer_id)
        if customer is not None and customer.deleted_at is not None:
            raise MutationRejected("no such customer", "customer_id")
        if customer is None:
            if ctx.side == "central":
                raise MutationRejected("no such customer", "customer_id")
            customer_id = None  # not in this cache yet: the centre checks it
    row = Reminder(
        id=args.id,
        agent_id=args.agent_id,
        team_id=owner_team(session, args.agent_id, ticket),
        ticket_id=args.ticket_id if ticket is not None or ctx.side == "central" else None,
        customer_id=customer_id,
        due_at=args.due_at,
        note=args.note,
        source="agent",
        state=ReminderState.PENDING.value,
        version=1 if ctx.side == "central" else 0,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    session.add(row)
    session.flush()
    return MutationOutcome(
        {"status": "created", "id": str(args.id)},
        [Changed("reminder", args.id, version=row.version)],
    )


@mutator("reminder.close", "reminder", ReminderClose)
def close_reminder(session: Session, args: ReminderClose, ctx: MutationContext) -> MutationOutcome:
    """Mark a reminder done (or cancel it); closing a closed one changes nothing."""
    row = session.get(Reminder, args.id, with_for_update=True)
    if row is None:
        raise MutationRejected("no such reminder", "id")
    if row.state not in OPEN_STATES:
        return MutationOutcome({"status": "unchanged", "id": str(args.id), "state": row.state})
    row.state = args.outcome.value
    row.done_at = ctx.now
    _bump(row, ctx)
    session.flush()
    return MutationOutcome(
        {"status": "closed", "id": str(args.id), "state": row.state},
        [Changed("reminder", args.id, version=row.version)],
    )
