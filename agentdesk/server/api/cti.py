"""``/api/v1/cti``: the agent's own call events (WebSocket) and call requests (POST).

The wire is ``docs/cti.md``. The socket is authenticated like ``/live``
(``Authorization: Bearer`` on the upgrade, ``?client_id=`` bound to the
agent); it carries ``link``, ``resync``, ``match``, ``event`` and
``heartbeat`` messages, server to desktop only. An offer's caller is matched
here, on the server, and the customers found become pins of the socket's
client id, as ``/customers/match`` does.

Requests name what the agent wants (answer, hold this call, transfer it);
the interface and the agent's leg of the call come from the server's own
records (``server/cti``), never from the body.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Any

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from agentdesk.models import Role
from agentdesk.server.api.customers import MATCH
from agentdesk.server.api.sync import claim_client
from agentdesk.server.auth import (
    TRY_AGAIN_LATER,
    CurrentPrincipal,
    DatabaseAway,
    Principal,
    bearer_token,
    principal_from,
    socket_session,
)
from agentdesk.server.context import Ctx, ServerContext
from agentdesk.server.cti.hub import (
    SESSION_CLOSED,
    CtiHub,
    LinkDown,
    NoPbx,
    NotYourCall,
    Subscription,
)
from agentdesk.server.cti.lines import AgentRecord
from agentdesk.server.pins import PinBook
from agentdesk.server.problems import Problem, forbidden
from agentdesk.services.desk.call_requests import (
    REQUEST,
    RESULT,
    CallRequest,
    JoinQueue,
    LeaveQueue,
    Pause,
)
from agentdesk.services.desk.pbx_actions import ActionInputError
from agentdesk.store.sync.backoff import Backoff
from agentdesk.store.sync.port import DirectCentral
from agentdesk.telephony.client import ActionTimeoutError

log = logging.getLogger(__name__)
router = APIRouter(tags=["cti"])

NOT_AN_AGENT = 4403
RETRY_AFTER = "5"
_SUPERVISOR_KINDS = (Pause, JoinQueue, LeaveQueue)
_REQUEST_SCHEMA = REQUEST.json_schema()


# ---------------------------------------------------------------------- the socket
@router.websocket("/cti")
async def cti_events(websocket: WebSocket, client_id: uuid.UUID | None = None) -> None:
    ctx: ServerContext = websocket.app.state.context
    token = bearer_token(websocket)  # type: ignore[arg-type]
    # Accepted before any refusal: a close code reaches the desktop only on an open
    # socket (a refused upgrade is a bare HTTP 403, whatever the reason).
    await websocket.accept()
    try:
        admitted = await _admit(websocket, ctx, token, client_id)
    except (DatabaseAway, SQLAlchemyError):
        await websocket.close(code=TRY_AGAIN_LATER, reason="the server's database is unavailable")
        return
    if admitted is None:
        return
    hub, record, principal = admitted
    # The link state and the resync are queued by subscribe; the hub's ticker sends the
    # heartbeats and rechecks the sessions (every socket's due, in one read).
    sub = hub.subscribe(record, session=token or "")
    reader: asyncio.Task[None] | None = None
    try:
        reader = asyncio.create_task(_drain(websocket))
        reader.add_done_callback(lambda _task: sub.wake.set())
        await _pump(websocket, ctx, sub, principal, client_id, reader)
    except (WebSocketDisconnect, RuntimeError, ConnectionError):
        pass  # the desktop went away
    finally:
        hub.unsubscribe(sub)
        if client_id is not None:
            ctx.pins.detach(client_id)
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader


async def _admit(
    websocket: WebSocket, ctx: ServerContext, token: str | None, client_id: uuid.UUID | None
) -> tuple[CtiHub, AgentRecord, Principal] | None:
    """The socket's hub, agent and principal; None once refused (closed with its code)."""
    info = await socket_session(ctx, token)
    if info is None:
        await websocket.close(code=SESSION_CLOSED, reason="sign in again")
        return None
    principal = principal_from(ctx, info)
    hub = ctx.cti
    record = (
        await run_in_threadpool(hub.directory.by_id, principal.agent_id)
        if hub is not None
        else None
    )
    if hub is None or record is None or record.line is None:
        await websocket.close(code=NOT_AN_AGENT, reason="not an agent with a PBX line")
        return None
    if client_id is not None:
        try:
            await run_in_threadpool(claim_client, ctx, principal, client_id)
        except Problem:
            await websocket.close(code=NOT_AN_AGENT, reason="this desktop is another agent's")
            return None
        await run_in_threadpool(ctx.pins.attach, client_id)
    return hub, record, principal


async def _pump(
    websocket: WebSocket,
    ctx: ServerContext,
    sub: Subscription,
    principal: Principal,
    client_id: uuid.UUID | None,
    reader: asyncio.Task[None],
) -> None:
    """Send the socket's messages in order, all that waited at each wake-up; close it when
    the hub ends it (replaced, overflow, session ended)."""
    while True:
        await sub.wake.wait()
        sub.wake.clear()
        if reader.done():
            return
        if sub.ended.is_set():
            await websocket.close(code=sub.close_code, reason=sub.close_reason)
            return
        for item in sub.take():
            if item.offer_number is not None:
                await websocket.send_json(
                    await _match(ctx, principal, client_id, item.offer_number, item.linkedid)
                )
            await websocket.send_json(item.message)
        sub.last_sent = time.monotonic()


async def _match(
    ctx: ServerContext,
    principal: Principal,
    client_id: uuid.UUID | None,
    number: str,
    linkedid: str,
) -> dict[str, Any]:
    """The ``match`` message of an offer; the customers found become the desktop's pins.

    The pins are written after the match is on its way (a commit is the slowest step, and
    the match already carries the card; a later card or chooser request finds them)."""
    result = await run_in_threadpool(ctx.matcher.match, number)
    if client_id is not None and result.candidates:
        central = DirectCentral(
            ctx.store, principal.scope, principal.login, filter_pull=True, on_pin=ctx.pins.add
        )
        task = asyncio.create_task(
            _pin(central, ctx.pins, client_id, {c.id for c in result.candidates}, principal.login)
        )
        _PINNING.add(task)
        task.add_done_callback(_PINNING.discard)
    return {"type": "match", "linkedid": linkedid, "match": MATCH.dump_python(result, mode="json")}


_PINNING: set[asyncio.Task[None]] = set()  # pin writes in flight (kept from the collector)
PIN_RETRY_FOR = 600.0  # seconds a match's pin write is retried while the database is away


async def _pin(
    central: DirectCentral,
    pins: PinBook,
    client_id: uuid.UUID,
    ids: set[uuid.UUID],
    who: str,
    retry_for: float = PIN_RETRY_FOR,
) -> None:
    """Write the match's pins. Until they are written they are promised (a push's
    need-to-know check on this process honours the promise and writes the pin with the
    push); while the database cannot take them the write is tried again with backoff, so
    a wrap-up filed after a database restart is not refused as "never opened"."""
    pins.promise(client_id, ids)
    backoff = Backoff(base=0.1, cap=2.0)
    deadline = time.monotonic() + retry_for
    try:
        while True:
            try:
                await run_in_threadpool(central.pin, client_id, ids)
                return
            except SQLAlchemyError as exc:
                if time.monotonic() >= deadline:
                    log.error("CTI match: pinning for %s given up: %s", who, exc)
                    return  # the card endpoint refuses it unpinned; a search pins it again
                if backoff.attempt == 0:
                    log.warning("CTI match: pinning for %s failed, retrying: %s", who, exc)
            await asyncio.sleep(backoff.next_delay())
    finally:
        pins.settle(client_id, ids)


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the desktop sends, so a close from its side is noticed."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()


# ---------------------------------------------------------------------- requests
_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": _REQUEST_SCHEMA}},
    }
}


async def _body(request: Request) -> CallRequest:
    """The request body as a ``CallRequest``; 422 problem+json when it is not one."""
    raw = await request.body()
    try:
        parsed: CallRequest = REQUEST.validate_json(raw)
    except ValidationError as exc:
        parts = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err.get("loc", ()))
            parts.append(f"{where or 'body'}: {err.get('msg', 'invalid')}")
        raise Problem(
            422,
            "invalid-call-request",
            "Not a call request",
            "; ".join(parts) or "the body is not a call request",
        ) from None
    return parsed


def _hub(ctx: ServerContext) -> CtiHub:
    if ctx.cti is None:
        raise _unavailable("The server runs without CTI (no PBX configured).")
    return ctx.cti


def _unavailable(detail: str) -> Problem:
    return Problem(
        503,
        "pbx-unavailable",
        "The PBX cannot be reached",
        detail,
        headers={"Retry-After": RETRY_AFTER},
    )


async def _carry_out(hub: CtiHub, record: AgentRecord, call: CallRequest) -> Any:
    try:
        result = await hub.perform(record, call)
    except NotYourCall as exc:
        raise Problem(403, "not-your-call", "Not one of your calls", str(exc)) from exc
    except NoPbx as exc:
        raise _unavailable(str(exc)) from exc
    except LinkDown as exc:
        raise _unavailable(str(exc)) from exc
    except ActionInputError as exc:
        raise Problem(
            422, "invalid-call-request", "The PBX cannot be asked this", str(exc)
        ) from exc
    except ActionTimeoutError as exc:
        raise Problem(
            504,
            "pbx-timeout",
            "The PBX did not answer in time",
            "The request may or may not have been carried out; check the call before retrying.",
        ) from exc
    return RESULT.dump_python(result, mode="json")


@router.post("/cti/requests", openapi_extra=_OPENAPI)
async def call_request(request: Request, principal: CurrentPrincipal, ctx: Ctx) -> Any:
    """Ask the PBX to act on one of the signed-in agent's calls, or on their line.

    Answers ``CallResult`` (``ok: false`` with the PBX's refusal in words).
    """
    call = await _body(request)
    hub = _hub(ctx)
    record = await run_in_threadpool(hub.directory.by_id, principal.agent_id)
    if record is None or record.line is None:
        raise forbidden("You have no PBX line (interface) configured; ask an administrator.")
    return await _carry_out(hub, record, call)


@router.post("/cti/agents/{login}/requests", openapi_extra=_OPENAPI)
async def agent_request(login: str, request: Request, principal: CurrentPrincipal, ctx: Ctx) -> Any:
    """A supervisor pauses, unpauses, logs in or logs out an agent of their team."""
    if not principal.is_supervisor:
        raise forbidden("Only supervisors and administrators may act on another agent's line.")
    call = await _body(request)
    if not isinstance(call, _SUPERVISOR_KINDS):
        raise forbidden("Supervisors may only pause, join_queue or leave_queue for an agent.")
    hub = _hub(ctx)
    record = await run_in_threadpool(hub.directory.by_login, login)
    if record is None:
        raise Problem(404, "not-found", "No such agent", f"No agent signs in as {login!r}.")
    if principal.role is not Role.ADMIN and not (record.team_ids & principal.team_ids):
        raise forbidden(f"{login} is not in one of your teams.")
    if record.line is None:
        raise Problem(
            409, "no-line", "That agent has no PBX line", f"{login} has no interface configured."
        )
    return await _carry_out(hub, record, call)
