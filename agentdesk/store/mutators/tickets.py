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
    Severity,
    Team,
    Ticket,
    TicketComment,
    TicketHistory,
    TicketPriority,
    TicketStatus,
)
from agentdesk.store.mutations import (
    Changed,
    MutationContext,
    MutationOutcome,
    MutationRejected,
    arg_datetime,
    arg_text,
    arg_uuid,
    jsonable,
    mutator,
)

STATUS_RANK = {s: i for i, s in enumerate(TicketStatus)}  # enum order is the workflow order
REOPENABLE = frozenset({TicketStatus.PENDING, TicketStatus.RESOLVED, TicketStatus.CLOSED})
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
MAX_COMMENT = 100_000
UPDATABLE = (
    "status",
    "priority",
    "severity",
    "team_id",
    "assignee_id",
    "title",
    "description",
    "reason",
    "first_response_due",
    "resolution_due",
    "first_responded_at",
    "escalation_level",
)


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


def _enum(enum_cls: Any, value: Any, key: str) -> Any:
    try:
        return enum_cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum_cls)
        raise MutationRejected(f"{key} {value!r} is not one of: {allowed}", key) from None


def _ref(session: Session, model: type[Any], value: Any, key: str) -> uuid.UUID | None:
    """A reference that must exist (team, agent, customer) or be null."""
    ref = arg_uuid({key: value}, key, required=False)
    if ref is None:
        return None
    row = session.get(model, ref)
    if row is None or getattr(row, "deleted_at", None) is not None:
        raise MutationRejected(f"{key} refers to no known {model.__tablename__}", key)
    return ref


def _field_value(session: Session, name: str, value: Any) -> Any:
    if name == "status":
        return _enum(TicketStatus, value, name)
    if name == "priority":
        return _enum(TicketPriority, value, name)
    if name == "severity":
        return _enum(Severity, value, name)
    if name == "team_id":
        return _ref(session, Team, value, name)
    if name == "assignee_id":
        return _ref(session, Agent, value, name)
    if name in ("title", "reason"):
        return arg_text({name: value}, name, max_len=300 if name == "title" else 64, required=True)
    if name == "description":
        return arg_text({name: value}, name, max_len=MAX_COMMENT)
    if name in ("first_response_due", "resolution_due", "first_responded_at"):
        return arg_datetime({name: value}, name, required=False)
    if name == "escalation_level":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 9:
            raise MutationRejected("escalation_level must be a whole number from 0 to 9", name)
        return value
    raise MutationRejected(f"{name} cannot be changed with ticket.update", name)


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
    session: Session, args: dict[str, Any], key: str = "id", *, lock: bool = True
) -> Ticket:
    ticket_id = arg_uuid(args, key)
    row = session.get(Ticket, ticket_id, with_for_update=lock)
    if row is None or row.deleted_at is not None:
        raise MutationRejected("no such ticket", key)
    return row


def _unique_number(session: Session, number: str, ticket_id: uuid.UUID) -> str:
    candidate, width = number, 4
    while session.scalar(select(Ticket.id).where(Ticket.number == candidate)) is not None:
        candidate, width = f"{number}-{ticket_id.hex[-width:].upper()}", width + 2
    return candidate


@mutator("ticket.create", "ticket")
def create_ticket(session: Session, args: dict[str, Any], ctx: MutationContext) -> MutationOutcome:
    """Open a ticket.

    args: ``id`` (UUIDv7, required); ``number`` (optional, derived from ``id``); ``reason``
    (required, ≤ 64) and ``title`` (required, ≤ 300); ``description``; ``customer_id``;
    ``priority`` (low|normal|high|urgent, default normal); ``severity`` (minor|major|critical,
    default minor); ``status`` (new|open, default new); ``team_id``; ``assignee_id``;
    ``created_by`` (agent id); ``first_response_due`` and ``resolution_due`` (ISO timestamps with
    zone, computed by the caller from the SLA policy); ``escalation_level``. Replaying an existing
    id changes nothing (status ``exists``). Result carries the ``number``.
    """
    ticket_id = arg_uuid(args, "id")
    assert ticket_id is not None
    existing = session.get(Ticket, ticket_id)
    if existing is not None:
        return MutationOutcome(
            {"status": "exists", "id": str(ticket_id), "number": existing.number}
        )
    number = arg_text(args, "number", max_len=26) or ticket_number(ticket_id)
    status = _enum(TicketStatus, args.get("status", "new"), "status")
    if status not in (TicketStatus.NEW, TicketStatus.OPEN):
        raise MutationRejected("a ticket starts as new or open", "status")
    row = Ticket(
        id=ticket_id,
        number=_unique_number(session, number, ticket_id) if ctx.side == "central" else number,
        customer_id=_ref(session, Customer, args.get("customer_id"), "customer_id"),
        reason=_field_value(session, "reason", args.get("reason")),
        title=_field_value(session, "title", args.get("title")),
        description=_field_value(session, "description", args.get("description")),
        priority=_field_value(session, "priority", args.get("priority", "normal")),
        severity=_field_value(session, "severity", args.get("severity", "minor")),
        status=status,
        team_id=_field_value(session, "team_id", args.get("team_id")),
        assignee_id=_field_value(session, "assignee_id", args.get("assignee_id")),
        created_by=_ref(session, Agent, args.get("created_by"), "created_by"),
        first_response_due=_field_value(
            session, "first_response_due", args.get("first_response_due")
        ),
        resolution_due=_field_value(session, "resolution_due", args.get("resolution_due")),
        escalation_level=_field_value(session, "escalation_level", args.get("escalation_level", 0)),
        version=1 if ctx.side == "central" else 0,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    session.add(row)
    session.flush()
    history = _history(session, row, ctx, "created", None, row.number)
    session.flush()
    return MutationOutcome(
        {"status": "created", "id": str(ticket_id), "number": row.number},
        [Changed("ticket", ticket_id, version=row.version), history],
    )


def _set_status(row: Ticket, new: TicketStatus, now: dt.datetime) -> None:
    row.status = new
    row.closed_at = now if new == TicketStatus.CLOSED else None


@mutator("ticket.update", "ticket")
def update_ticket(session: Session, args: dict[str, Any], ctx: MutationContext) -> MutationOutcome:
    """Change ticket fields.

    args: ``id``; ``changes`` {field: value} with fields from ``UPDATABLE``: ``status`` (forward
    only; use ``ticket.reopen`` to go back), ``priority``, ``severity``, ``team_id``,
    ``assignee_id``, ``title``, ``description``, ``reason``, ``first_response_due``,
    ``resolution_due``, ``first_responded_at``, ``escalation_level``; ``base_version``
    (optional, informational). Locally a backward status is refused; at the centre a status
    that another desktop already moved further is kept (result ``kept``). Every applied change
    appends a history row.
    """
    row = _live_ticket(session, args)
    changes = args.get("changes")
    if not isinstance(changes, dict) or not changes:
        raise MutationRejected("changes must be a non-empty object", "changes")
    parsed = {name: _field_value(session, name, value) for name, value in sorted(changes.items())}
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


@mutator("ticket.reopen", "ticket")
def reopen_ticket(session: Session, args: dict[str, Any], ctx: MutationContext) -> MutationOutcome:
    """Move a pending, resolved or closed ticket back to open.

    args: ``id``; ``reason`` (optional, ≤ 2000, kept in the history). Locally a ticket that is
    not pending/resolved/closed is refused; at the centre an already-open ticket is left as is.
    """
    row = _live_ticket(session, args)
    reason = arg_text(args, "reason", max_len=2000)
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


@mutator("ticket.comment", "ticket_comment")
def comment_ticket(session: Session, args: dict[str, Any], ctx: MutationContext) -> MutationOutcome:
    """Append a comment. Append-only and idempotent: a replayed id changes nothing.

    args: ``id`` (UUIDv7, required); ``ticket_id``; ``body`` (required, ≤ 100,000 characters);
    ``internal`` (bool, default true); ``author_id`` (agent id, optional).
    """
    comment_id = arg_uuid(args, "id")
    assert comment_id is not None
    if session.get(TicketComment, comment_id) is not None:
        return MutationOutcome({"status": "exists", "id": str(comment_id)})
    # No row lock: a comment only needs the ticket to exist; it never changes it.
    ticket = _live_ticket(session, args, "ticket_id", lock=False)
    internal = args.get("internal", True)
    if not isinstance(internal, bool):
        raise MutationRejected("internal must be true or false", "internal")
    session.add(
        TicketComment(
            id=comment_id,
            ticket_id=ticket.id,
            author_id=_ref(session, Agent, args.get("author_id"), "author_id"),
            body=arg_text(args, "body", max_len=MAX_COMMENT, required=True),
            internal=internal,
            created_at=ctx.now,
        )
    )
    session.flush()
    return MutationOutcome(
        {"status": "created", "id": str(comment_id)}, [Changed("ticket_comment", comment_id)]
    )
