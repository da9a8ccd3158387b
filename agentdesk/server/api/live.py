"""``/api/v1/live``: a WebSocket that says "pull now" whenever the central store changed.

Authenticated like every request (``Authorization: Bearer`` on the upgrade).
The socket carries pokes only, never data; a heartbeat every 20 s keeps
proxies from closing an idle connection and tells the desktop the link is
alive. A session that ends closes the socket (code 4401) so the desktop asks
the agent to sign in again.
"""

from __future__ import annotations

import asyncio
import contextlib
import random

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from agentdesk.server.auth import bearer_token
from agentdesk.server.context import ServerContext

router = APIRouter(tags=["live"])

HEARTBEAT = 20.0
SESSION_CLOSED = 4401


@router.websocket("/live")
async def live(websocket: WebSocket) -> None:
    ctx: ServerContext = websocket.app.state.context
    token = bearer_token(websocket)  # type: ignore[arg-type]
    info = await run_in_threadpool(ctx.signin.authenticate, token or "")
    if info is None:
        await websocket.close(code=SESSION_CLOSED, reason="sign in again")
        return
    await websocket.accept()
    ctx.hub.clients += 1
    reader = asyncio.create_task(_drain(websocket))
    loop = asyncio.get_running_loop()
    try:
        seen = ctx.hub.generation
        await websocket.send_json({"type": "poke"})  # a (re)connect is a poke
        quiet_until = 0.0
        while not reader.done():
            now = await ctx.hub.wait_after(seen, HEARTBEAT)
            if now != seen:
                # Paced (see server/live.py): a random moment within the spread, and not
                # again before this socket's last poke is one spread old.
                spread = ctx.hub.spread()
                delay = max(0.0, quiet_until - loop.time()) + random.uniform(0.0, spread)
                if delay > 0.0:
                    await asyncio.wait({reader}, timeout=delay)
                    if reader.done():
                        break
                seen = ctx.hub.generation  # changes made meanwhile ride on this poke
                await websocket.send_json({"type": "poke"})
                quiet_until = loop.time() + spread
                continue
            still = await run_in_threadpool(ctx.signin.authenticate, token or "")
            if still is None:
                await websocket.close(code=SESSION_CLOSED, reason="session ended")
                return
            await websocket.send_json({"type": "heartbeat"})
    except (WebSocketDisconnect, RuntimeError):
        pass  # the desktop went away; nothing to clean up but our own task
    finally:
        ctx.hub.clients -= 1
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, so a close from its side is noticed."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()
