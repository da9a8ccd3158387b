"""The desktop's call feed: its agent's PBX events in, call requests out (``docs/cti.md``).

A *feed* is what the desk's :class:`~agentdesk.ui.pbx_link.PbxLink` wraps.
Two exist: :class:`ServerCallFeed` here, the production one, which receives
the agent's own events from the server's CTI gateway over the
``/api/v1/cti`` WebSocket and sends :mod:`call requests
<agentdesk.services.desk.call_requests>` with ``POST /api/v1/cti/requests``;
and :class:`~agentdesk.client.direct_pbx.DirectPbxFeed`, an AMI login of the
desktop's own for tests and labs without a server.

Both hand what arrives to a :class:`FeedSink` on their own background
thread, in order of arrival; the sink moves it to the GUI thread. Neither
raises to its caller for a refused or failed request: :meth:`CallFeed.request`
answers a :class:`CallResult` with a sentence for the agent.

The server is trusted but a bug there must not crash or confuse the desk: a
message that does not decode is logged (its type and what was wrong, never
its content: it carries callers' numbers and names) and skipped whole.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import TypeAdapter, ValidationError

from agentdesk.client.api import ServerApi, ServerRefused, ServerUnavailable, SessionEnded
from agentdesk.client.server_socket import ServerSocket
from agentdesk.services.crm.caller_match import CallerMatch
from agentdesk.services.desk.call_requests import (
    REQUEST,
    RESULT,
    CallRequest,
    CallResult,
    Hold,
    Pause,
)
from agentdesk.store.sync.backoff import Backoff
from agentdesk.store.sync.protocol import SyncError
from agentdesk.telephony.client_types import ConnectionState
from agentdesk.telephony.event_json import EventJsonError, from_json
from agentdesk.telephony.events import AmiEvent, CoreShowChannel
from agentdesk.telephony.loop_thread import LoopThread

log = logging.getLogger(__name__)

_MATCH = TypeAdapter(CallerMatch)

# The server's close codes (docs/cti.md): none of them is cured by reconnecting with the
# same session, so the feed waits for a new one (the idle lock's sign-in makes one).
CLOSE_SESSION_ENDED = 4401
CLOSE_NOT_AN_AGENT = 4403
CLOSE_TAKEN_OVER = 4409
_FINAL_CLOSES = {
    CLOSE_SESSION_ENDED: "your session at the server has ended: sign in again to receive calls",
    CLOSE_NOT_AN_AGENT: "the server has no phone line for this agent (ask an administrator "
    "to set the agent's interface)",
    CLOSE_TAKEN_OVER: "this agent is now receiving calls on another desktop",
}
# What the server's `link` states mean on the desk.
_LINK_STATES = {
    "connected": ConnectionState.CONNECTED,
    "disconnected": ConnectionState.DISCONNECTED,
    "reconnecting": ConnectionState.RECONNECTING,
    "failed": ConnectionState.FAILED,
}


class Resync(Protocol):
    """Fresh queue and call state after a (re)connect (``ResyncSnapshot`` has this shape)."""

    @property
    def reconnect(self) -> bool: ...

    def queue_events(self) -> list[AmiEvent]: ...

    def channel_events(self) -> list[CoreShowChannel]: ...


class FeedSink(Protocol):
    """Where a feed delivers, on the feed's own thread, in order of arrival."""

    def on_event(self, event: AmiEvent, arrived: float) -> None: ...

    def on_match(self, linkedid: str, match: CallerMatch) -> None: ...

    def on_resync(self, snapshot: Resync) -> None: ...

    def on_link(self, state: ConnectionState, detail: str) -> None: ...


class CallFeed(Protocol):
    """What the desk's PBX link needs from a transport (the server's gateway or a direct AMI)."""

    @property
    def where(self) -> str:
        """Where calls come from, for sentences: "the PBX at host:port"."""
        ...

    def start(self, sink: FeedSink) -> None:
        """Start receiving (returns at once; progress arrives as ``sink.on_link``)."""
        ...

    def stop(self, timeout: float = 3.0) -> None:
        """Stop receiving; waits at most about ``timeout`` seconds."""
        ...

    def request(self, request: CallRequest) -> CallResult:
        """Carry out ``request`` (blocking, any thread but the feed's); never raises."""
        ...


@dataclass(frozen=True)
class FeedResync:
    """A ``resync`` message from the server, already decoded into typed rows."""

    reconnect: bool
    queue: tuple[AmiEvent, ...]
    channels: tuple[CoreShowChannel, ...]
    # Sent because the desk asked about a call the server no longer holds for it (it missed
    # that call's end, e.g. while a server instance died): a correction, not a reconnect.
    corrects: bool = False

    def queue_events(self) -> list[AmiEvent]:
        return list(self.queue)

    def channel_events(self) -> list[CoreShowChannel]:
        return list(self.channels)


class BadMessage(ValueError):
    """A message from the server this build cannot use; ``str()`` holds no message content."""


class UnavailableFeed:
    """The feed of a desktop calls cannot reach (no server session, no AMI login): it says why.

    Nothing is received; every request is answered ``ok=False`` with ``reason``.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason

    @property
    def where(self) -> str:
        return "the PBX"

    def start(self, sink: FeedSink) -> None:
        log.warning("no call feed: %s", self.reason)

    def stop(self, timeout: float = 3.0) -> None:
        return None

    def request(self, request: CallRequest) -> CallResult:
        return CallResult(False, f"{_describe(request)} not sent: {self.reason}")


# ---------------------------------------------------------------------- decoding
def decode_message(
    text: str | bytes,
) -> tuple[str, Any]:
    """``(type, body)`` of one server message, ready for the sink; :class:`BadMessage` if not.

    ``body`` is ``(state, detail)`` for ``link``, a :class:`FeedResync` for ``resync``,
    ``(linkedid, CallerMatch)`` for ``match``, the typed event for ``event`` and None for
    ``heartbeat`` and for types this build does not know (the server may be newer).
    """
    try:
        message = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise BadMessage(f"not JSON ({len(text)} bytes)") from None
    if not isinstance(message, dict):
        raise BadMessage(f"a JSON {type(message).__name__}, not an object")
    kind = message.get("type")
    if not isinstance(kind, str):
        raise BadMessage("no type")
    if kind == "event":
        try:
            return kind, from_json(message.get("event"))
        except EventJsonError as exc:
            raise BadMessage(f"event: {exc}") from None
    if kind == "match":
        return kind, _decode_match(message)
    if kind == "resync":
        return kind, _decode_resync(message)
    if kind == "link":
        state = _LINK_STATES.get(str(message.get("state")))
        detail = message.get("detail", "")
        if state is None or not isinstance(detail, str):
            raise BadMessage("link: unknown state or detail not text")
        return kind, (state, detail)
    return kind, None


def _decode_match(message: dict[str, Any]) -> tuple[str, CallerMatch]:
    linkedid = message.get("linkedid")
    if not isinstance(linkedid, str) or not linkedid:
        raise BadMessage("match: no linkedid")
    try:
        match = _MATCH.validate_python(message.get("match"))
    except ValidationError as exc:
        # Never the error text: pydantic quotes the input (numbers, names).
        raise BadMessage(f"match: {exc.error_count()} field(s) wrong") from None
    return linkedid, match


def _decode_resync(message: dict[str, Any]) -> FeedResync:
    reconnect, queue, channels = (message.get(k) for k in ("reconnect", "queue", "channels"))
    if not isinstance(reconnect, bool) or not isinstance(queue, list):
        raise BadMessage("resync: reconnect or queue missing")
    if not isinstance(channels, list):
        raise BadMessage("resync: channels missing")
    try:
        rows = tuple(from_json(row) for row in queue)
        live = tuple(from_json(row) for row in channels)
    except EventJsonError as exc:
        # Whole or nothing: a channel left out would end a live call on the desk.
        raise BadMessage(f"resync: {exc}") from None
    if not all(isinstance(c, CoreShowChannel) for c in live):
        raise BadMessage("resync: a channels row is not a CoreShowChannel")
    channels_live = tuple(c for c in live if isinstance(c, CoreShowChannel))
    return FeedResync(reconnect, rows, channels_live, corrects=message.get("corrects") is True)


# ---------------------------------------------------------------------- requests
def post_request(api: ServerApi, request: CallRequest) -> CallResult:
    """``POST /cti/requests``; every failure becomes ``CallResult(ok=False, <sentence>)``."""
    what = _describe(request)
    try:
        data = api.request("POST", "/cti/requests", json=REQUEST.dump_python(request, mode="json"))
        return RESULT.validate_python(data)
    except SessionEnded:
        return CallResult(
            False, f"{what} not sent: your session at the server has ended; sign in again."
        )
    except ServerUnavailable as exc:
        return CallResult(False, f"{what} not sent: {_sentence(exc)}. Try again in a moment.")
    except ServerRefused as exc:
        if exc.status == 422:
            return CallResult(False, f"{what} not sent: the server could not read it ({exc}).")
        return CallResult(False, f"{what} refused: {_sentence(exc)}.")
    except SyncError as exc:
        return CallResult(False, f"{what} not sent: {_sentence(exc)}.")
    except (ValidationError, ValueError, TypeError):
        return CallResult(
            False,
            f"{what}: the server's answer could not be read; check whether it took effect.",
        )


_WHAT = {
    "answer": "Answer",
    "hangup": "Hang-up",
    "hold": "Hold",
    "transfer": "Transfer",
    "dial": "Call",
    "pause": "Pause",
    "join_queue": "Joining the queue",
    "leave_queue": "Leaving the queue",
}


def _describe(request: CallRequest) -> str:
    """A request's name for sentences ("Transfer not sent: …")."""
    if isinstance(request, Hold) and not request.on:
        return "Resume"
    if isinstance(request, Pause) and not request.paused:
        return "Unpause"
    return _WHAT.get(request.kind, "The request")


def _sentence(exc: BaseException) -> str:
    text = str(exc).strip().rstrip(".")
    return text or type(exc).__name__


# ---------------------------------------------------------------------- the feed
class ServerCallFeed(ServerSocket["FeedSink"]):
    """The agent's calls through ``agentdesk server``: a WebSocket in, HTTPS requests out.

    The socket reconnects with backoff and jitter after a drop, and is taken for dead
    after ``silence`` seconds with no message (the server sends a heartbeat every 20).
    A close the same session cannot cure (4401 session ended, 4403 no line, 4409
    another desktop took over) stops the reconnecting until the session changes
    (the idle lock signs in again and the API gets a new token).

    A ``link: connected`` is handed on after the ``resync`` that follows it, as a
    direct AMI login does: "connected" then means the desk knows the state too.
    """

    name = "CTI feed"
    final_closes = _FINAL_CLOSES
    closed_text = "the server closed the call feed"

    def __init__(
        self,
        api: ServerApi,
        client_id: Callable[[], uuid.UUID | None] | None = None,
        *,
        loop: LoopThread | None = None,
        backoff: Backoff | None = None,
        silence: float = 65.0,
        open_timeout: float = 5.0,
        session_poll: float = 1.0,
    ) -> None:
        super().__init__(
            api,
            loop or LoopThread("agentdesk-cti"),
            backoff=backoff,
            silence=silence,
            open_timeout=open_timeout,
            session_poll=session_poll,
        )
        self._client_id = client_id or (lambda: None)
        self._held: tuple[ConnectionState, str] | None = None  # "connected" awaiting resync
        self.resyncs = 0  # resyncs handed on since start (the first is not a reconnect)

    @property
    def where(self) -> str:
        return "the server's PBX link"

    @property
    def url(self) -> str:
        client_id = self._client_id()
        url = self.ws_base() + "/api/v1/cti"
        return url if client_id is None else f"{url}?client_id={client_id}"

    def request(self, request: CallRequest) -> CallResult:
        return post_request(self.api, request)

    # ------------------------------------------------------------------ the socket
    def _connecting(self, sink: FeedSink) -> None:
        sink.on_link(ConnectionState.CONNECTING, "connecting to the server")

    def _opened(self, sink: FeedSink) -> None:
        self._held = None

    def _lost(self, detail: str, ever_open: bool, sink: FeedSink) -> None:
        sink.on_link(
            ConnectionState.DISCONNECTED, f"lost the server ({detail})" if ever_open else detail
        )

    def _ended(self, final: str, sink: FeedSink) -> None:
        sink.on_link(ConnectionState.FAILED, final)

    def _message(self, text: str | bytes, arrived: float, sink: FeedSink) -> None:
        self._held = self._deliver(text, arrived, sink, self._held)

    def _deliver(
        self,
        text: str | bytes,
        arrived: float,
        sink: FeedSink,
        held: tuple[ConnectionState, str] | None,
    ) -> tuple[ConnectionState, str] | None:
        """Hand one message to the sink; returns the "connected" still waiting for a resync."""
        try:
            kind, body = decode_message(text)
        except BadMessage as exc:
            log.warning("CTI feed: a malformed message skipped (%s)", exc)
            return held
        if kind == "link":
            state, detail = body
            if state is ConnectionState.CONNECTED:
                return (state, detail)
            sink.on_link(state, detail)
            return None
        if kind == "resync":
            if self.resyncs and not body.reconnect:
                # A socket reconnect: for this desk it is a reconnect whatever the server says
                # (a correction too: it must not join queues the agent has left).
                body = FeedResync(True, body.queue, body.channels, corrects=body.corrects)
            self.resyncs += 1
            sink.on_resync(body)
            if held is not None:
                sink.on_link(*held)
            return None
        if held is not None:  # connected but no resync came first: do not lose the state
            sink.on_link(*held)
            held = None
        if kind == "event":
            sink.on_event(body, arrived)
        elif kind == "match":
            sink.on_match(*body)
        elif kind != "heartbeat":
            log.debug("CTI feed: message type %r ignored", kind[:40])
        return held


__all__ = [
    "BadMessage",
    "CallFeed",
    "FeedResync",
    "FeedSink",
    "Resync",
    "ServerCallFeed",
    "UnavailableFeed",
    "decode_message",
    "post_request",
]
