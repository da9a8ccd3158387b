"""The gateways of every configured PBX, the desktops' CTI sockets, and call requests.

One :class:`CtiHub` per server process, started and stopped with the app
(``server/app.py`` lifespan), on the server's event loop. It knows each
agent's line from the ``agent`` table (re-read every ``REFRESH`` seconds and
when the agent's desktop connects), which PBX serves that line, and the
socket of each agent (one: a newer desktop replaces an older one).

A socket's queue is bounded: a desktop that does not read its events is
dropped (it reconnects and gets a fresh ``resync``) rather than letting the
server's memory grow. A socket's ``resync`` is built from the state its
gateway keeps (no AMI action per socket). One ticker serves every socket:
the heartbeat after ``HEARTBEAT`` s of silence and the session recheck every
``RECHECK`` s, the rechecks due at each tick run together in one worker
thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fnmatch
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from agentdesk.server.bus import Bus
from agentdesk.server.cti.config import PbxConfig
from agentdesk.server.cti.gateway import Outgoing, PbxGateway
from agentdesk.server.cti.lines import AgentDirectory, AgentRecord
from agentdesk.server.cti.relay import CtiRelay
from agentdesk.services.desk.call_requests import (
    AgentLine,
    CallRequest,
    CallResult,
    Hangup,
    Hold,
    Transfer,
    to_action,
)
from agentdesk.telephony.client import Backoff, NotConnectedError

log = logging.getLogger(__name__)

REFRESH = 60.0  # seconds between re-reads of the agents' lines
QUEUE_LIMIT = 512  # messages waiting for one socket before it is dropped
REPLACED = 4409
OVERFLOW = 1013  # "try again later": the desktop reconnects and resyncs
SESSION_CLOSED = 4401
HEARTBEAT = 20.0  # seconds of silence before a socket is sent a heartbeat
RECHECK = 20.0  # seconds between rechecks of a socket's session
TICK = 1.0
MAX_RECHECKS_PER_TICK = 200


class NoPbx(Exception):
    """No configured PBX serves this agent's line."""


class LinkDown(Exception):
    """The agent's PBX link is down; try again shortly."""


class NotYourCall(Exception):
    """The request names a call that is not one of the agent's live calls."""


class Subscription:
    """One desktop's CTI socket: its bounded queue and why it must close, if it must.

    ``wake`` is set whenever there is something to do (messages waiting, the socket
    ended); the socket's sender takes every waiting message at once (:meth:`take`), so
    what the gateways delivered within one loop tick goes out in one wake-up.
    ``recheck`` (blocking: run in a worker thread) says whether the socket's session is
    still live.
    """

    def __init__(
        self,
        login: str,
        line: AgentLine,
        limit: int = QUEUE_LIMIT,
        *,
        recheck: Callable[[], bool] | None = None,
        session: str | None = None,
    ) -> None:
        self.login = login
        self.line = line
        self.limit = limit
        self.items: deque[Outgoing] = deque()
        self.wake = asyncio.Event()
        self.ended = asyncio.Event()
        self.close_code = 1000
        self.close_reason = ""
        self.recheck = recheck
        self.session = session  # the session token, checked with every socket's at once
        self.last_sent = self.checked_at = time.monotonic()

    def put(self, item: Outgoing) -> None:
        if self.ended.is_set():
            return
        if len(self.items) >= self.limit:
            log.warning("CTI socket of %s is not reading its events; dropping it", self.login)
            self.end(OVERFLOW, "too many events waiting; reconnect")
            return
        self.items.append(item)
        self.wake.set()

    def take(self) -> list[Outgoing]:
        """Every message waiting, oldest first."""
        taken = list(self.items)
        self.items.clear()
        return taken

    def end(self, code: int, reason: str) -> None:
        if not self.ended.is_set():
            self.close_code, self.close_reason = code, reason
            self.ended.set()
            self.wake.set()


class CtiHub:
    """Gateways by site, agents' sockets by login, and the requests' checks."""

    def __init__(
        self,
        directory: AgentDirectory,
        pbxs: Sequence[PbxConfig],
        *,
        backoff: Backoff | None = None,
        queue_limit: int = QUEUE_LIMIT,
        sessions_alive: Callable[[list[str]], list[bool]] | None = None,
        bus: Bus | None = None,
    ) -> None:
        self.directory = directory
        # Blocking (run in a worker thread): whether each session token is still live,
        # all in one go (SignInService.still_live).
        self.sessions_alive = sessions_alive
        # Several server instances (a bus): one holds each PBX's link, the relay carries
        # its agents' messages to every instance (``server/cti/relay.py``).
        self.relay = CtiRelay(self, bus) if bus is not None else None
        self.gateways: dict[str, PbxGateway] = {
            p.site: PbxGateway(
                p, self if self.relay is None else self.relay.sink(p.site), backoff=backoff
            )
            for p in pbxs
        }
        self._subs: dict[str, Subscription] = {}
        self._queue_limit = queue_limit
        self._refresher: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        if not self.gateways:
            log.info("no [[pbx]] configured: CTI is off")
            return
        await self.refresh_lines()
        if self.relay is not None:
            await self.relay.start()  # starts the gateways whose lease this instance takes
        else:
            for gateway in self.gateways.values():
                await gateway.start()
        self._refresher = asyncio.get_running_loop().create_task(self._refresh_loop())

    async def stop(self) -> None:
        for task in (self._refresher, self._ticker):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for sub in list(self._subs.values()):
            sub.end(1001, "server stopping")
        if self.relay is not None:
            await self.relay.stop()
            return
        for gateway in self.gateways.values():
            await gateway.stop()

    async def refresh_lines(self) -> None:
        try:
            lines = await asyncio.to_thread(self.directory.lines)
        except SQLAlchemyError as exc:
            log.warning("cannot read the agents' lines: %s", type(exc).__name__)
            return
        for gateway in self.gateways.values():
            gateway.set_lines(lines)

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(REFRESH)
            await self.refresh_lines()

    def status(self) -> dict[str, dict[str, str]]:
        """Each PBX link's state, for ``/ready``."""
        if self.relay is not None:
            return self.relay.status()
        return {site: {"state": g.state, "detail": g.detail} for site, g in self.gateways.items()}

    # ------------------------------------------------------------------ which PBX
    def home(self, login: str, line: AgentLine) -> PbxGateway | None:
        """The PBX serving ``line``: by the sites' ``interfaces`` patterns, else where the
        line was seen as a queue member, else the only PBX (or the only one without patterns)."""
        iface = line.interface.lower()
        for gateway in self.gateways.values():
            if any(fnmatch.fnmatchcase(iface, p.lower()) for p in gateway.config.interfaces):
                return gateway
        for gateway in self.gateways.values():
            if gateway.serves(login):
                return gateway
        open_sites = [g for g in self.gateways.values() if not g.config.interfaces]
        if len(open_sites) == 1:
            return open_sites[0]
        return None

    def _register(self, login: str, line: AgentLine) -> None:
        for gateway in self.gateways.values():
            gateway.register(login, line)

    def link_message(self, login: str, line: AgentLine) -> dict[str, Any]:
        gateway = self.home(login, line)
        if gateway is None:
            detail = (
                "The server has no PBX configured."
                if not self.gateways
                else f"No configured PBX serves {line.interface}."
            )
            return {"type": "link", "state": "failed", "detail": detail}
        return gateway.link_message()

    # ------------------------------------------------------------------ sockets
    def subscribe(
        self,
        record: AgentRecord,
        recheck: Callable[[], bool] | None = None,
        *,
        session: str | None = None,
    ) -> Subscription:
        """A socket for ``record`` (who has a line); an older socket of theirs is closed.

        Its first messages are queued at once, in the same loop tick (nothing the gateway
        delivers can fall between them and the state they describe): the link state and,
        while the link is up, the ``resync`` built from the gateway's own state.
        Every ``RECHECK`` s its session is checked again (``session``, a token, with every
        other socket's due then, through ``sessions_alive``; else ``recheck``, in a worker
        thread); a session no longer live closes the socket with ``SESSION_CLOSED``.
        """
        assert record.line is not None
        self._register(record.login, record.line)
        sub = Subscription(
            record.login, record.line, self._queue_limit, recheck=recheck, session=session
        )
        previous = self._subs.get(record.login)
        if previous is not None:
            previous.end(REPLACED, "signed in on another desktop")
        self._subs[record.login] = sub
        gateway = self.home(record.login, record.line)
        if self.relay is not None and gateway is not None:
            # The state comes from the instance holding the link (possibly this one).
            self.relay.attach(sub, gateway.site)
            self._start_ticker()
            return sub
        sub.put(Outgoing(self.link_message(record.login, record.line)))
        first = self.first_resync(sub)
        if first is not None:
            sub.put(Outgoing(first))
        self._start_ticker()
        return sub

    def _start_ticker(self) -> None:
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.get_running_loop().create_task(self._tick_loop())

    def unsubscribe(self, sub: Subscription) -> None:
        if self._subs.get(sub.login) is sub:
            del self._subs[sub.login]
        if self.relay is not None:
            self.relay.detach(sub)

    def socket_of(self, login: str) -> Subscription | None:
        """The socket of ``login`` on this instance, if any."""
        return self._subs.get(login)

    def replaced_elsewhere(self, login: str) -> None:
        """``login`` connected a desktop to another server instance: close theirs here."""
        sub = self._subs.get(login)
        if sub is not None:
            sub.end(REPLACED, "signed in on another desktop")

    def to_site(self, site: str, message: dict[str, Any]) -> None:
        """Queue ``message`` (a link state) for every local socket homed at ``site``."""
        for sub in list(self._subs.values()):
            gateway = self.home(sub.login, sub.line)
            if gateway is not None and gateway.site == site:
                sub.put(Outgoing(message))

    def first_resync(self, sub: Subscription) -> dict[str, Any] | None:
        """The ``resync`` a socket gets on connect, from its gateway's state (None while its
        PBX link is down or not yet resynced: the gateway's resync then reaches it)."""
        gateway = self.home(sub.login, sub.line)
        if gateway is None or not gateway.synced:
            return None
        return gateway.resync_message(sub.login, False)

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            try:
                await self.tick(time.monotonic())
            except Exception:
                log.exception("CTI sockets' heartbeat/session tick failed")

    async def tick(self, now: float) -> None:
        """Heartbeats for silent sockets; the session rechecks that are due, together."""
        due: list[Subscription] = []
        for sub in list(self._subs.values()):
            if sub.ended.is_set():
                continue
            if now - sub.last_sent >= HEARTBEAT and not sub.items:
                sub.last_sent = now
                sub.put(Outgoing({"type": "heartbeat"}))
            if (
                (sub.recheck is not None or sub.session is not None)
                and now - sub.checked_at >= RECHECK
                and len(due) < MAX_RECHECKS_PER_TICK
            ):
                sub.checked_at = now
                due.append(sub)
        if due:
            alive = await asyncio.to_thread(self._check, due)
            for sub, ok in zip(due, alive, strict=True):
                if not ok:
                    sub.end(SESSION_CLOSED, "session ended")

    def _check(self, due: list[Subscription]) -> list[bool]:
        """Worker thread: the due sockets' sessions, the tokens in one batch."""
        batch = self.sessions_alive
        by_token = [s for s in due if s.session is not None and batch is not None]
        alive: dict[int, bool] = {}
        if by_token:
            assert batch is not None
            try:
                answers = batch([s.session or "" for s in by_token])
            except Exception:
                log.warning("CTI session recheck of %d sockets failed; kept", len(by_token))
                answers = [True] * len(by_token)
            alive.update((id(s), ok) for s, ok in zip(by_token, answers, strict=True))
        rest = [s for s in due if id(s) not in alive]
        alive.update(zip(map(id, rest), _rechecks([s.recheck for s in rest]), strict=True))
        return [alive[id(s)] for s in due]

    # Delivery (called by the gateways, on the loop)
    def deliver(self, login: str, item: Outgoing) -> None:
        sub = self._subs.get(login)
        if sub is not None:
            sub.put(item)

    def link_changed(self, gateway: PbxGateway) -> None:
        for sub in list(self._subs.values()):
            if self.home(sub.login, sub.line) is gateway:
                sub.put(Outgoing(gateway.link_message()))

    def resynced(self, gateway: PbxGateway, reconnect: bool) -> None:
        for sub in list(self._subs.values()):
            if self.home(sub.login, sub.line) is gateway:
                message = gateway.resync_message(sub.login, reconnect)
                if message is not None:
                    sub.put(Outgoing(message))

    # ------------------------------------------------------------------ requests
    async def perform(self, record: AgentRecord, request: CallRequest) -> CallResult:
        """Check and carry out ``request`` for ``record``'s line.

        Raises :class:`NoPbx`, :class:`NotYourCall`, :class:`LinkDown`,
        ``ActionInputError`` (bad input, in words) or ``ActionTimeoutError``.
        """
        line = record.line
        assert line is not None
        self._register(record.login, line)
        gateway = self.home(record.login, line)
        if gateway is None:
            raise NoPbx(
                "The server has no PBX configured."
                if not self.gateways
                else f"No configured PBX serves {line.interface}."
            )
        if self.relay is not None and not self.relay.leads(gateway.site):
            return await self.relay.forward(gateway.site, record.login, request)
        return await self._perform_on(gateway, record.login, line, request)

    async def perform_here(self, site: str, login: str, request: CallRequest) -> CallResult:
        """A request forwarded by another instance to this one, which holds ``site``'s link."""
        gateway = self.gateways[site]
        line = gateway.line_of(login)
        if line is None:
            record = await asyncio.to_thread(self.directory.by_login, login)
            if record is None or record.line is None:
                raise NoPbx(f"{login} has no PBX line.")
            line = record.line
            gateway.register(login, line)
        return await self._perform_on(gateway, login, line, request)

    async def _perform_on(
        self, gateway: PbxGateway, login: str, line: AgentLine, request: CallRequest
    ) -> CallResult:
        channel: str | None = None
        if isinstance(request, (Hangup, Hold, Transfer)):
            if not gateway.owns_call(login, request.linkedid):
                gateway.correct(login)  # the desk may show a call that has ended
                raise NotYourCall("That call is not one of yours (or it has ended).")
            channel = gateway.agent_channel(login, request.linkedid)
        action = to_action(
            request, dataclasses.replace(line, dial_plan=gateway.config.dial_plan), channel
        )
        if not gateway.connected:
            raise LinkDown(f"The link to the PBX ({gateway.site}) is down; try again shortly.")
        try:
            result = await gateway.send(action)
        except NotConnectedError as exc:
            raise LinkDown(
                f"The link to the PBX ({gateway.site}) dropped; try again shortly."
            ) from exc
        if result.ok:
            return CallResult(True, "")
        return CallResult(False, result.message or "The PBX refused the request.")


def _rechecks(checks: list[Callable[[], bool] | None]) -> list[bool]:
    """Run session rechecks in turn (in a worker thread); a check that fails to run (the
    database unreachable) keeps its socket, to be checked again next round."""
    results: list[bool] = []
    failed = 0
    for check in checks:
        try:
            results.append(check() if check is not None else True)
        except Exception:
            failed += 1
            results.append(True)
    if failed:
        log.warning("CTI session recheck failed for %d sockets; kept until the next try", failed)
    return results
