"""``/api/v1/live``: a WebSocket that says "pull now" whenever the central store changed.

Authenticated like every request (``Authorization: Bearer`` on the upgrade).
The desktop names its sync client id (``?client_id=``, bound to the agent as
on every sync request) so it is poked only for changes its pull would return
(its teams' tickets, its pinned customers: see ``server/live.py``); a desktop
that names none is poked for every change, one that names another agent's id
is refused (code 4403). The socket carries pokes only, never data; a heartbeat
every 20 s keeps proxies from closing an idle connection and tells the desktop
the link is alive. A session that ends closes the socket (code 4401) so the desktop asks
the agent to sign in again.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from agentdesk.server.api.sync import claim_client
from agentdesk.server.auth import (
    TRY_AGAIN_LATER,
    DatabaseAway,
    bearer_token,
    principal_from,
    socket_session,
    still_signed_in,
)
from agentdesk.server.context import ServerContext
from agentdesk.server.problems import Problem

router = APIRouter(tags=["live"])

HEARTBEAT = 20.0
SESSION_CLOSED = 4401
FOREIGN_CLIENT = 4403


@router.websocket("/live")
async def live(websocket: WebSocket, client_id: uuid.UUID | None = None) -> None:
    ctx: ServerContext = websocket.app.state.context
    token = bearer_token(websocket)  # type: ignore[arg-type]
    try:
        info = await socket_session(ctx, token)
        if info is None:
            await websocket.close(code=SESSION_CLOSED, reason="sign in again")
            return
        principal = principal_from(ctx, info)
        if client_id is not None:
            try:
                await run_in_threadpool(claim_client, ctx, principal, client_id)
            except Problem:
                await websocket.close(code=FOREIGN_CLIENT, reason="this desktop is another agent's")
                return
            await run_in_threadpool(ctx.pins.attach, client_id)
    except (DatabaseAway, SQLAlchemyError):
        # Accepted first: a close code reaches the desktop only on an open socket.
        await websocket.accept()
        await websocket.close(code=TRY_AGAIN_LATER, reason="the server's database is unavailable")
        return
    sub = ctx.hub.subscribe(client_id, principal.team_ids, full_replica=principal.full_replica)
    reader: asyncio.Task[None] | None = None
    try:
        await websocket.accept()
        reader = asyncio.create_task(_drain(websocket))
        loop = asyncio.get_running_loop()
        # A (re)connect is a poke, paced like a broadcast: after a restart every desktop
        # reconnects at once, and each first pull may be a long one.
        ctx.hub.poke_later(sub)
        quiet_until = 0.0
        while not reader.done():
            # The reader ends when the desktop goes (or the server stops): the handler
            # ends with it, not at the next heartbeat (which held a server's shutdown
            # and the subscription for up to HEARTBEAT seconds).
            woken = asyncio.ensure_future(sub.woken.wait())
            try:
                await asyncio.wait(
                    {reader, woken}, timeout=HEARTBEAT, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                woken.cancel()
            if reader.done():
                break
            if sub.woken.is_set():
                # Paced (see server/live.py): a random moment within the spread, and not
                # again before this socket's last poke is one spread old.
                spread = sub.spread
                delay = max(0.0, quiet_until - loop.time()) + random.uniform(0.0, spread)
                if delay > 0.0:
                    await asyncio.wait({reader}, timeout=delay)
                    if reader.done():
                        break
                spread = max(spread, sub.take())  # changes made meanwhile ride on this poke
                await websocket.send_json({"type": "poke"})
                quiet_until = loop.time() + spread
                continue
            if not await still_signed_in(ctx, token):
                await websocket.close(code=SESSION_CLOSED, reason="session ended")
                return
            await websocket.send_json({"type": "heartbeat"})
    except (WebSocketDisconnect, RuntimeError):
        pass  # the desktop went away; nothing to clean up but our own task
    finally:
        ctx.hub.unsubscribe(sub)
        if client_id is not None:
            ctx.pins.detach(client_id)
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, so a close from its side is noticed."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()
