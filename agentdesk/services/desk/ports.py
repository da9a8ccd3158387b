"""What the desk session needs from the outside world, as small ports.

The session holds no thread, no timer and no socket of its own: the Qt adapter
plugs in QTimers, the bridge's worker lanes and the PBX link; tests plug in a
hand-cranked clock and an inline runner, so nothing sleeps and nothing needs Qt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol

from agentdesk.services.desk.call_requests import CallRequest, CallResult

Lane = Literal["local", "central"]


class TimerHandle(Protocol):
    def cancel(self) -> None:
        """Stop the timer; its callback will not run."""


class Clock(Protocol):
    """Time and single-shot timers (wall-clock seconds)."""

    def now(self) -> float:
        """Wall-clock seconds (``time.time()``)."""

    def start(self, seconds: float, callback: Callable[[], None]) -> TimerHandle:
        """Run ``callback`` once after ``seconds``, on the session's thread."""


class Runner(Protocol):
    """Runs blocking work (database, HTTP) off the session's thread; callbacks come back on it."""

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        lane: Lane = "local",
    ) -> Any:
        """Run ``fn(*args)`` on ``lane``; report its result or its exception."""


#: Sends a call request to the PBX (through the server, or a direct link in a lab).
SendRequest = Callable[[CallRequest, Callable[[CallResult], None]], None]
