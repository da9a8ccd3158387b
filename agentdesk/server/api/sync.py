"""Sync over HTTPS: snapshot, push, pull, units and closures, each as the session's agent.

The desktop's ``HttpCentral`` is the other end. Scope comes from the
session (the agent's teams, its role), never from the request; the client
id only names which desktop installation's pins and counters to use, and a
client id is bound to the agent that first used it.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import ColumnElement, Table, or_, select

from agentdesk.models import ChangeLog, Reminder, ReminderState, SyncClient, SyncPin, Ticket
from agentdesk.server.api.schemas import ClosureIn, PushIn, UnitsIn
from agentdesk.server.auth import CurrentPrincipal, Principal
from agentdesk.server.authz import MutationAuthorizer
from agentdesk.server.context import Ctx, ServerContext
from agentdesk.server.problems import Problem, forbidden
from agentdesk.store.sync.entities import KINDS, encode_value
from agentdesk.store.sync.port import DirectCentral
from agentdesk.store.sync.protocol import Cursor, PushEntry
from agentdesk.store.sync.wire import (
    encode_dict_rows,
    feed_row_json,
    push_result_json,
    unit_json,
)

router = APIRouter(prefix="/sync", tags=["sync"])


def _central(ctx: ServerContext, principal: Principal, client_id: uuid.UUID) -> DirectCentral:
    claim_client(ctx, principal, client_id)
    return DirectCentral(
        ctx.store,
        principal.scope,
        principal.login,
        filter_pull=True,
        authorize=MutationAuthorizer(
            principal,
            client_id,
            postgres=ctx.store.is_postgres,
            pins=ctx.pins,
            field_cipher=ctx.store.field_cipher,
            caller_owner=ctx.matcher.owns,
        ),
        on_pin=ctx.pins.add,
    )


def claim_client(ctx: ServerContext, principal: Principal, client_id: uuid.UUID) -> None:
    """A desktop's client id belongs to the agent that first synced with it."""
    owner = ctx.client_owners.get(client_id)
    if owner is None:
        with ctx.engine.connect() as conn:
            owner = conn.execute(
                select(SyncClient.agent_login).where(SyncClient.client_id == client_id)
            ).scalar()
        if owner is not None:
            if len(ctx.client_owners) >= 50_000:
                ctx.client_owners.clear()  # bounded; the next requests read it again
            ctx.client_owners[client_id] = owner
    if owner is not None and owner != principal.login:
        raise forbidden(
            "This desktop cache belongs to another agent; sign in as them or start a fresh cache."
        )


@router.get("/identity")
def identity(principal: CurrentPrincipal, ctx: Ctx) -> dict[str, str]:
    """A stable id of the central store; a desktop refills its cache when it changes."""
    return {"identity": ctx.store.identity()}


@router.get("/snapshot", response_class=StreamingResponse)
def snapshot(
    client_id: uuid.UUID,
    principal: CurrentPrincipal,
    ctx: Ctx,
    reference_only: bool = False,
) -> StreamingResponse:
    """The working set as newline-delimited JSON: a cursor line, table chunks, an end line.

    A response without its final ``{"end": true}`` line was cut short and must be discarded.
    """
    central = _central(ctx, principal, client_id)

    def lines() -> Iterator[bytes]:
        with central.snapshot(client_id, reference_only=reference_only) as snap:
            yield _line({"cursor": str(snap.cursor)})
            for chunk in snap.chunks:
                # The driver's tuples go to the C encoder as they are; only ids, times,
                # decimals and the like reach ``_wire_value`` (as ``encode_rows`` would do
                # for every value, in Python).
                yield _line({"t": chunk.table.name, "ref": chunk.reference, "rows": chunk.rows})
        yield _line({"end": True})

    return StreamingResponse(lines(), media_type="application/x-ndjson")


_WIRE: dict[type, Callable[[Any], object]] = {
    uuid.UUID: str,
    dt.datetime: dt.datetime.isoformat,
    dt.date: dt.date.isoformat,
}


def _wire_value(value: object) -> object:
    quick = _WIRE.get(type(value))
    if quick is not None:
        return quick(value)
    encoded = encode_value(value)
    if encoded is value:
        raise TypeError(f"{type(value).__name__} has no wire form")
    return encoded


def _line(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), default=_wire_value).encode() + b"\n"


@router.post("/push")
def push(
    body: PushIn,
    principal: CurrentPrincipal,
    ctx: Ctx,
) -> dict[str, object]:
    """Apply a batch exactly once each, as the session's agent, each entry authorised."""
    central = _central(ctx, principal, body.client_id)
    entries = [
        PushEntry(e.client_seq, e.mutation_id, e.name, e.args)
        for e in sorted(body.entries, key=lambda e: e.client_seq)
    ]
    reply = central.apply_batch(body.client_id, entries, frozenset(body.give_up))
    return {
        "results": [push_result_json(r) for r in reply.results],
        "gap_expected": reply.gap_expected,
    }


@router.get("/pull")
def pull(
    client_id: uuid.UUID,
    principal: CurrentPrincipal,
    ctx: Ctx,
    cursor: Annotated[str, Query(max_length=64)] = "",
    limit: Annotated[int, Query(ge=1, le=2000)] = 500,
) -> dict[str, object]:
    """The next feed page this desktop may see, and where its cursor may move."""
    try:
        position = Cursor.parse(cursor)
    except ValueError as exc:
        raise Problem(400, "invalid-cursor", "The cursor is not valid", str(exc)) from exc
    page = _central(ctx, principal, client_id).pull(client_id, position, limit)
    return {
        "rows": [feed_row_json(r) for r in page.rows],
        "upto": str(page.upto),
        "held_back": page.held_back,
    }


@router.post("/units")
def units(
    body: UnitsIn,
    principal: CurrentPrincipal,
    ctx: Ctx,
) -> dict[str, object]:
    """Current copies of aggregates this desktop holds (after its own writes were settled)."""
    central = _central(ctx, principal, body.client_id)
    unknown = sorted({kind for kind, _ in body.wanted} - set(KINDS))
    if unknown:
        raise Problem(400, "invalid-request", "Unknown kinds", ", ".join(unknown))
    customers = [i for kind, i in body.wanted if kind == "customer"]
    tickets = [i for kind, i in body.wanted if kind == "ticket"]
    _require_visible(ctx, principal, central, body.client_id, customers, tickets)
    others = [(k, i) for k, i in body.wanted if k not in ("customer", "ticket")]
    if others and _existing(ctx, others) - _written_by(ctx, body.client_id, {i for _, i in others}):
        raise forbidden("Only rows this desktop wrote can be refreshed by id.")
    return {"units": [unit_json(u) for u in central.units(body.client_id, body.wanted)]}


def _existing(ctx: ServerContext, wanted: list[tuple[str, uuid.UUID]]) -> set[uuid.UUID]:
    """Which of the wanted rows exist at the centre (a missing one is simply reported gone)."""
    found: set[uuid.UUID] = set()
    with ctx.engine.connect() as conn:
        for kind in {k for k, _ in wanted}:
            table = KINDS[kind].table
            ids = sorted(i for k, i in wanted if k == kind)
            found.update(r[0] for r in conn.execute(select(table.c.id).where(table.c.id.in_(ids))))
    return found


def _written_by(ctx: ServerContext, client_id: uuid.UUID, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``ids`` this desktop's own pushes wrote (their feed rows name it as origin)."""
    if not ids:
        return set()
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(ChangeLog.entity_id).where(
                ChangeLog.entity_id.in_(sorted(ids)), ChangeLog.origin_client_id == client_id
            )
        )
        return {r[0] for r in rows}


@router.post("/closure")
def closure(
    body: ClosureIn,
    principal: CurrentPrincipal,
    ctx: Ctx,
) -> dict[str, object]:
    """Customers and tickets entering this desktop's working set, with their story."""
    central = _central(ctx, principal, body.client_id)
    _require_visible(ctx, principal, central, body.client_id, body.customers, body.tickets)
    rows = central.closure(body.client_id, body.customers, body.tickets)
    return {
        "tables": [
            {"t": table.name, "rows": encode_dict_rows(table, chunk)} for table, chunk in rows
        ]
    }


def _require_visible(
    ctx: ServerContext,
    principal: Principal,
    central: DirectCentral,
    client_id: uuid.UUID,
    customers: Sequence[uuid.UUID],
    tickets: Sequence[uuid.UUID],
) -> None:
    """Need-to-know: only customers this desktop was handed or reaches through visible tickets."""
    if principal.full_replica:
        return
    unknown = set(customers) - central.pinned(client_id, list(customers)) if customers else set()
    if unknown:
        unknown -= _customers_of_visible_tickets(ctx, principal, client_id, unknown)
    if unknown:
        raise forbidden(
            f"{len(unknown)} customer(s) were never handed to this desktop (search or pop first)."
        )
    if tickets:
        hidden = set(tickets) - _visible_tickets(ctx, principal, client_id, tickets)
        if hidden:
            raise forbidden(f"{len(hidden)} ticket(s) are neither your team's nor yours.")


def _ticket_visibility(principal: Principal, client_id: uuid.UUID) -> ColumnElement[bool]:
    pins = SyncPin.__table__
    assert isinstance(pins, Table)
    pinned = select(pins.c.customer_id).where(pins.c.client_id == client_id)
    return or_(
        Ticket.team_id.in_(sorted(principal.team_ids)),
        Ticket.assignee_id == principal.agent_id,
        Ticket.customer_id.in_(pinned),
    )


def _visible_tickets(
    ctx: ServerContext, principal: Principal, client_id: uuid.UUID, tickets: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(Ticket.id).where(
                Ticket.id.in_(list(tickets)), _ticket_visibility(principal, client_id)
            )
        )
        found = {r[0] for r in rows}
        # Tickets that no longer exist hide nothing: the unit says "gone".
        existing = {
            r[0] for r in conn.execute(select(Ticket.id).where(Ticket.id.in_(list(tickets))))
        }
    return found | (set(tickets) - existing)


def _customers_of_visible_tickets(
    ctx: ServerContext, principal: Principal, client_id: uuid.UUID, customers: set[uuid.UUID]
) -> set[uuid.UUID]:
    """Customers of the principal's teams' or own tickets, and of their own open reminders
    (a callback task a supervisor set them is about a customer they must reach)."""
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(Ticket.customer_id).where(
                Ticket.customer_id.in_(list(customers)),
                or_(
                    Ticket.team_id.in_(sorted(principal.team_ids)),
                    Ticket.assignee_id == principal.agent_id,
                ),
            )
        )
        found = {r[0] for r in rows if r[0] is not None}
        reminded = conn.execute(
            select(Reminder.customer_id).where(
                Reminder.customer_id.in_(list(customers - found)),
                Reminder.agent_id == principal.agent_id,
                Reminder.state.in_((ReminderState.PENDING.value, ReminderState.DUE.value)),
            )
        )
        return found | {r[0] for r in reminded if r[0] is not None}
