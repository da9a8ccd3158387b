"""Ticket mutators: create, update along the workflow, explicit reopen, append-only comments.

Run on the desktop's cache first and then, authoritatively, on the centre:

* Status only moves forward (new → open → pending → resolved → closed);
  going back is the explicit ``ticket.reopen``. When two desktops move a
  ticket concurrently the centre keeps the more advanced state.
* Priority, severity, team, assignee and the texts: the later arrival at the
  centre wins; every applied change appends a ``ticket_history`` row holding
  the value it replaced.
* Locally ``version`` stays at the last version the centre confirmed (0 for a
  ticket created here); the centre bumps it on every applied change.
* The ticket number is derived from the ticket's UUIDv7, so desktops create
  numbers offline without talking to each other; the centre appends a suffix
  in the (astronomically unlikely) event that a number is already taken.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentdesk.ids import uuid7
from agentdesk.models import (
    Agent,
    Customer,
    Team,
    Ticket,
    TicketComment,
    TicketHistory,
    TicketStatus,
)
from agentdesk.store.mutation_args.tickets import MAX_COMMENT as MAX_COMMENT
from agentdesk.store.mutation_args.tickets import (
    TicketCommentAdd,
    TicketCreate,
    TicketReopen,
    TicketUpdate,
)
from agentdesk.store.mutations import (
    Changed,
    MutationContext,
    MutationOutcome,
    MutationRejected,
    jsonable,
    mutator,
)

STATUS_RANK = {s: i for i, s in enumerate(TicketStatus)}  # enum order is the workflow order
REOPENABLE = frozenset({TicketStatus.PENDING, TicketStatus.RESOLVED, TicketStatus.CLOSED})
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ticket_number(ticket_id: uuid.UUID) -> str:
    """``T-XXXX-XXXX-XXXX-XXXX``: 80 bits of the UUIDv7 in Crockford base32.

    The version and variant bits are skipped: 48 bits of milliseconds, the
    12-bit counter and 20 random bits remain.
    """
    bits = (
        (ticket_id.int >> 80) << 32
        | ((ticket_id.int >> 64) & 0xFFF) << 20
        | (ticket_id.int & 0xFFFFF)
    )
    chars = "".join(_CROCKFORD[(bits >> (5 * i)) & 31] for i in reversed(range(16)))
    return "T-" + "-".join(chars[i : i + 4] for i in range(0, 16, 4))


def _ref(session: Session, model: type[Any], ref: uuid.UUID | None, key: str) -> uuid.UUID | None:
    """A reference that must exist (team, agent, customer) or be null."""
    if ref is None:
        return None
    row = session.get(model, ref)
    if row is None or getattr(row, "deleted_at", None) is not None:
        raise MutationRejected(f"{key} refers to no known {model.__tablename__}", key)
    return ref


def _customer_ref(
    session: Session, ref: uuid.UUID | None, ctx: MutationContext
) -> uuid.UUID | None:
    """The ticket's customer. On a desktop, one its cache does not hold yet (a caller the
    server matched, a follow-up from their wrap-up) is left off the provisional local row
    and kept in the queued arguments: the centre checks it, and the ticket is refreshed
    from the centre once acknowledged."""
    if ref is not None and ctx.side == "local" and session.get(Customer, ref) is None:
        return None
    return _ref(session, Customer, ref, "customer_id")


def _history(
    session: Session, ticket: Ticket, ctx: MutationContext, field: str, old: Any, new: Any
) -> Changed:
    entry = TicketHistory(
        id=uuid7(),
        ticket_id=ticket.id,
        field=field,
        old_value=None if old is None else str(jsonable(old)),
        new_value=None if new is None else str(jsonable(new)),
        changed_by=ctx.actor,
        changed_at=ctx.now,
    )
    session.add(entry)
    return Changed("ticket_history", entry.id)


def _live_ticket(
    session: Session, ticket_id: uuid.UUID, key: str = "id", *, lock: bool = True
) -> Ticket:
    row = session.get(Ticket, ticket_id, with_for_update=lock)
    if row is None or row.deleted_at is not None:
        raise MutationRejected("no such ticket", key)
    return row


def _unique_number(session: Session, number: str, ticket_id: uuid.UUID) -> str:
    candidate, width = number, 4
    while session.scalar(select(Ticket.id).where(Ticket.number == candidate)) is not None:
        candidate, width = f"{number}-{ticket_id.hex[-width:].upper()}", width + 2
    return candidate


@mutator("ticket.create", "ticket", TicketCreate)
def create_ticket(session: Session, args: TicketCreate, ctx: MutationContext) -> MutationOutcome:
    """Open a ticket (``TicketCreate``). Replaying an existing id changes nothing (status
    ``exists``). Result carries the ``number``; the centre makes it unique if it must."""
    existing = session.get(Ticket, args.id)
    if existing is not None:
        return MutationOutcome({"status": "exists", "id": str(args.id), "number": existing.number})
    number = args.number or ticket_number(args.id)
    row = Ticket(
        id=args.id,
        number=_unique_number(session, number, args.id) if ctx.side == "central" else number,
        customer_id=_customer_ref(session, args.customer_id, ctx),
        reason=args.reason,
        title=args.title,
        description=args.description,
        priority=args.priority,
        severity=args.severity,
        status=args.status,
        team_id=_ref(session, Team, args.team_id, "team_id"),
        assignee_id=_ref(session, Agent, args.assignee_id, "assignee_id"),
        created_by=_ref(session, Agent, args.created_by, "created_by"),
        first_response_due=args.first_response_due,
        resolution_due=args.resolution_due,
        escalation_level=args.escalation_level,
        version=1 if ctx.side == "central" else 0,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    session.add(row)
    session.flush()
    history = _history(session, row, ctx, "created", None, row.number)
    session.flush()
    return MutationOutcome(
        {"status": "created", "id": str(args.id), "number": row.number},
        [Changed("ticket", args.id, version=row.version), history],
    )


def _set_status(row: Ticket, new: TicketStatus, now: dt.datetime) -> None:
    row.status = new
    row.closed_at = now if new == TicketStatus.CLOSED else None


@mutator("ticket.update", "ticket", TicketUpdate)
def update_ticket(session: Session, args: TicketUpdate, ctx: MutationContext) -> MutationOutcome:
    """Change the given fields (``TicketChanges``).

    Locally a backward status is refused; at the centre a status that another desktop
    already moved further is kept (result ``kept``). Every applied change appends a
    history row.
    """
    row = _live_ticket(session, args.id)
    parsed = args.changed()
    if "team_id" in parsed:
        _ref(session, Team, args.changes.team_id, "team_id")
    if "assignee_id" in parsed:
        _ref(session, Agent, args.changes.assignee_id, "assignee_id")
    applied: list[str] = []
    kept: dict[str, Any] = {}
    changed: list[Changed] = []
    for name, new in parsed.items():
        old = getattr(row, name)
        if old == new:
            continue
        if name == "status" and STATUS_RANK[new] < STATUS_RANK[old]:
            if ctx.side == "local":
                raise MutationRejected(
                    f"status cannot go back from {old.value} to {new.value}; "
                    "reopen the ticket instead",
                    "status",
                )
            kept[name] = old.value  # the more advanced state wins
            continue
        if name == "status":
            _set_status(row, new, ctx.now)
        else:
            setattr(row, name, new)
        applied.append(name)
        changed.append(_history(session, row, ctx, name, old, new))
    if applied:
        row.updated_at = ctx.now
        if ctx.side == "central":
            row.version += 1
    session.flush()
    result = {
        "status": "updated" if applied else "unchanged",
        "id": str(row.id),
        "applied": applied,
        "kept": kept,
    }
    return MutationOutcome(result, [Changed("ticket", row.id, version=row.version), *changed])


@mutator("ticket.reopen", "ticket", TicketReopen)
def reopen_ticket(session: Session, args: TicketReopen, ctx: MutationContext) -> MutationOutcome:
    """Move a pending, resolved or closed ticket back to open, keeping ``reason`` in the history.

    Locally a ticket that is not pending/resolved/closed is refused; at the centre an
    already-open ticket is left as is.
    """
    row = _live_ticket(session, args.id)
    reason = args.reason
    if row.status not in REOPENABLE:
        if ctx.side == "local":
            raise MutationRejected(f"a {row.status.value} ticket is already open", "status")
        return MutationOutcome(
            {"status": "unchanged", "id": str(row.id)},
            [Changed("ticket", row.id, version=row.version)],
        )
    old = row.status
    _set_status(row, TicketStatus.OPEN, ctx.now)
    changed = [_history(session, row, ctx, "status", old, TicketStatus.OPEN)]
    if reason:
        changed.append(_history(session, row, ctx, "reopen_reason", None, reason))
    row.updated_at = ctx.now
    if ctx.side == "central":
        row.version += 1
    session.flush()
    return MutationOutcome(
        {"status": "reopened", "id": str(row.id)},
        [Changed("ticket", row.id, version=row.version), *changed],
    )


@mutator("ticket.comment", "ticket_comment", TicketCommentAdd)
def comment_ticket(
    session: Session, args: TicketCommentAdd, ctx: MutationContext
) -> MutationOutcome:
    """Append a comment. Append-only and idempotent: a replayed id changes nothing."""
    if session.get(TicketComment, args.id) is not None:
        return MutationOutcome({"status": "exists", "id": str(args.id)})
    # No row lock: a comment only needs the ticket to exist; it never changes it.
    ticket = _live_ticket(session, args.ticket_id, "ticket_id", lock=False)
    session.add(
        TicketComment(
            id=args.id,
            ticket_id=ticket.id,
            author_id=_ref(session, Agent, args.author_id, "author_id"),
            body=args.body,
            internal=args.internal,
            created_at=ctx.now,
        )
    )
    session.flush()
    return MutationOutcome(
        {"status": "created", "id": str(args.id)}, [Changed("ticket_comment", args.id)]
    )
