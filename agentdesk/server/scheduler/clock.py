"""The scheduler's notion of now: the wall clock in production, a hand-moved one in tests."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

from agentdesk.models import utcnow

Clock = Callable[[], dt.datetime]

system_clock: Clock = utcnow


class ManualClock:
    """A clock that stands still until moved (time-travel tests, bench runs)."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self._lock:
            return self._now

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        with self._lock:
            self._now += delta
            return self._now

    def set(self, when: dt.datetime) -> None:
        with self._lock:
            self._now = when
