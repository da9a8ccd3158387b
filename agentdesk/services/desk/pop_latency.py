"""Ring → pop-painted latency: one figure per call, percentiles for the status bar and bench."""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class LatencySummary:
    count: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    last_ms: float

    def describe(self) -> str:
        if not self.count:
            return "no calls yet"
        return (
            f"last {self.last_ms:.1f} ms · p50 {self.p50_ms:.1f} · p95 {self.p95_ms:.1f} · "
            f"p99 {self.p99_ms:.1f} ms over {self.count} calls"
        )


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


class PopLatencyRecorder:
    """Keeps the last ``capacity`` ring→paint figures (bounded memory, thread-safe)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._values: deque[float] = deque(maxlen=capacity)
        self._by_call: dict[str, float] = {}
        self._lock = threading.Lock()

    def record(self, linkedid: str, ms: float) -> None:
        with self._lock:
            self._values.append(ms)
            self._by_call[linkedid] = ms
            if len(self._by_call) > self._values.maxlen:  # type: ignore[operator]
                self._by_call.pop(next(iter(self._by_call)))

    def for_call(self, linkedid: str) -> float | None:
        with self._lock:
            return self._by_call.get(linkedid)

    def values(self) -> list[float]:
        with self._lock:
            return list(self._values)

    def summary(self) -> LatencySummary:
        values = self.values()
        ordered = sorted(values)
        return LatencySummary(
            len(values),
            percentile(ordered, 50),
            percentile(ordered, 95),
            percentile(ordered, 99),
            ordered[-1] if ordered else 0.0,
            values[-1] if values else 0.0,
        )
