"""An asyncio AMI server speaking Asterisk 20's dialect (manager.c behaviour).

It owns sessions, authentication and the manager core actions (Login,
Challenge, Logoff, Ping, Events, UserEvent, ListCommands); everything else is
registered by a backend such as the PBX simulator with :meth:`AmiServer.register`.
Events are published with their class (``call``, ``agent`` ...) and reach the
sessions whose user may read that class and whose event mask allows it.

Hostile input is bounded: a line over ``max_line`` is discarded as it arrives
(never buffered) and the message it was in is answered, at its end and with
its ActionID, by Asterisk's ``Failed to parse message: line too long``; like
Asterisk, framing errors never close the session. A peer that does not read
its events is dropped once ``max_write_buffer`` bytes are pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from agentdesk.telephony.codec import (
    AMI_VERSION,
    AmiMessage,
    AmiParser,
    encode,
    encode_banner,
)
from agentdesk.telephony.responses import (
    CLASSES,
    UNAUTHENTICATED_ACTIONS,
    AmiUser,
    list_complete,
    list_item,
    list_start,
    reply,
)

log = logging.getLogger(__name__)

__all__ = [
    "AmiServer",
    "AmiSession",
    "AmiUser",
    "list_complete",
    "list_item",
    "list_start",
    "reply",
]

ActionHandler = Callable[["AmiSession", AmiMessage], Iterable[AmiMessage]]


@dataclass(frozen=True, slots=True)
class _Action:
    name: str
    handler: ActionHandler
    privilege: frozenset[str]
    synopsis: str


class AmiSession:
    """One manager connection: who logged in, which events it wants, its transport."""

    def __init__(self, server: AmiServer, writer: asyncio.StreamWriter, peer: str) -> None:
        self.server = server
        self.peer = peer
        self.user: AmiUser | None = None
        self.challenge: str | None = None
        self.event_classes: frozenset[str] = frozenset()
        self._writer = writer
        self.closed = False

    @property
    def authenticated(self) -> bool:
        return self.user is not None

    def wants(self, klass: str) -> bool:
        return self.user is not None and (
            "all" in self.event_classes or klass in self.event_classes
        )

    def set_event_mask(self, mask: str | None) -> bool:
        """Apply a Login/Events mask; returns whether events are now on."""
        assert self.user is not None
        text = (mask or "on").strip().lower()
        if text in ("on", "yes", "true", "1", "all"):
            wanted = {"all"}
        elif text in ("off", "no", "false", "0", "none", ""):
            wanted = set()
        else:
            wanted = {c.strip() for c in text.split(",") if c.strip() in CLASSES | {"all"}}
        user = self.user
        if "all" in wanted:
            self.event_classes = user.read
        else:
            self.event_classes = frozenset(c for c in wanted if user.can_read(c))
        return bool(self.event_classes)

    def send(self, message: AmiMessage) -> None:
        self.send_bytes(encode(message))

    def send_bytes(self, data: bytes) -> None:
        if self.closed:
            return
        self._writer.write(data)
        if self._writer.transport.get_write_buffer_size() > self.server.max_write_buffer:
            log.warning("AMI session %s is not reading its events; closing it", self.peer)
            self.close(abort=True)

    def close(self, *, abort: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        if abort:
            self._writer.transport.abort()
        else:
            self._writer.close()


class AmiServer:
    """TCP AMI server; call :meth:`start` on a running loop, then read :attr:`port`."""

    def __init__(
        self,
        users: Sequence[AmiUser],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        version: str = AMI_VERSION,
        authtimeout: float = 30.0,
        auth_fail_delay: float = 1.0,
        max_line: int = 1024,
        max_headers: int = 128,
        max_buffer: int = 64 * 1024,
        max_write_buffer: int = 4 * 1024 * 1024,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.users = {u.username.lower(): u for u in users}
        self.host, self._port = host, port
        self.version = version
        self.authtimeout, self.auth_fail_delay = authtimeout, auth_fail_delay
        self.max_line, self.max_headers, self.max_buffer = max_line, max_headers, max_buffer
        self.max_write_buffer = max_write_buffer
        self.clock = clock
        self.started_at = clock()
        self.sessions: set[AmiSession] = set()
        self._actions: dict[str, _Action] = {}
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.events_published = 0
        self._register_core()

    # ------------------------------------------------------------------ public API
    def register(
        self, name: str, handler: ActionHandler, privilege: Iterable[str] = (), synopsis: str = ""
    ) -> None:
        """Add an action; ``privilege`` are the write classes of which the user needs one."""
        self._actions[name.lower()] = _Action(name, handler, frozenset(privilege), synopsis)

    @property
    def port(self) -> int:
        """The bound TCP port (useful with ``port=0``)."""
        if self._server is None:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._on_connect, self.host, self._port)
        log.info("AMI server listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for session in list(self.sessions):
            session.close(abort=True)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def publish(self, message: AmiMessage, klass: str) -> None:
        """Send an event of class ``klass`` to every session that may and wants to read it."""
        data: bytes | None = None
        self.events_published += 1
        for session in list(self.sessions):
            if session.wants(klass):
                if data is None:
                    data = encode(message)
                session.send_bytes(data)

    # ------------------------------------------------------------------ connection handling
    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        peer = "{}:{}".format(*writer.get_extra_info("peername", ("?", 0))[:2])
        session = AmiSession(self, writer, peer)
        self.sessions.add(session)
        timer = asyncio.get_running_loop().call_later(self.authtimeout, self._auth_timeout, session)
        try:
            session.send_bytes(encode_banner(self.version))
            await self._serve(session, reader)
        except (ConnectionError, OSError) as exc:
            log.debug("AMI session %s: %s", peer, exc)
        except asyncio.CancelledError:
            # Server shutdown: the handler ends here so the stream machinery sees a clean exit.
            pass
        finally:
            timer.cancel()
            self.sessions.discard(session)
            session.close()
            self._tasks.discard(task)

    def _auth_timeout(self, session: AmiSession) -> None:
        if not session.authenticated and not session.closed:
            log.info(
                "AMI session %s did not log in within %ss; closing", session.peer, self.authtimeout
            )
            session.close()

    async def _serve(self, session: AmiSession, reader: asyncio.StreamReader) -> None:
        # recover: like Asterisk's get_input/do_message, a bad line never ends the session
        # nor loses the headers around it; the error is answered at the message's end.
        parser = AmiParser(
            max_line=self.max_line,
            max_headers=self.max_headers,
            max_buffer=self.max_buffer,
            recover=True,
        )
        while not session.closed:
            data = await reader.read(65536)
            if not data:
                return
            for message in parser.feed(data):
                if message.parse_error is not None:
                    self._parse_error(session, message)
                else:
                    await self._process(session, message)
                if session.closed:
                    return

    @staticmethod
    def _parse_error(session: AmiSession, message: AmiMessage) -> None:
        """``handle_parse_error``/``hdr_loss`` of manager.c: an error carrying the ActionID."""
        log.warning(
            "AMI session %s sent a malformed message: %s", session.peer, message.parse_error
        )
        if message.parse_error == "line too long":
            text = "Failed to parse message: line too long"
        else:
            text = "Too many lines in message or allocation failure"
        session.send(reply(message, "Error", message=text))

    async def _process(self, session: AmiSession, message: AmiMessage) -> None:
        name = (message.action or "").strip()
        if not name:
            session.send(reply(message, "Error", message="Missing action in request"))
            return
        key = name.lower()
        if key == "login":
            await self._login(session, message)
            return
        if not session.authenticated and key not in UNAUTHENTICATED_ACTIONS:
            session.send(reply(message, "Error", message="Permission denied"))
            return
        action = self._actions.get(key)
        if action is None:
            session.send(
                reply(
                    message,
                    "Error",
                    message=f"Invalid/unknown command: {name}. "
                    "Use Action: ListCommands to show available commands.",
                )
            )
            return
        if session.user is not None and not session.user.can_write(action.privilege):
            session.send(reply(message, "Error", message="Permission denied"))
            return
        try:
            responses = list(action.handler(session, message))
        except Exception:
            log.exception("AMI action %s failed", name)
            responses = [reply(message, "Error", message=f"Internal error in {name}")]
        for response in responses:
            session.send(response)

    # ------------------------------------------------------------------ core actions
    def _register_core(self) -> None:
        self.register("Challenge", self._challenge, synopsis="Generate Challenge for MD5 Auth.")
        self.register("Logoff", self._logoff, synopsis="Logoff Manager.")
        self.register("Ping", self._ping, synopsis="Keepalive command.")
        self.register("Events", self._events, synopsis="Control Event Flow.")
        self.register("UserEvent", self._user_event, ("user",), "Send an arbitrary event.")
        self.register(
            "ListCommands", self._list_commands, synopsis="List available manager commands."
        )

    async def _login(self, session: AmiSession, message: AmiMessage) -> None:
        if session.authenticated:
            session.send(reply(message, "Success", message="Already authenticated"))
            return
        user = self.users.get((message.get("Username") or "").lower())
        if user is not None and self._secret_ok(user, session, message):
            session.user = user
            session.set_event_mask(message.get("Events"))
            session.send(reply(message, "Success", message="Authentication accepted"))
            log.info("AMI user %s logged in from %s", user.username, session.peer)
            if session.wants("system"):
                uptime = int(self.clock() - self.started_at)
                session.send(
                    AmiMessage.build(
                        ("Event", "FullyBooted"),
                        ("Privilege", "system,all"),
                        ("Uptime", uptime),
                        ("LastReload", uptime),
                        ("Status", "Fully Booted"),
                    )
                )
            return
        log.warning("AMI login failed for %r from %s", message.get("Username"), session.peer)
        # Asterisk delays the failure by a second to slow down guessing, then hangs up.
        await asyncio.sleep(self.auth_fail_delay)
        session.send(reply(message, "Error", message="Authentication failed"))
        session.close()

    @staticmethod
    def _secret_ok(user: AmiUser, session: AmiSession, message: AmiMessage) -> bool:
        if (message.get("AuthType") or "").lower() == "md5":
            key = message.get("Key") or ""
            if session.challenge is None:
                return False
            expected = hashlib.md5(
                (session.challenge + user.secret).encode(), usedforsecurity=False
            ).hexdigest()
            return hmac.compare_digest(expected, key.lower())
        return hmac.compare_digest(user.secret.encode(), (message.get("Secret") or "").encode())

    def _challenge(self, session: AmiSession, message: AmiMessage) -> list[AmiMessage]:
        if (message.get("AuthType") or "").lower() != "md5":
            return [reply(message, "Error", message="Must specify AuthType")]
        if session.challenge is None:
            session.challenge = str(secrets.randbelow(10**9))
        return [reply(message, "Success", ("Challenge", session.challenge))]

    def _logoff(self, session: AmiSession, message: AmiMessage) -> list[AmiMessage]:
        session.send(reply(message, "Goodbye", message="Thanks for all the fish."))
        session.close()
        return []

    def _ping(self, session: AmiSession, message: AmiMessage) -> list[AmiMessage]:
        now = self.clock()
        return [reply(message, "Success", ("Ping", "Pong"), ("Timestamp", f"{now:.6f}"))]

    def _events(self, session: AmiSession, message: AmiMessage) -> list[AmiMessage]:
        on = session.set_event_mask(message.get("EventMask"))
        return [reply(message, "Success", ("Events", "On" if on else "Off"))]

    def _user_event(self, session: AmiSession, message: AmiMessage) -> list[AmiMessage]:
        name = message.get("UserEvent")
        if not name:
            return [reply(message, "Error", message="UserEvent header missing")]
        skip = {"action", "actionid", "userevent"}
        body = [(k, v) for k, v in message.headers if k.lower() not in skip]
        self.publish(
            AmiMessage.build(
                ("Event", "UserEvent"), ("Privilege", "user,all"), ("UserEvent", name), *body
            ),
            "user",
        )
        return [reply(message, "Success", message="Event Sent")]

    def _list_commands(self, session: AmiSession, message: AmiMessage) -> list[AmiMessage]:
        pairs = [("Login", "Login Manager. (Priv: <none>)")]
        for action in sorted(self._actions.values(), key=lambda a: a.name.lower()):
            priv = ",".join(sorted(action.privilege)) or "<none>"
            pairs.append((action.name, f"{action.synopsis} (Priv: {priv})"))
        return [reply(message, "Success", *pairs)]
