"""A scripted stand-in for the server's ``/api/v1/cti`` on a loopback thread, and sample messages.

Each WebSocket connection plays the next :class:`Script` (frames to send, then
close with a code or stay open until the client goes); each ``POST
/api/v1/cti/requests`` is recorded and answered with the next queued reply.
Everything the desktop sent is kept for the test to read.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter

from agentdesk.server.run import ServerThread
from agentdesk.server.settings import ListenSettings
from agentdesk.services.crm.caller_match import CallerMatch, MatchKind
from agentdesk.services.crm.phone import normalise
from agentdesk.telephony.event_json import to_json
from agentdesk.telephony.events import (
    AgentCalled,
    ChannelInfo,
    CoreShowChannel,
    QueueMember,
    QueueParams,
)

IFACE = "PJSIP/1001"
CALLER = "+447700900123"


@dataclass
class Script:
    """What one connection does: send ``frames`` (dicts as JSON, str as they are), then close
    with ``close`` (a code) or, with None, stay open until the client closes or the test
    ends."""

    frames: list[Any] = field(default_factory=list)
    close: int | None = None


@dataclass
class Seen:
    """One WebSocket connection as the server saw it."""

    authorization: str
    client_id: str | None


class FakeCti:
    """The fake server's state: scripts to play, replies to give, what arrived."""

    def __init__(self) -> None:
        self.scripts: queue.Queue[Script] = queue.Queue()
        self.default = Script(close=None)
        self.connections: list[Seen] = []
        self.connected = threading.Event()
        self.requests: list[dict[str, Any]] = []
        self.request_headers: list[str] = []
        self.replies: queue.Queue[tuple[int, dict[str, Any]]] = queue.Queue()
        self.ending = threading.Event()
        self.app = self._build()

    def _build(self) -> FastAPI:
        app = FastAPI()

        @app.websocket("/api/v1/cti")
        async def cti(websocket: WebSocket) -> None:
            self.connections.append(
                Seen(
                    websocket.headers.get("authorization", ""),
                    websocket.query_params.get("client_id"),
                )
            )
            self.connected.set()
            await websocket.accept()
            try:
                script = self.scripts.get_nowait()
            except queue.Empty:
                script = self.default
            try:
                for frame in script.frames:
                    text = frame if isinstance(frame, str) else json.dumps(frame)
                    await websocket.send_text(text)
                if script.close is not None:
                    await websocket.close(code=script.close)
                    return
                # Open until the client goes (or the test ends): bounded by the test.
                for _ in range(600):
                    if self.ending.is_set():
                        await websocket.close(code=1001)
                        return
                    try:
                        await asyncio.wait_for(websocket.receive_text(), 0.1)
                    except TimeoutError:
                        continue
            except (WebSocketDisconnect, RuntimeError):
                return

        @app.post("/api/v1/cti/requests")
        async def requests(request: Request) -> JSONResponse:
            self.requests.append(json.loads(await request.body()))
            self.request_headers.append(request.headers.get("authorization", ""))
            try:
                status, body = self.replies.get_nowait()
            except queue.Empty:
                status, body = 200, {"ok": True, "message": ""}
            media = "application/json" if status < 400 else "application/problem+json"
            return JSONResponse(body, status_code=status, media_type=media)

        return app


@contextmanager
def fake_server() -> Iterator[tuple[FakeCti, str]]:
    fake = FakeCti()
    thread = ServerThread(fake.app, ListenSettings(host="127.0.0.1", port=0))
    url = thread.start()
    try:
        yield fake, url
    finally:
        fake.ending.set()
        thread.stop()


# ---------------------------------------------------------------------- sample messages
def link(state: str = "connected", detail: str = "PBX london") -> dict[str, Any]:
    return {"type": "link", "state": state, "detail": detail}


def agent_called(linkedid: str = "1733.12") -> AgentCalled:
    return AgentCalled(
        channel=ChannelInfo(channel="PJSIP/trunk-0001", caller_num=CALLER, linkedid=linkedid),
        dest=ChannelInfo(channel=f"{IFACE}-00000002", linkedid=linkedid),
        queue="general",
        interface=IFACE,
        member_name="Alice Agent",
    )


def event(ev: Any) -> dict[str, Any]:
    return {"type": "event", "event": to_json(ev)}


def resync(reconnect: bool = False, linkedid: str = "1733.12") -> dict[str, Any]:
    rows = [
        QueueParams(queue="general"),
        QueueMember(queue="general", interface=IFACE, member_name="Alice Agent"),
    ]
    channels = [
        CoreShowChannel(channel=ChannelInfo(channel=f"{IFACE}-00000002", linkedid=linkedid))
    ]
    return {
        "type": "resync",
        "reconnect": reconnect,
        "queue": [to_json(r) for r in rows],
        "channels": [to_json(c) for c in channels],
    }


def caller_match() -> CallerMatch:
    return CallerMatch(normalise(CALLER), MatchKind.NONE, "central")


def match(linkedid: str = "1733.12") -> dict[str, Any]:
    body = TypeAdapter(CallerMatch).dump_python(caller_match(), mode="json")
    return {"type": "match", "linkedid": linkedid, "match": body}
