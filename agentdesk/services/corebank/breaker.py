"""A circuit breaker: stop asking a core system that keeps failing, try again after a rest.

Closed: every call goes through; ``failure_threshold`` failures in a row open
it. Open: calls are refused at once (the caller serves last-known values)
until ``cool_down`` seconds have passed. Half-open: one probe goes through;
its success closes the breaker, its failure opens it for another cool-down.
Thread-safe: the server's route runs on a thread pool.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

State = Literal["closed", "open", "half-open"]


@dataclass(frozen=True)
class BreakerSettings:
    """How many failures in a row open the breaker, and how long it stays open."""

    failure_threshold: int = 5
    cool_down: float = 10.0

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError("failure_threshold must be 1 or more")
        if not 0 < self.cool_down <= 3600:
            raise ValueError("cool_down must be more than 0 and at most 3600 seconds")


class CircuitBreaker:
    """Counts consecutive failures of one dependency and decides whether to call it."""

    def __init__(
        self,
        settings: BreakerSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings or BreakerSettings()
        self._clock = clock
        self._lock = threading.Lock()
        self._state: State = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False

    @property
    def state(self) -> State:
        with self._lock:
            self._advance()
            return self._state

    @property
    def failures(self) -> int:
        """Failures in a row so far (reset by a success)."""
        return self._failures

    def allow(self) -> bool:
        """May a call go out now? In half-open state only one probe at a time may."""
        with self._lock:
            self._advance()
            if self._state == "closed":
                return True
            if self._state == "half-open" and not self._probing:
                self._probing = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self._state = "closed"
            self._failures = 0
            self._probing = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            self._probing = False
            if self._state == "half-open" or self._failures >= self.settings.failure_threshold:
                self._state = "open"
                self._opened_at = self._clock()

    def _advance(self) -> None:
        if self._state == "open" and self._clock() - self._opened_at >= self.settings.cool_down:
            self._state = "half-open"
            self._probing = False
