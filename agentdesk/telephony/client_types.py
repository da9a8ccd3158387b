"""Values and errors of the AMI client: connection states, results, resync snapshots, backoff."""

from __future__ import annotations

import enum
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from agentdesk.telephony.codec import AmiMessage
from agentdesk.telephony.events import AmiEvent, CoreShowChannel, decode_all


class ConnectionState(enum.Enum):
    """Link state reported to ``on_state`` callbacks."""

    CONNECTING = "connecting"
    CONNECTED = "connected"  # logged in and resynced
    DISCONNECTED = "disconnected"
    RECONNECTING = "reconnecting"
    FAILED = "failed"  # login rejected; no retry
    CLOSED = "closed"  # closed by the application


class AmiError(Exception):
    """Base class of the client's errors."""


class AuthenticationError(AmiError):
    """The PBX rejected the login (wrong user or secret, or login refused)."""


class NotConnectedError(AmiError, ConnectionError):
    """An action was sent while the client is not logged in, or the link dropped meanwhile."""


class ActionTimeoutError(AmiError, TimeoutError):
    """No (complete) response arrived for an action in time."""


@dataclass(frozen=True, slots=True)
class ActionResult:
    """The response to one action, plus the list items for list actions (``EventList: start``)."""

    response: AmiMessage
    events: tuple[AmiMessage, ...] = ()

    @property
    def ok(self) -> bool:
        """True for ``Response: Success`` (and ``Goodbye`` for Logoff)."""
        return (self.response.response or "").lower() in ("success", "goodbye")

    @property
    def message(self) -> str:
        """The ``Message`` text, empty if none."""
        return self.response.get("Message") or ""

    def items(self, event: str | None = None) -> list[AmiMessage]:
        """List items (``*Complete`` excluded), optionally only those named ``event``."""
        return [
            m
            for m in self.events
            if not (m.event or "").endswith("Complete") and (event is None or m.event == event)
        ]

    def typed_items(self) -> list[AmiEvent]:
        """The list items (``*Complete`` excluded) as typed events."""
        return decode_all(self.items())


@dataclass(frozen=True, slots=True)
class ResyncSnapshot:
    """What the PBX reported right after a login: queues, members, callers, channels."""

    queue_status: tuple[AmiMessage, ...]  # QueueParams, QueueMember, QueueEntry events
    channels: tuple[AmiMessage, ...]  # CoreShowChannel events
    reconnect: bool  # False for the first login of this client

    def queue_events(self) -> list[AmiEvent]:
        """The ``QueueStatus`` rows as typed events (QueueParams, QueueMember, QueueEntry)."""
        return decode_all(self.queue_status)

    def channel_events(self) -> list[CoreShowChannel]:
        """The ``CoreShowChannels`` rows as typed events."""
        return [e for e in decode_all(self.channels) if isinstance(e, CoreShowChannel)]


EventCallback = Callable[[AmiMessage], Awaitable[None] | None]
TypedEventCallback = Callable[[AmiEvent], Awaitable[None] | None]
StateCallback = Callable[[ConnectionState, str | None], Awaitable[None] | None]
ResyncCallback = Callable[[ResyncSnapshot], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter: ``uniform(0, min(cap, base * 2**attempt))``."""

    base: float = 0.5
    cap: float = 30.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0.0, min(self.cap, self.base * (2 ** min(attempt, 30))))
