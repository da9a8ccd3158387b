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
  numbers offline without talking to each other; in the rare event that a
  number is already taken the centre draws another in the same format.
* SLA bookkeeping follows every change: ``sla_paused_at`` is set while the
  ticket is pending/resolved/closed, and ``sla_next_due`` (indexed) is the
  earliest clock still running, so the scheduler finds due work in one range
  scan. The due times themselves come from the service (business calendars).
* Routing: the rule that chose the team is written to the history; a team
  that hands out its tickets gets a member picked here, on the centre only
  (round-robin or least-loaded needs every member's open tickets), and the
  centre refuses an assignee who is not a member of the ticket's team.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Any

from sqlalchemy import ColumnElement, func, select
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
    agent_team,
)
from agentdesk.store.mutation_args.tickets import MAX_COMMENT as MAX_COMMENT
from agentdesk.store.mutation_args.tickets import (
    TeamAssignment,
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
from agentdesk.store.mutators.merged import survivor_of

STATUS_RANK = {s: i for i, s in enumerate(TicketStatus)}  # enum order is the workflow order
REOPENABLE = frozenset({TicketStatus.PENDING, TicketStatus.RESOLVED, TicketStatus.CLOSED})
# Clocks run while the ticket is with us; waiting for the customer or done stops them.
CLOCKS_RUN = frozenset({TicketStatus.NEW, TicketStatus.OPEN})
LOAD_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)
ROUTING_ACTOR = "routing"
QUIET_FIELDS = frozenset({"sla_paused_at"})  # bookkeeping: no history entry of its own
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ticket_number(ticket_id: uuid.UUID, draw: int = 0) -> str:
    """``T-XXXX-XXXX-C``: 40 bits of the ticket's UUIDv7 in Crockford base32 plus a check
    character, short enough to read out on the phone.

    Crockford's alphabet has no I, L, O or U, so nothing is read or heard twice. The 40
    bits are the low 8 bits of the millisecond, the 12-bit counter and 20 random bits:
    ids made in one burst (same or nearby milliseconds) never share a number, and the
    centre draws again (``draw`` > 0: bits from a hash of the id) in the rare clash.
    The check character (Luhn mod 32) catches one mistyped character and most swaps.
    Numbers issued before this format (``T-XXXX-XXXX-XXXX-XXXX``) stay as they are.
    """
    value = ticket_id.int
    if draw:
        digest = hashlib.blake2b(ticket_id.bytes + draw.to_bytes(4, "big"), digest_size=5)
        bits = int.from_bytes(digest.digest(), "big")
    else:
        bits = ((value >> 80) & 0xFF) << 32 | ((value >> 64) & 0xFFF) << 20 | (value & 0xFFFFF)
    data = "".join(_CROCKFORD[(bits >> (5 * i)) & 31] for i in reversed(range(8)))
    return f"T-{data[:4]}-{data[4:]}-{check_character(data)}"


def check_character(data: str) -> str:
    """The Luhn mod 32 check character of Crockford base32 ``data``."""
    total, factor = 0, 2
    for ch in reversed(data):
        addend = factor * _CROCKFORD.index(ch)
        total += addend // 32 + addend % 32
        factor = 1 if factor == 2 else 2
    return _CROCKFORD[(32 - total % 32) % 32]


def ticket_number_valid(number: str) -> bool:
    """True when ``number`` is in the current format and its check character matches."""
    parts = number.upper().split("-")
    if len(parts) != 4 or parts[0] != "T" or [len(p) for p in parts[1:]] != [4, 4, 1]:
        return False
    data = parts[1] + parts[2]
    return all(ch in _CROCKFORD for ch in data) and check_character(data) == parts[3]


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
    if ctx.side == "central":  # opened for a duplicate merged meanwhile: the survivor's
        ref = survivor_of(session, ref)
    return _ref(session, Customer, ref, "customer_id")


def _history(
    session: Session,
    ticket: Ticket,
    ctx: MutationContext,
    field: str,
    old: Any,
    new: Any,
    by: str | None = None,
) -> Changed:
    entry = TicketHistory(
        id=uuid7(),
        ticket_id=ticket.id,
        field=field,
        old_value=None if old is None else str(jsonable(old)),
        new_value=None if new is None else str(jsonable(new)),
        changed_by=by or ctx.actor,
        changed_at=ctx.now,
    )
    session.add(entry)
    return Changed("ticket_history", entry.id)


def sla_next_due(row: Ticket) -> dt.datetime | None:
    """The earliest running clock: first response until answered, then the next update;
    the resolution throughout. None while the clocks are stopped."""
    if row.deleted_at is not None or row.status not in CLOCKS_RUN:
        return None
    first = row.first_response_due if row.first_responded_at is None else row.next_update_due
    running = [d for d in (first, row.resolution_due) if d is not None]
    return min(running) if running else None


def _keep_clocks(row: Ticket, now: dt.datetime) -> None:
    """Stop or restart the pause mark and recompute the indexed next due time."""
    if row.status in CLOCKS_RUN:
        row.sla_paused_at = None
    elif row.sla_paused_at is None:
        row.sla_paused_at = now
    row.sla_next_due = sla_next_due(row)


def _is_member(session: Session, agent_id: uuid.UUID, team_id: uuid.UUID) -> bool:
    stmt = select(agent_team.c.agent_id).where(
        agent_team.c.agent_id == agent_id, agent_team.c.team_id == team_id
    )
    return session.execute(stmt).first() is not None


def _check_member(session: Session, row: Ticket, ctx: MutationContext) -> None:
    """At the centre, an assignee must belong to the ticket's team (the desktop checks first,
    as a courtesy; its cache may be older)."""
    if ctx.side != "central" or row.team_id is None or row.assignee_id is None:
        return
    if not _is_member(session, row.assignee_id, row.team_id):
        raise MutationRejected("the assignee is not a member of the ticket's team", "assignee_id")


def pick_member(session: Session, team_id: uuid.UUID, how: TeamAssignment) -> uuid.UUID | None:
    """An active member of the team: the least loaded (fewest open tickets), or round-robin
    (the member whose latest ticket in this team is the oldest; never-assigned first).
    Ties go to the login's order, so the choice is the same on SQLite and PostgreSQL."""
    members = (
        select(Agent.id, Agent.login)
        .join(agent_team, agent_team.c.agent_id == Agent.id)
        .where(agent_team.c.team_id == team_id, Agent.active)
        .subquery()
    )
    on: ColumnElement[bool] = Ticket.assignee_id == members.c.id
    key: ColumnElement[Any]
    if how is TeamAssignment.LEAST_LOADED:
        on = on & Ticket.status.in_(LOAD_STATUSES) & Ticket.deleted_at.is_(None)
        key = func.count(Ticket.id)
        order = [key, members.c.login]
    else:
        on = on & (Ticket.team_id == team_id)
        key = func.max(Ticket.created_at)
        order = [key.is_not(None), key, members.c.login]
    stmt = (
        select(members.c.id)
        .outerjoin(Ticket, on)
        .group_by(members.c.id, members.c.login)
        .order_by(*order)
        .limit(1)
    )
    return session.scalar(stmt)


def _route(
    session: Session,
    row: Ticket,
    ctx: MutationContext,
    routed_by: str | None,
    assign: TeamAssignment | None,
) -> list[Changed]:
    """History of the routing decision, and the centre's pick of an assignee."""
    changed = []
    if routed_by:
        changed.append(_history(session, row, ctx, "routing", None, routed_by, ROUTING_ACTOR))
    if ctx.side != "central" or assign is None or row.team_id is None:
        return changed
    if row.assignee_id is not None:
        return changed
    picked = pick_member(session, row.team_id, assign)
    if picked is None:
        note = f"{assign.value}: no active member in the team; left in the team's queue"
        changed.append(_history(session, row, ctx, "routing", None, note, ROUTING_ACTOR))
        return changed
    row.assignee_id = picked
    changed.append(_history(session, row, ctx, "assignee_id", None, picked, ROUTING_ACTOR))
    return changed


def _live_ticket(
    session: Session, ticket_id: uuid.UUID, key: str = "id", *, lock: bool = True
) -> Ticket:
    row = session.get(Ticket, ticket_id, with_for_update=lock)
    if row is None or row.deleted_at is not None:
        raise MutationRejected("no such ticket", key)
    return row


MAX_NUMBER_DRAWS = 32


def _unique_number(session: Session, number: str, ticket_id: uuid.UUID) -> str:
    """``number``, or another draw in the same format when the centre already has it."""
    candidate = number
    for draw in range(1, MAX_NUMBER_DRAWS + 1):
        if session.scalar(select(Ticket.id).where(Ticket.number == candidate)) is None:
            return candidate
        candidate = ticket_number(ticket_id, draw)
    return f"{number}-{ticket_id.hex[-8:].upper()}"  # 32 clashes in a row: never in practice


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
        next_update_due=args.next_update_due,
        resolution_due=args.resolution_due,
        escalation_level=args.escalation_level,
        version=1 if ctx.side == "central" else 0,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    _check_member(session, row, ctx)
    session.add(row)
    session.flush()
    history = [_history(session, row, ctx, "created", None, row.number)]
    history += _route(session, row, ctx, args.routed_by, args.assign)
    _keep_clocks(row, ctx.now)
    session.flush()
    return MutationOutcome(
        {"status": "created", "id": str(args.id), "number": row.number},
        [Changed("ticket", args.id, version=row.version), *history],
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
        if name not in QUIET_FIELDS:
            changed.append(_history(session, row, ctx, name, old, new))
    if applied:
        changed += _route(session, row, ctx, args.routed_by, args.assign)
        _check_member(session, row, ctx)
        _keep_clocks(row, ctx.now)
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
    for name in ("first_response_due", "next_update_due", "resolution_due"):
        resumed = getattr(args, name)
        if resumed is not None and resumed != getattr(row, name):
            changed.append(_history(session, row, ctx, name, getattr(row, name), resumed))
            setattr(row, name, resumed)
    _keep_clocks(row, ctx.now)
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
