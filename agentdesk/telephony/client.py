"""asyncio AMI client for the desktop: login, actions, events, keepalive, reconnect, resync.

Usage from the desktop (one asyncio loop in a background thread, see
:class:`agentdesk.telephony.loop_thread.LoopThread`)::

    client = AmiClient("127.0.0.1", 5038, "agent1001", secret, auth="md5")
    client.on_state(lambda state, detail: ...)      # CONNECTING/CONNECTED/RECONNECTING/...
    client.on_event(handle_agent_event, "Agent*")    # fnmatch on the Event name
    client.on_resync(lambda snapshot: ...)           # QueueStatus + CoreShowChannels
    thread.submit(client.connect(timeout=10))        # raises AuthenticationError on a bad secret
    result = await client.send_action("QueuePause", Interface="PJSIP/agent-1001", Paused="true")

Every callback runs on the client's event loop, in order of arrival; a
callback may be a plain function or a coroutine function. A callback that
raises is logged and does not disturb the connection.

After every (re)login the client reads ``QueueStatus`` and
``CoreShowChannels`` (AMI has no replay) and hands them to ``on_resync``
callbacks before :meth:`AmiClient.wait_connected` returns. A dropped link is
retried with exponential backoff and full jitter; a rejected login is final:
the state becomes ``FAILED`` and waiters get :class:`AuthenticationError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import hashlib
import logging
import random
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from agentdesk.telephony.client_types import (
    ActionResult,
    ActionTimeoutError,
    AmiError,
    AuthenticationError,
    Backoff,
    ConnectionState,
    EventCallback,
    NotConnectedError,
    ResyncCallback,
    ResyncSnapshot,
    StateCallback,
    TypedEventCallback,
)
from agentdesk.telephony.codec import AmiMessage, AmiParser, AmiProtocolError, encode
from agentdesk.telephony.events import decode

_MAX_ROUTES = 1024  # distinct event names routed (a PBX sends a few dozen)

__all__ = [
    "ActionResult",
    "ActionTimeoutError",
    "AmiClient",
    "AmiError",
    "AuthenticationError",
    "Backoff",
    "ConnectionState",
    "NotConnectedError",
    "ResyncSnapshot",
]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Pending:
    future: asyncio.Future[ActionResult]
    response: AmiMessage | None = None
    events: list[AmiMessage] = field(default_factory=list)


class AmiClient:
    """One logical AMI session to a PBX that survives dropped links.

    Responsibilities: framing (via :class:`AmiParser`), login, ActionID
    correlation, list collection, event dispatch, keepalive, reconnect and
    resync. Not thread-safe: use it from the loop it was started on.
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        auth: Literal["plain", "md5"] = "plain",
        events: str = "on",
        ping_interval: float = 20.0,
        ping_timeout: float = 10.0,
        action_timeout: float = 10.0,
        connect_timeout: float = 5.0,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
        max_line: int = 65536,
    ) -> None:
        self.host, self.port = host, port
        self._username, self._secret, self._auth = username, secret, auth
        self._events = events
        self.ping_interval, self.ping_timeout = ping_interval, ping_timeout
        self.action_timeout, self.connect_timeout = action_timeout, connect_timeout
        self._backoff = backoff or Backoff()
        self._rng = rng or random.Random()
        self._max_line = max_line
        self._state = ConnectionState.DISCONNECTED
        self._event_subs: list[tuple[str, EventCallback]] = []
        self._typed_subs: list[tuple[str, TypedEventCallback]] = []
        # Event name (lower case) -> the callbacks whose patterns match it, in order;
        # emptied whenever a subscription is added or removed.
        self._routes: dict[str, tuple[list[EventCallback], list[TypedEventCallback]]] = {}
        self._state_subs: list[StateCallback] = []
        self._resync_subs: list[ResyncCallback] = []
        self._pending: dict[str, _Pending] = {}
        self._id_prefix = secrets.token_hex(4)
        self._counter = 0
        self._writer: asyncio.StreamWriter | None = None
        self._logged_in = False
        self._runner: asyncio.Task[None] | None = None
        self._ready: asyncio.Event | None = None
        self._failure: AuthenticationError | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._logins = 0
        self.banner: str | None = None

    # ------------------------------------------------------------------ subscriptions
    def on_event(self, callback: EventCallback, pattern: str = "*") -> Callable[[], None]:
        """Call ``callback(message)`` for events whose name matches ``pattern`` (fnmatch,
        case-insensitive). Returns a function that unsubscribes."""
        entry = (pattern.lower(), callback)
        self._event_subs.append(entry)
        self._routes.clear()

        def unsubscribe() -> None:
            if entry in self._event_subs:
                self._event_subs.remove(entry)
                self._routes.clear()

        return unsubscribe

    def on_typed_event(
        self, callback: TypedEventCallback, pattern: str = "*"
    ) -> Callable[[], None]:
        """Like :meth:`on_event`, but ``callback`` gets the typed event
        (:mod:`agentdesk.telephony.events`), decoded once however many subscribers match."""
        entry = (pattern.lower(), callback)
        self._typed_subs.append(entry)
        self._routes.clear()

        def unsubscribe() -> None:
            if entry in self._typed_subs:
                self._typed_subs.remove(entry)
                self._routes.clear()

        return unsubscribe

    def on_state(self, callback: StateCallback) -> None:
        """Call ``callback(state, detail)`` on every :class:`ConnectionState` change."""
        self._state_subs.append(callback)

    def on_resync(self, callback: ResyncCallback) -> None:
        """Call ``callback(snapshot)`` after every (re)login with fresh queue and channel state."""
        self._resync_subs.append(callback)

    # ------------------------------------------------------------------ lifecycle
    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def connected(self) -> bool:
        """True while logged in."""
        return self._logged_in

    async def start(self) -> None:
        """Start connecting in the background (returns at once). Idempotent."""
        if self._runner is None or self._runner.done():
            self._ready = asyncio.Event()
            self._failure = None
            self._runner = asyncio.get_running_loop().create_task(self._run())

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until logged in and resynced. Raises :class:`AuthenticationError` if the login
        was rejected, ``TimeoutError`` if ``timeout`` passes first."""
        if self._ready is None:
            raise NotConnectedError("AmiClient.start() was not called")
        async with asyncio.timeout(timeout):
            await self._ready.wait()
        if self._failure is not None:
            raise self._failure
        if self._state is ConnectionState.CLOSED:
            raise NotConnectedError("client closed")

    async def connect(self, timeout: float | None = None) -> None:
        """:meth:`start` then :meth:`wait_connected`."""
        await self.start()
        await self.wait_connected(timeout)

    async def close(self) -> None:
        """Log off (best effort), stop reconnecting and fail pending actions."""
        runner, self._runner = self._runner, None
        if self._logged_in:
            with contextlib.suppress(AmiError, OSError, TimeoutError):
                await self.send_action("Logoff", timeout=1.0)
        if runner is not None:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        self._drop_link("client closed")
        for task in list(self._tasks):
            task.cancel()
        self._set_state(ConnectionState.CLOSED, None)
        if self._ready is not None:
            self._ready.set()

    # ------------------------------------------------------------------ actions
    async def send_action(
        self,
        action: str,
        headers: Mapping[str, object] | None = None,
        /,
        *,
        timeout: float | None = None,
        **named: object,
    ) -> ActionResult:
        """Send ``Action: <action>`` with ``headers``/keyword headers and wait for the reply.

        A list action returns when its ``*Complete`` event arrives. A list or tuple
        value becomes repeated headers (e.g. ``Variable=["A=1", "B=2"]``). Raises
        :class:`NotConnectedError` or :class:`ActionTimeoutError`; an AMI
        ``Response: Error`` is returned, not raised (check ``result.ok``).
        """
        if not self._logged_in and action.lower() not in ("login", "challenge", "logoff"):
            raise NotConnectedError(f"not logged in; cannot send {action}")
        return await self._request(action, {**(headers or {}), **named}, timeout)

    async def _request(
        self, action: str, headers: Mapping[str, object], timeout: float | None
    ) -> ActionResult:
        writer = self._writer
        if writer is None or writer.is_closing():
            raise NotConnectedError(f"no AMI connection; cannot send {action}")
        self._counter += 1
        action_id = f"{self._id_prefix}-{self._counter}"
        fields: dict[str, object] = {"Action": action, "ActionID": action_id}
        fields.update((k, v) for k, v in headers.items() if k.lower() not in ("action", "actionid"))
        data = encode(AmiMessage.from_mapping(fields))
        pending = _Pending(asyncio.get_running_loop().create_future())
        self._pending[action_id] = pending
        try:
            writer.write(data)
            async with asyncio.timeout(self.action_timeout if timeout is None else timeout):
                return await pending.future
        except TimeoutError:
            raise ActionTimeoutError(f"no response to {action} (ActionID {action_id})") from None
        finally:
            self._pending.pop(action_id, None)

    # ------------------------------------------------------------------ connection loop
    async def _run(self) -> None:
        attempt = 0
        while True:
            self._set_state(
                ConnectionState.RECONNECTING if self._logins else ConnectionState.CONNECTING, None
            )
            try:
                await self._session()
                detail = "connection closed by PBX"
            except AuthenticationError as exc:
                self._failure = exc
                self._drop_link(str(exc))
                self._set_state(ConnectionState.FAILED, str(exc))
                assert self._ready is not None
                self._ready.set()
                return
            except (OSError, TimeoutError, AmiError, AmiProtocolError) as exc:
                detail = f"{type(exc).__name__}: {exc}"
                log.warning("AMI link to %s:%s lost: %s", self.host, self.port, detail)
            if self._logged_in:
                attempt = 0
            self._drop_link(detail)
            if self._ready is not None:
                self._ready.clear()
            self._set_state(ConnectionState.DISCONNECTED, detail)
            await asyncio.sleep(self._backoff.delay(attempt, self._rng))
            attempt += 1

    async def _session(self) -> None:
        async with asyncio.timeout(self.connect_timeout):
            reader, writer = await asyncio.open_connection(self.host, self.port)
        self._writer = writer
        reader_task = asyncio.get_running_loop().create_task(self._read_loop(reader))
        try:
            await self._login()
            self._logged_in = True
            self._logins += 1
            await self._resync()
            self._set_state(ConnectionState.CONNECTED, self.banner)
            assert self._ready is not None
            self._ready.set()
            await self._keepalive(reader_task)
        finally:
            reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader_task

    async def _login(self) -> None:
        headers: dict[str, object] = {"Username": self._username, "Events": self._events}
        if self._auth == "md5":
            challenge = await self._request("Challenge", {"AuthType": "MD5"}, None)
            token = challenge.response.get("Challenge")
            if not challenge.ok or not token:
                raise AuthenticationError(f"MD5 challenge refused: {challenge.message}")
            digest = hashlib.md5((token + self._secret).encode(), usedforsecurity=False)
            headers.update(AuthType="MD5", Key=digest.hexdigest())
        else:
            headers["Secret"] = self._secret
        result = await self._request("Login", headers, None)
        if not result.ok:
            raise AuthenticationError(
                f"AMI login as {self._username!r} rejected: {result.message or 'no reason given'}"
            )

    async def _resync(self) -> None:
        status = await self.send_action("QueueStatus")
        channels = await self.send_action("CoreShowChannels")
        for name, res in (("QueueStatus", status), ("CoreShowChannels", channels)):
            if not res.ok:
                log.warning("AMI resync: %s refused: %s", name, res.message)
        snapshot = ResyncSnapshot(
            queue_status=tuple(status.items()) if status.ok else (),
            channels=tuple(channels.items()) if channels.ok else (),
            reconnect=self._logins > 1,
        )
        for callback in list(self._resync_subs):
            await self._invoke(callback, snapshot)

    async def _keepalive(self, reader_task: asyncio.Task[None]) -> None:
        while not reader_task.done():
            done, _ = await asyncio.wait({reader_task}, timeout=self.ping_interval)
            if done:
                break
            try:
                await self.send_action("Ping", timeout=self.ping_timeout)
            except ActionTimeoutError:
                raise ActionTimeoutError("PBX did not answer Ping; dropping the link") from None
        reader_task.result()

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        parser = AmiParser(expect_banner=True, max_line=self._max_line)
        while True:
            data = await reader.read(65536)
            if not data:
                return
            try:
                messages = parser.feed(data)
            except AmiProtocolError as exc:
                for message in exc.messages:
                    self._dispatch(message)
                log.error("AMI protocol error from %s:%s: %s", self.host, self.port, exc)
                raise
            if parser.banner is not None:
                self.banner = parser.banner
            for message in messages:
                self._dispatch(message)

    def _dispatch(self, message: AmiMessage) -> None:
        pending = self._pending.get(message.action_id or "") if self._pending else None
        if pending is not None and not pending.future.done():
            # A response, or an item of the list this action opened.
            if pending.response is None and message.response is not None:
                pending.response = message
                if (message.get("EventList") or "").lower() != "start":
                    pending.future.set_result(ActionResult(message))
                return
            if pending.response is not None and message.event is not None:
                pending.events.append(message)
                if message.event.endswith("Complete") or (
                    (message.get("EventList") or "").lower() == "complete"
                ):
                    pending.future.set_result(ActionResult(pending.response, tuple(pending.events)))
                return
        name = message.event
        if name is None:
            return
        if name == "Shutdown" and self._writer is not None:
            self._writer.close()
        lowered = name.lower()
        route = self._routes.get(lowered)
        if route is None:
            if len(self._routes) >= _MAX_ROUTES:
                self._routes.clear()
            route = self._routes[lowered] = (
                [cb for pattern, cb in self._event_subs if fnmatch.fnmatchcase(lowered, pattern)],
                [cb for pattern, cb in self._typed_subs if fnmatch.fnmatchcase(lowered, pattern)],
            )
        raw_callbacks, typed_callbacks = route
        for callback in raw_callbacks:
            self._call(callback, message)
        if typed_callbacks:
            typed = decode(message)
            if typed is not None:
                for typed_callback in typed_callbacks:
                    self._call(typed_callback, typed)

    async def _invoke(self, callback: Callable[..., Awaitable[None] | None], *args: object) -> None:
        try:
            result = callback(*args)
            if asyncio.iscoroutine(result):
                await result
        except Exception:
            log.exception("AMI callback %r failed", callback)

    def _call(self, callback: Callable[..., Awaitable[None] | None], *args: object) -> None:
        # Called from the read loop, which must keep reading: a coroutine callback
        # may itself send actions, so it runs as its own task instead of inline.
        try:
            result = callback(*args)
        except Exception:
            log.exception("AMI callback %r failed", callback)
            return
        if asyncio.iscoroutine(result):
            task = asyncio.get_running_loop().create_task(self._invoke(lambda: result))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _drop_link(self, reason: str) -> None:
        self._logged_in = False
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(NotConnectedError(f"AMI link dropped: {reason}"))
        self._pending.clear()

    def _set_state(self, state: ConnectionState, detail: str | None) -> None:
        if state is self._state:
            return
        self._state = state
        suffix = f" ({detail})" if detail else ""
        log.info("AMI %s:%s %s%s", self.host, self.port, state.value, suffix)
        for callback in list(self._state_subs):
            self._call(callback, state, detail)
