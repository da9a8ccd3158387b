"""Exponential backoff with full jitter (sleep = random(0, min(cap, base * 2**attempt)))."""

from __future__ import annotations

import random


class Backoff:
    """Delays for retrying a failing operation; ``reset`` after a success.

    Full jitter spreads the retries of many desktops reconnecting to a
    restarted server instead of having them all knock at the same instant.
    """

    def __init__(
        self, base: float = 0.25, cap: float = 30.0, rng: random.Random | None = None
    ) -> None:
        if base <= 0 or cap < base:
            raise ValueError("backoff needs 0 < base <= cap")
        self.base = base
        self.cap = cap
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.base * 2 ** min(self.attempt, 30))
        self.attempt += 1
        return self._rng.uniform(0, ceiling)

    def reset(self) -> None:
        self.attempt = 0
