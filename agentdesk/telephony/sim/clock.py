"""Discrete-event scheduler for the simulator: scaled real time, or as fast as possible."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(order=True, slots=True)
class Timer:
    """A scheduled callback; ``cancel()`` makes the scheduler skip it."""

    when: float
    seq: int
    callback: Callable[..., object] = field(compare=False)
    args: tuple[object, ...] = field(compare=False, default=())
    cancelled: bool = field(compare=False, default=False)

    def cancel(self) -> None:
        self.cancelled = True


class Scheduler:
    """Simulated time in seconds since the start, plus a heap of timers.

    Two ways to drive it: :meth:`run_until` processes timers synchronously as
    fast as the CPU allows (statistics tests, benchmarks), and
    :meth:`attach` lets an asyncio loop run them in real time divided by
    ``time_scale`` (demos, desktop tests). ``epoch`` maps simulated time to
    the Unix time shown in Uniqueids, Timestamps and queue_log lines.
    """

    def __init__(self, *, epoch: float, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.epoch0 = epoch
        self.time_scale = time_scale
        self._now = 0.0
        self._heap: list[Timer] = []
        self._seq = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._real0 = 0.0
        self._handle: asyncio.TimerHandle | None = None
        self._armed_for: float | None = None
        self.processed = 0
        #: Called after every timer callback (the simulator flushes buffered events here).
        self.post_step: Callable[[], None] | None = None

    @property
    def now(self) -> float:
        """Current simulated time (advances with the loop clock when attached)."""
        if self._loop is not None:
            self._now = max(self._now, (self._loop.time() - self._real0) * self.time_scale)
        return self._now

    def epoch(self) -> float:
        """Unix time corresponding to :attr:`now`."""
        return self.epoch0 + self.now

    def at(self, when: float, callback: Callable[..., object], *args: object) -> Timer:
        timer = Timer(max(when, self._now), next(self._seq), callback, args)
        heapq.heappush(self._heap, timer)
        if self._loop is not None and (self._armed_for is None or timer.when < self._armed_for):
            self._arm()
        return timer

    def after(self, delay: float, callback: Callable[..., object], *args: object) -> Timer:
        return self.at(self.now + max(delay, 0.0), callback, *args)

    def pending(self) -> int:
        return len(self._heap)

    def run_until(self, until: float) -> None:
        """Process every timer due up to ``until`` synchronously, then set now to ``until``."""
        heap = self._heap
        while heap and heap[0].when <= until:
            timer = heapq.heappop(heap)
            if timer.cancelled:
                continue
            self._now = max(self._now, timer.when)
            self.processed += 1
            timer.callback(*timer.args)
            if self.post_step is not None:
                self.post_step()
        self._now = max(self._now, until)

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Run timers on ``loop`` in real time: simulated seconds = real seconds × time_scale."""
        self._loop = loop
        self._real0 = loop.time() - self._now / self.time_scale
        self._arm()

    def detach(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = None
        self._armed_for = None
        self._loop = None

    def _arm(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._armed_for = None
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)
        if self._loop is None or not self._heap:
            return
        when = self._heap[0].when
        self._armed_for = when
        self._handle = self._loop.call_at(self._real0 + when / self.time_scale, self._tick)

    def _tick(self) -> None:
        self._handle = None
        self._armed_for = None
        try:
            self.run_until(self.now)
        finally:
            # A failing step is reported by the loop's exception handler; the clock goes on.
            self._arm()
