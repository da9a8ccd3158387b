"""Incremental wallboard figures: ``LiveQueueMetrics`` over a per-minute window and the day.

Feeds each record to a ``QueueLogInterpreter`` whose sink keeps running
totals for the current local day and minute buckets for the last hour;
reads add the agents' open state time up to ``now``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from agentdesk.services.supervisor.queue_interpreter import (
    AgentSnapshot,
    MetricsSink,
    QueueLogInterpreter,
)
from agentdesk.services.supervisor.queue_log import QueueLogRecord
from agentdesk.services.supervisor.queue_metrics import (
    AGENT_LEVEL,
    ALL_AGENTS,
    AgentActivity,
    Counters,
    MetricsConfig,
    MetricsRow,
    bucket_of,
    local_midnight,
    make_row,
    rollup,
    rollup_by_queue,
)

_Cells = dict[tuple[str, str], Counters]


def _cell(cells: _Cells, queue: str, agent: str) -> Counters:
    found = cells.get((queue, agent))
    if found is None:
        found = cells[(queue, agent)] = Counters()
    return found


class _ClipSink:
    """Collects everything at or after ``start`` into one cell per (queue, agent), unbucketed.

    Used for agents' open segments at read time: a handful of additions per agent.
    """

    def __init__(self, start: float, *, sum_agents: bool = False) -> None:
        self.start = start
        self.cells: _Cells = {}
        self.sum_agents = sum_agents  # keep per-queue cells only

    def add_call(self, at: float, queue: str, agent: str, values: Mapping[str, float]) -> None:
        if at >= self.start:
            agent = ALL_AGENTS if self.sum_agents else agent
            _cell(self.cells, queue, agent).add_values(values)

    def add_time(
        self, start: float, end: float, queue: str, agent: str, activity: AgentActivity, reason: str
    ) -> None:
        start = max(start, self.start)
        if start < end:
            agent = ALL_AGENTS if self.sum_agents else agent
            _cell(self.cells, queue, agent).add_activity(activity, reason, end - start)


class _WindowSink:
    """Live sink: running totals for the current local day plus minute buckets for the window."""

    def __init__(self, tz: tzinfo, bucket_s: int, window_s: int) -> None:
        self.tz = tz
        self.bucket_s = bucket_s
        self.window_s = window_s
        self.day: _Cells = {}
        self.day_by_queue: _Cells = {}  # the same, agents summed: cheap wallboard reads
        self.recent: dict[int, _Cells] = {}  # bucket start -> cells; at most window/bucket + 1
        self.day_start = -math.inf
        self.day_end = -math.inf
        self.newest = -math.inf
        self.horizon = -math.inf  # first bucket still kept

    def observe(self, t: float) -> None:
        """Advance the clock: roll the day over at midnight, drop buckets older than the window."""
        if t <= self.newest:
            return
        self.newest = t
        if t >= self.day_end:
            self.day_start = local_midnight(t, self.tz)
            self.day_end = local_midnight(self.day_start + 26 * 3600, self.tz)
            self.day.clear()
            self.day_by_queue.clear()
        horizon = bucket_of(t - self.window_s, self.bucket_s)
        if horizon > self.horizon:
            self.horizon = horizon
            for bucket in [b for b in self.recent if b < horizon]:
                del self.recent[bucket]

    def _recent(self, bucket: int) -> _Cells:
        cells = self.recent.get(bucket)
        if cells is None:
            cells = self.recent[bucket] = {}
        return cells

    def add_call(self, at: float, queue: str, agent: str, values: Mapping[str, float]) -> None:
        if at >= self.day_start:
            _cell(self.day, queue, agent).add_values(values)
            _cell(self.day_by_queue, queue, ALL_AGENTS).add_values(values)
        bucket = bucket_of(at, self.bucket_s)
        if bucket >= self.horizon:  # windows keep one cell per queue, agents summed
            _cell(self._recent(bucket), queue, ALL_AGENTS).add_values(values)

    def add_time(
        self, start: float, end: float, queue: str, agent: str, activity: AgentActivity, reason: str
    ) -> None:
        day_part = max(start, self.day_start)
        if day_part < end:
            seconds = end - day_part
            _cell(self.day, queue, agent).add_activity(activity, reason, seconds)
            _cell(self.day_by_queue, queue, ALL_AGENTS).add_activity(activity, reason, seconds)
        t = max(start, self.horizon)
        while t < end:
            bucket = bucket_of(t, self.bucket_s)
            stop = min(end, bucket + self.bucket_s)
            _cell(self._recent(bucket), queue, ALL_AGENTS).add_activity(activity, reason, stop - t)
            t = stop

    def since(self, first_bucket: int) -> Iterable[tuple[tuple[int, str, str], Counters]]:
        for bucket, cells in self.recent.items():
            if bucket >= first_bucket:
                for (queue, agent), cell in cells.items():
                    yield (bucket, queue, agent), cell


class _FanOut:
    """Passes every fact to several sinks (one open-segment pass, many windows)."""

    def __init__(self, sinks: Sequence[MetricsSink]) -> None:
        self.sinks = sinks

    def add_call(self, at: float, queue: str, agent: str, values: Mapping[str, float]) -> None:
        for sink in self.sinks:
            sink.add_call(at, queue, agent, values)

    def add_time(
        self, start: float, end: float, queue: str, agent: str, activity: AgentActivity, reason: str
    ) -> None:
        for sink in self.sinks:
            sink.add_time(start, end, queue, agent, activity, reason)


@dataclass(frozen=True)
class LiveSnapshot:
    """What a wallboard shows at one instant, computed in one pass.

    ``today[queue]`` and ``windows[minutes][queue]`` are rows per queue, with
    all queues together under ``""``; ``waiting[queue]`` is (calls waiting,
    longest wait in seconds), also with ``""`` for all.
    """

    at: datetime
    definition: str
    today: Mapping[str, MetricsRow]
    windows: Mapping[int, Mapping[str, MetricsRow]]
    waiting: Mapping[str, tuple[int, float]]
    agents: tuple[AgentSnapshot, ...]


class LiveQueueMetrics:
    """Incremental wallboard figures: feed records as they happen, read today / last N minutes.

    ``feed`` costs O(1) per record (plus the agent's queues and the minutes
    since its last event); ``today`` sums one cell per queue and agent;
    ``last(minutes)`` sums one cell per queue and minute of the window (the
    window keeps queues and totals, not agents: per agent use ``today`` and
    ``agents``). Closed call facts and state time are exact to the minute
    bucket; the agents' open state time is added exactly up to ``now``.
    """

    def __init__(
        self, config: MetricsConfig | None = None, *, window_s: int = 3600, bucket_s: int = 60
    ) -> None:
        self.config = config or MetricsConfig()
        self._sink = _WindowSink(self.config.tz, bucket_s, window_s)
        self._interpreter = QueueLogInterpreter(self.config, self._sink)

    def feed(self, record: QueueLogRecord) -> None:
        self._sink.observe(record.timestamp)
        self._interpreter.feed(record)

    def _now(self, now: float | None) -> float:
        if now is None:
            now = self._sink.newest if math.isfinite(self._sink.newest) else 0.0
        self._sink.observe(now)
        return now

    def today(
        self, queue: str | None = None, agent: str | None = None, now: float | None = None
    ) -> MetricsRow:
        now = self._now(now)
        open_time = _ClipSink(self._sink.day_start)
        self._interpreter.emit_open(now, open_time)
        cells = [
            ((0, q, a), c) for (q, a), c in (*self._sink.day.items(), *open_time.cells.items())
        ]
        start = datetime.fromtimestamp(self._sink.day_start, self.config.tz)
        return self._row(cells, queue, agent, start, datetime.fromtimestamp(now, self.config.tz))

    def last(self, minutes: int, queue: str | None = None, now: float | None = None) -> MetricsRow:
        """Figures for calls that entered in the last ``minutes`` and state time in them."""
        now = self._now(now)
        if minutes * 60 > self._sink.window_s:
            raise ValueError(f"the live window holds {self._sink.window_s // 60} minutes")
        start = now - minutes * 60
        first = bucket_of(start, self._sink.bucket_s)
        open_time = _ClipSink(first)
        self._interpreter.emit_open(now, open_time)
        cells = list(self._sink.since(first))
        cells += [((first, q, ALL_AGENTS), c) for (q, a), c in open_time.cells.items()]
        begin = datetime.fromtimestamp(start, self.config.tz)
        return self._row(cells, queue, None, begin, datetime.fromtimestamp(now, self.config.tz))

    def _row(
        self,
        cells: list[tuple[tuple[int, str, str], Counters]],
        queue: str | None,
        agent: str | None,
        start: datetime,
        end: datetime,
    ) -> MetricsRow:
        total = rollup(cells, queue=queue, agent=agent)
        definition = self.config.service_level
        return make_row(
            total, definition, start=start, end=end, queue=queue or "", agent=agent or ""
        )

    def snapshot(
        self, now: float | None = None, windows: Sequence[int] = (15, 30, 60)
    ) -> LiveSnapshot:
        """Today and each window for every queue and in total, waiting calls and agent states."""
        now = self._now(now)
        if any(m * 60 > self._sink.window_s for m in windows):
            raise ValueError(f"the live window holds {self._sink.window_s // 60} minutes")
        firsts = {m: bucket_of(now - m * 60, self._sink.bucket_s) for m in windows}
        day_open = _ClipSink(self._sink.day_start, sum_agents=True)
        window_open = {m: _ClipSink(first, sum_agents=True) for m, first in firsts.items()}
        self._interpreter.emit_open(now, _FanOut([day_open, *window_open.values()]))
        tz, definition = self.config.tz, self.config.service_level
        end = datetime.fromtimestamp(now, tz)

        def rows(
            cells: Iterable[tuple[tuple[int, str, str], Counters]], start: float
        ) -> dict[str, MetricsRow]:
            begin = datetime.fromtimestamp(start, tz)
            return {
                q: make_row(c, definition, start=begin, end=end, queue=q)
                for q, c in rollup_by_queue(cells).items()
            }

        day_cells = [
            ((0, q, a), c)
            for (q, a), c in (*self._sink.day_by_queue.items(), *day_open.cells.items())
        ]
        by_window = {}
        for m, first in firsts.items():
            opened = [((first, q, ALL_AGENTS), c) for (q, _), c in window_open[m].cells.items()]
            by_window[m] = rows([*self._sink.since(first), *opened], now - m * 60)
        waiting = {q: self._interpreter.waiting(now, q) for q in self.queues()}
        waiting[""] = self._interpreter.waiting(now, None)
        return LiveSnapshot(
            at=end,
            definition=definition.describe(),
            today=rows(day_cells, self._sink.day_start),
            windows=by_window,
            waiting=waiting,
            agents=self._interpreter.agent_snapshots(now),
        )

    def waiting(self, queue: str | None = None, now: float | None = None) -> tuple[int, float]:
        """Calls waiting now and the longest current wait in seconds."""
        return self._interpreter.waiting(self._now(now), queue)

    def agents(self, now: float | None = None) -> tuple[AgentSnapshot, ...]:
        return self._interpreter.agent_snapshots(self._now(now))

    def queues(self) -> tuple[str, ...]:
        names = {q for q, _ in self._sink.day}
        names.update(q for cells in self._sink.recent.values() for q, _ in cells)
        return tuple(sorted(names - {AGENT_LEVEL}))
