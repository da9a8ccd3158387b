"""``/api/v1/cti/floor``: the supervisors' live floor (WebSocket), computed once on the server.

Authenticated like ``/cti`` (``Authorization: Bearer`` on the upgrade).
Supervisors and administrators only: anyone else's socket is closed with
4403, an ended session with 4401. ``?interval=15|30|60`` chooses the
intervals of the ``today`` series (default 30). Server to desktop only:
``floor`` on connect, then ``update``, ``today`` and ``heartbeat`` messages
(``docs/cti.md``). Supervisor actions on an agent's line go through
``POST /api/v1/cti/agents/{login}/requests`` (``server/api/cti.py``).

The floor (``server/cti/floor.py``) starts and stops with the server: this
router's lifespan runs inside the app's, after the CTI gateways have started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, FastAPI, WebSocket, WebSocketDisconnect

from agentdesk.server.api import queue_reports
from agentdesk.server.auth import (
    TRY_AGAIN_LATER,
    DatabaseAway,
    bearer_token,
    principal_from,
    socket_session,
    still_signed_in,
)
from agentdesk.server.context import ServerContext
from agentdesk.server.cti.floor import FloorHub, FloorSubscription
from agentdesk.services.supervisor.alerts import AlertConfigError
from agentdesk.services.supervisor.reports import Interval
from agentdesk.services.supervisor.settings import load_settings

log = logging.getLogger(__name__)

HEARTBEAT = 20.0
SESSION_CLOSED = 4401
NOT_A_SUPERVISOR = 4403
_INTERVALS = {i.value: i for i in (Interval.MIN15, Interval.MIN30, Interval.MIN60)}


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    ctx: ServerContext = app.state.context
    floor: FloorHub | None = None
    if ctx.cti is not None and ctx.cti.gateways:
        try:
            floor = FloorHub(ctx.cti, load_settings(), engine=ctx.engine)
        except AlertConfigError as exc:
            log.error("the supervisors' floor is off: %s", exc)
        else:
            await floor.start()
    app.state.cti_floor = floor
    try:
        yield
    finally:
        if floor is not None:
            await floor.stop()
        app.state.cti_floor = None


router = APIRouter(tags=["cti"], lifespan=_lifespan)
# Reports and the reconciliation over the records this floor stores: mounted with the floor.
router.include_router(queue_reports.router)


def _empty(detail: str) -> dict[str, Any]:
    return {"type": "floor", "sites": [], "detail": detail}


@router.websocket("/cti/floor")
async def floor_socket(websocket: WebSocket, interval: str = "30") -> None:
    ctx: ServerContext = websocket.app.state.context
    token = bearer_token(websocket)  # type: ignore[arg-type]
    # Accepted before any refusal: a close code reaches the desktop only on an open socket.
    await websocket.accept()
    try:
        info = await socket_session(ctx, token)
    except DatabaseAway:
        await websocket.close(code=TRY_AGAIN_LATER, reason="the server's database is unavailable")
        return
    if info is None:
        await websocket.close(code=SESSION_CLOSED, reason="sign in again")
        return
    principal = principal_from(ctx, info)
    if not principal.is_supervisor:
        await websocket.close(code=NOT_A_SUPERVISOR, reason="supervisors and admins only")
        return
    floor: FloorHub | None = getattr(websocket.app.state, "cti_floor", None)
    reader = asyncio.create_task(_drain(websocket))
    sub: FloorSubscription | None = None
    try:
        if floor is None:
            await websocket.send_json(_empty("The server has no PBX configured."))
            await _idle(websocket, ctx, token or "", reader)
            return
        await floor.ready()
        sub, first = floor.open(_INTERVALS.get(interval, Interval.MIN30))
        for message in first:
            await websocket.send_json(message)
        await _pump(websocket, ctx, sub, token or "", reader)
    except (WebSocketDisconnect, RuntimeError, ConnectionError):
        pass  # the desktop went away
    finally:
        if floor is not None and sub is not None:
            floor.unsubscribe(sub)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader


async def _pump(
    websocket: WebSocket,
    ctx: ServerContext,
    sub: FloorSubscription,
    token: str,
    reader: asyncio.Task[None],
) -> None:
    """Send the socket's queue in order; heartbeat (and recheck the session) when idle."""
    loop = asyncio.get_running_loop()
    ended = asyncio.create_task(sub.ended.wait())
    getter: asyncio.Task[dict[str, Any]] | None = None
    checked = loop.time()
    try:
        while True:
            if getter is None:
                getter = asyncio.create_task(sub.queue.get())
            done, _ = await asyncio.wait(
                {getter, ended, reader}, timeout=HEARTBEAT, return_when=asyncio.FIRST_COMPLETED
            )
            if reader in done:
                return
            if ended in done and getter not in done:
                await websocket.close(code=sub.close_code, reason=sub.close_reason)
                return
            if loop.time() - checked >= HEARTBEAT:
                checked = loop.time()
                if not await still_signed_in(ctx, token):
                    await websocket.close(code=SESSION_CLOSED, reason="session ended")
                    return
            if getter in done:
                message = getter.result()
                getter = None
                await websocket.send_json(message)
            elif not done:
                await websocket.send_json({"type": "heartbeat"})
    finally:
        for task in (getter, ended):
            if task is not None:
                task.cancel()


async def _idle(
    websocket: WebSocket, ctx: ServerContext, token: str, reader: asyncio.Task[None]
) -> None:
    """Heartbeats only (no PBX): the wallboard says why, and the socket notices a sign-out."""
    while True:
        done, _ = await asyncio.wait({reader}, timeout=HEARTBEAT)
        if done:
            return
        if not await still_signed_in(ctx, token):
            await websocket.close(code=SESSION_CLOSED, reason="session ended")
            return
        await websocket.send_json({"type": "heartbeat"})


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the desktop sends, so a close from its side is noticed."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()
