"""What one server instance tells the others at once over the bus: sessions ended, pins added.

Each instance keeps two short memories of the database (see their modules):

* live sessions, for ``SESSION_CACHE_SECONDS`` (``services/platform/signin.py``):
  a sign-out or revocation on one instance would reach the others only when
  their memory of the session runs out, so a revoked token kept working for up
  to 10 s against another instance behind the load balancer;
* the customers each connected desktop holds (``server/pins.py``): a pin written
  by another instance (the desktop's fill or search went there, its socket is
  here) arrived with the next refresh, up to 30 s later, and a change to that
  customer meanwhile did not poke the desktop.

With a bus, the instance that ends a session or adds pins says so on NATS and
every other instance applies it when the message arrives (a few milliseconds).
The periodic reads stay as the safety net for what a bus outage drops: events
are not replayed (``server/bus.py``).

Subjects: ``agentdesk.peers.sessions`` (``{"from", "tokens": [hash], "agents":
[id]}``, token hashes only, never tokens) and ``agentdesk.peers.pins`` (``{"from",
"client", "keys": [64-bit keys]}``, at most ``PIN_CHUNK`` keys a message).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Iterable, Mapping

from agentdesk.server.bus import Bus, Undo
from agentdesk.server.pins import PinBook
from agentdesk.services.platform.signin import SignInService

log = logging.getLogger(__name__)

SESSIONS = "agentdesk.peers.sessions"
PINS = "agentdesk.peers.pins"
PIN_CHUNK = 4000  # keys a message: ~80 kB of JSON, well under NATS's 1 MB default


class PeerNews:
    """Publishes this instance's session ends and pin additions; applies the others'."""

    def __init__(self, bus: Bus, signin: SignInService, pins: PinBook) -> None:
        self.bus = bus
        self.signin = signin
        self.pins = pins
        self._loop: asyncio.AbstractEventLoop | None = None
        self._undo: list[Undo] = []
        self._sending: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self.bus.start()
        self._undo = [
            await self.bus.subscribe(SESSIONS, self._on_sessions),
            await self.bus.subscribe(PINS, self._on_pins),
        ]
        # Called from request threads (sign-out, revoke, sync): hop to the loop to publish.
        self.signin.on_ended = self._sessions_ended
        self.pins.on_added = self._pins_added

    async def stop(self) -> None:
        self.signin.on_ended = None
        self.pins.on_added = None
        for undo in self._undo:
            await undo()
        self._undo = []
        if self._sending:
            await asyncio.wait(self._sending, timeout=2.0)

    # ------------------------------------------------------------------ outgoing
    def _sessions_ended(self, tokens: Iterable[str], agents: Iterable[uuid.UUID]) -> None:
        body = {
            "from": self.bus.instance,
            "tokens": list(tokens),
            "agents": [str(a) for a in agents],
        }
        self._send(SESSIONS, body)

    def _pins_added(self, client_id: uuid.UUID, keys: list[int]) -> None:
        for start in range(0, len(keys), PIN_CHUNK):
            chunk = keys[start : start + PIN_CHUNK]
            self._send(PINS, {"from": self.bus.instance, "client": str(client_id), "keys": chunk})

    def _send(self, subject: str, body: Mapping[str, object]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        data = json.dumps(body, separators=(",", ":")).encode()

        def publish() -> None:
            task = loop.create_task(self.bus.publish(subject, data))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            publish()
        else:
            loop.call_soon_threadsafe(publish)

    # ------------------------------------------------------------------ incoming
    def _read(self, data: bytes) -> dict[str, object] | None:
        try:
            body = json.loads(data)
        except ValueError:
            log.warning("peers: a message that is not JSON was ignored")
            return None
        if not isinstance(body, dict) or body.get("from") == self.bus.instance:
            return None  # our own, echoed back by NATS
        return body

    def _on_sessions(self, _subject: str, data: bytes, _reply: str) -> None:
        body = self._read(data)
        if body is None:
            return
        tokens = body.get("tokens") or []
        agents = body.get("agents") or []
        if not isinstance(tokens, list) or not isinstance(agents, list):
            log.warning("peers: a malformed sessions message was ignored")
            return
        try:
            agent_ids = [uuid.UUID(str(a)) for a in agents]
        except ValueError:
            log.warning("peers: a sessions message with a bad agent id was ignored")
            return
        self.signin.forget_ended(tokens=[str(t) for t in tokens], agents=agent_ids)

    def _on_pins(self, _subject: str, data: bytes, _reply: str) -> None:
        body = self._read(data)
        if body is None:
            return
        keys = body.get("keys")
        try:
            client_id = uuid.UUID(str(body.get("client")))
            if not isinstance(keys, list) or not all(
                isinstance(k, int) and 0 <= k < 1 << 64 for k in keys
            ):
                raise ValueError("keys")
        except ValueError:
            log.warning("peers: a malformed pins message was ignored")
            return
        self.pins.merge_from_peer(client_id, keys)
