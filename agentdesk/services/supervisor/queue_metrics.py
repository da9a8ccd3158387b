"""Contact-center metrics from queue_log records: definitions, counters and display rows.

Pure Python (no Qt, no database), shared by ``agentdesk report``, the
supervisor wallboard and the tests. The package is split by responsibility:

- this module: what the figures mean (``ServiceLevelDefinition``,
  ``MetricsConfig``), the additive ``Counters`` of one cell, the batch
  ``CellStore``, the rollups and ``make_row`` that turns sums into a
  ``MetricsRow``;
- :mod:`agentdesk.services.supervisor.queue_interpreter`: ``QueueLogInterpreter``, which
  reads records and writes call facts and agent state time to a sink;
- :mod:`agentdesk.services.supervisor.queue_live`: ``LiveQueueMetrics``, the incremental
  wallboard view.

``QueueLogInterpreter``, ``LiveQueueMetrics`` and their value types stay
importable from here, as before the split.

Definitions
- **Offered** = ENTERQUEUE. **Answered** = CONNECT (wait = its holdtime).
  **Abandoned** = ABANDON (wait = waittime); a *short abandon* waited less
  than ``ServiceLevelDefinition.short_abandon_s``. **Flowed out** =
  EXITWITHTIMEOUT, EXITWITHKEY, EXITEMPTY, WITHDRAW (left the queue unanswered
  without hanging up; WITHDRAW is a ``QueueWithdrawCaller`` request).
  **Withdrawn** = WITHDRAW alone, shown beside the abandons.
- **AHT** = (talk + wrap-up) ÷ handled. Talk is the ``calltime`` of
  COMPLETECALLER/COMPLETEAGENT/TRANSFER/BLINDTRANSFER/ATTENDEDTRANSFER; it
  *includes hold* (queue_log has no hold events, Asterisk counts the whole
  bridge). Wrap-up is not in queue_log: it is known only when configured,
  either as Asterisk's per-queue ``wrapuptime`` (``MetricsConfig.wrapup_s``)
  or as pauses with an after-call-work reason (``acw_pause_reasons``).
- **Occupancy** = (talk + ACW) ÷ (talk + ACW + idle).

Batch use: ``QueueLogInterpreter`` into a ``CellStore`` (see
``agentdesk.services.supervisor.reports``). Live use: ``LiveQueueMetrics.feed`` each
record, then ``snapshot()`` for a wallboard, or ``today()``/``last()``.
"""

from __future__ import annotations

import importlib
import math
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from agentdesk.services.supervisor.queue_interpreter import AgentSnapshot as AgentSnapshot
    from agentdesk.services.supervisor.queue_interpreter import MetricsSink as MetricsSink
    from agentdesk.services.supervisor.queue_interpreter import (
        QueueLogInterpreter as QueueLogInterpreter,
    )
    from agentdesk.services.supervisor.queue_live import LiveQueueMetrics as LiveQueueMetrics
    from agentdesk.services.supervisor.queue_live import LiveSnapshot as LiveSnapshot

AGENT_LEVEL = ""  # queue key of agent-level state time
ALL_AGENTS = "*"  # agent key of the live window's per-queue cells
NO_AGENT = ""  # agent key of queue-level call facts (offered, abandoned …)
K = TypeVar("K")


@dataclass(frozen=True)
class ServiceLevelDefinition:
    """Which calls count for "X % answered within T s", and how short abandons are treated.

    SL = answered within ``threshold_s`` ÷ (answered
    [+ abandoned if ``count_abandons``, minus short abandons if ``exclude_short_abandons``]
    [+ flowed out if ``count_flowouts``]). Abandonment rate = abandoned ÷ offered,
    both minus short abandons when they are excluded.
    """

    threshold_s: float = 20.0
    short_abandon_s: float = 5.0
    count_abandons: bool = True
    exclude_short_abandons: bool = True
    count_flowouts: bool = False
    target: float = 0.8

    def __post_init__(self) -> None:
        for name in ("threshold_s", "short_abandon_s"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value}")
        if not 0.0 <= self.target <= 1.0:
            raise ValueError(f"target must be in [0, 1], got {self.target}")

    def describe(self) -> str:
        """One line for screens and report headers."""
        parts = ["answered"]
        if self.count_abandons:
            abandons = "abandoned"
            if self.exclude_short_abandons and self.short_abandon_s > 0:
                abandons += f" (except under {self.short_abandon_s:g} s)"
            parts.append(abandons)
        if self.count_flowouts:
            parts.append("timed out / left by key / exit empty")
        return (
            f"Service level {self.target:.0%}/{self.threshold_s:g} s: answered within "
            f"{self.threshold_s:g} s ÷ ({' + '.join(parts)})"
        )

    def is_short_abandon(self, wait_s: float) -> bool:
        return wait_s < self.short_abandon_s


@dataclass(frozen=True)
class MetricsConfig:
    """The service-level definition plus what queue_log cannot know (wrap-up, time zone)."""

    service_level: ServiceLevelDefinition = field(default_factory=ServiceLevelDefinition)
    wrapup_s: Mapping[str, float] = field(default_factory=dict)  # queue -> Asterisk wrapuptime
    acw_pause_reasons: frozenset[str] = frozenset({"acw", "wrap-up", "wrapup", "after call work"})
    tz: tzinfo = UTC

    def is_acw_reason(self, reason: str) -> bool:
        return reason.strip().lower() in self.acw_pause_reasons


class AgentActivity(StrEnum):
    """What a logged-in agent is doing at an instant (priority order)."""

    TALK = "talk"
    ACW = "acw"
    PAUSED = "paused"
    IDLE = "idle"


CALL_FIELDS = (
    "offered", "answered", "answered_within", "abandoned", "short_abandoned", "flowed_out",
    "withdrawn", "transfers", "ring_no_answers", "handled", "wait_answered_s",
    "wait_abandoned_s", "talk_s", "wrapup_s", "timed_out", "exit_empty", "exit_key",
    "completed_caller", "completed_agent", "ring_cancelled", "presented",
)  # fmt: skip
# Upper edges (seconds, inclusive) of the wait-time distribution's bins; a last bin holds the
# rest. 10, 20, 30 and 60 are edges, so the service level at each comes from the bins.
WAIT_EDGES: tuple[float, ...] = (5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300)
SL_THRESHOLDS: tuple[float, ...] = (10, 20, 30, 60)


def wait_bin(wait_s: float) -> int:
    """Index of the distribution bin holding a wait (0 for ≤ 5 s … len(WAIT_EDGES) beyond 300 s)."""
    return bisect_left(WAIT_EDGES, wait_s)


def wait_bin_labels() -> tuple[str, ...]:
    """Display labels of the distribution bins: "0–5 s", "5–10 s", … "> 300 s"."""
    lows = (0.0, *WAIT_EDGES)
    labels = [f"{lo:g}–{hi:g} s" for lo, hi in zip(lows, WAIT_EDGES, strict=False)]
    return (*labels, f"> {WAIT_EDGES[-1]:g} s")


TIME_FIELDS = ("busy_s", "acw_s", "idle_s", "paused_s")
_ACTIVITY_FIELD = {
    AgentActivity.TALK: "busy_s",
    AgentActivity.ACW: "acw_s",
    AgentActivity.PAUSED: "paused_s",
    AgentActivity.IDLE: "idle_s",
}


@dataclass(slots=True)
class Counters:
    """Additive figures of one cell (bucket × queue × agent); cells combine by summing."""

    offered: float = 0.0
    answered: float = 0.0
    answered_within: float = 0.0
    abandoned: float = 0.0
    short_abandoned: float = 0.0
    flowed_out: float = 0.0
    withdrawn: float = 0.0  # of flowed_out: taken out by QueueWithdrawCaller (WITHDRAW)
    transfers: float = 0.0
    ring_no_answers: float = 0.0
    handled: float = 0.0
    wait_answered_s: float = 0.0
    wait_abandoned_s: float = 0.0
    talk_s: float = 0.0
    wrapup_s: float = 0.0
    busy_s: float = 0.0
    acw_s: float = 0.0
    idle_s: float = 0.0
    paused_s: float = 0.0
    max_wait_s: float = 0.0
    pause_reasons: dict[str, float] = field(default_factory=dict)
    # Why unanswered calls left (of flowed_out), how answered ones ended, agents' rings.
    timed_out: float = 0.0  # EXITWITHTIMEOUT
    exit_empty: float = 0.0  # EXITEMPTY: no member could take calls
    exit_key: float = 0.0  # EXITWITHKEY: the caller pressed a key to leave
    completed_caller: float = 0.0  # COMPLETECALLER: the caller hung up
    completed_agent: float = 0.0  # COMPLETEAGENT: the agent hung up
    ring_cancelled: float = 0.0  # RINGCANCELED: the caller left while the agent's phone rang
    presented: float = 0.0  # rings at an agent: answered + ring-no-answer + ring-cancelled
    # Waits of answered and of abandoned calls by ``wait_bin`` (sparse: bin -> calls).
    answered_waits: dict[int, float] = field(default_factory=dict)
    abandoned_waits: dict[int, float] = field(default_factory=dict)
    # Pauses started per reason (the time in each is ``pause_reasons``).
    pause_counts: dict[str, float] = field(default_factory=dict)
    # True for a cell of an agent's own call facts, counted when the agent connected
    # (``CellStore.add_agent_call``); queue figures never read those.
    agent_facts: bool = False

    def add(self, name: str, value: float) -> None:
        setattr(self, name, getattr(self, name) + value)

    def add_values(self, values: Mapping[str, float]) -> None:
        for name, value in values.items():
            if name == "max_wait_s":
                self.max_wait_s = max(self.max_wait_s, value)
            elif name == "wait_answered_s":
                self.wait_answered_s += value
                index = wait_bin(value)
                self.answered_waits[index] = self.answered_waits.get(index, 0.0) + 1
            elif name == "wait_abandoned_s":
                self.wait_abandoned_s += value
                index = wait_bin(value)
                self.abandoned_waits[index] = self.abandoned_waits.get(index, 0.0) + 1
            else:
                setattr(self, name, getattr(self, name) + value)

    def count_pause(self, reason: str) -> None:
        self.pause_counts[reason] = self.pause_counts.get(reason, 0.0) + 1

    def add_activity(self, activity: AgentActivity, reason: str, seconds: float) -> None:
        # Spelled out: the interpreter calls this for every agent and queue on every change.
        if activity is AgentActivity.IDLE:
            self.idle_s += seconds
        elif activity is AgentActivity.TALK:
            self.busy_s += seconds
        elif activity is AgentActivity.ACW:
            self.acw_s += seconds
        else:
            self.paused_s += seconds
            self.pause_reasons[reason] = self.pause_reasons.get(reason, 0.0) + seconds

    def merge_calls(self, other: Counters) -> None:
        # Spelled out rather than a getattr loop: rollups run this per cell, often.
        self.offered += other.offered
        self.answered += other.answered
        self.answered_within += other.answered_within
        self.abandoned += other.abandoned
        self.short_abandoned += other.short_abandoned
        self.flowed_out += other.flowed_out
        self.withdrawn += other.withdrawn
        self.transfers += other.transfers
        self.ring_no_answers += other.ring_no_answers
        self.handled += other.handled
        self.wait_answered_s += other.wait_answered_s
        self.wait_abandoned_s += other.wait_abandoned_s
        self.talk_s += other.talk_s
        self.wrapup_s += other.wrapup_s
        self.max_wait_s = max(self.max_wait_s, other.max_wait_s)
        self.timed_out += other.timed_out
        self.exit_empty += other.exit_empty
        self.exit_key += other.exit_key
        self.completed_caller += other.completed_caller
        self.completed_agent += other.completed_agent
        self.ring_cancelled += other.ring_cancelled
        self.presented += other.presented
        if other.answered_waits:
            _merge(self.answered_waits, other.answered_waits)
        if other.abandoned_waits:
            _merge(self.abandoned_waits, other.abandoned_waits)

    def merge_time(self, other: Counters) -> None:
        self.busy_s += other.busy_s
        self.acw_s += other.acw_s
        self.idle_s += other.idle_s
        self.paused_s += other.paused_s
        if other.pause_reasons:
            _merge(self.pause_reasons, other.pause_reasons)
        if other.pause_counts:
            _merge(self.pause_counts, other.pause_counts)


def _merge(into: dict[K, float], other: Mapping[K, float]) -> None:
    for key, value in other.items():
        into[key] = into.get(key, 0.0) + value


@dataclass(frozen=True, slots=True)
class MetricsRow:
    """Figures for one interval and one queue or agent ("" = all), ready to display."""

    start: datetime | None
    end: datetime | None
    queue: str
    agent: str
    offered: int
    answered: int
    answered_within: int
    abandoned: int
    short_abandoned: int
    flowed_out: int
    transfers: int
    ring_no_answers: int
    handled: int
    service_level: float | None
    asa_s: float | None
    aht_s: float | None
    talk_s: float
    wrapup_s: float
    abandon_rate: float | None
    max_wait_s: float
    logged_in_s: float
    busy_s: float
    acw_s: float
    idle_s: float
    paused_s: float
    occupancy: float | None
    staffed_agents: float | None
    pause_by_reason: tuple[tuple[str, float], ...]
    withdrawn: int = 0  # of flowed_out: withdrawn from the queue on request, never abandons
    timed_out: int = 0  # of flowed_out: EXITWITHTIMEOUT
    exit_empty: int = 0  # of flowed_out: EXITEMPTY
    exit_key: int = 0  # of flowed_out: EXITWITHKEY
    completed_by_caller: int = 0
    completed_by_agent: int = 0
    ring_cancelled: int = 0
    presented: int = 0
    aht_talk_s: float | None = None  # AHT without wrap-up: talk ÷ handled
    # (threshold s, service level under the same definition) for each of SL_THRESHOLDS
    sl_at: tuple[tuple[float, float | None], ...] = ()
    wait_distribution: tuple[int, ...] = ()  # answered calls per WAIT_EDGES bin
    abandon_distribution: tuple[int, ...] = ()  # abandoned calls per WAIT_EDGES bin
    pause_counts: tuple[tuple[str, int], ...] = ()  # pauses started per reason


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def make_row(
    cell: Counters,
    definition: ServiceLevelDefinition,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    queue: str = "",
    agent: str = "",
) -> MetricsRow:
    """Turn summed counters into rates, ratios and averages under ``definition``."""
    short = cell.short_abandoned if definition.exclude_short_abandons else 0.0
    bins = len(WAIT_EDGES) + 1
    answered_bins = [int(cell.answered_waits.get(i, 0.0)) for i in range(bins)]
    abandoned_bins = [int(cell.abandoned_waits.get(i, 0.0)) for i in range(bins)]
    abandoned = cell.abandoned - short
    denominator = cell.answered + (abandoned if definition.count_abandons else 0.0)
    denominator += cell.flowed_out if definition.count_flowouts else 0.0
    logged_in = cell.busy_s + cell.acw_s + cell.idle_s + cell.paused_s
    # Timestamps, not datetime subtraction: same-zone aware datetimes subtract as wall clock
    # and would give a 23-hour DST day 24 hours.
    span = end.timestamp() - start.timestamp() if start and end else 0.0
    return MetricsRow(
        start=start, end=end, queue=queue, agent=agent,
        offered=int(cell.offered), answered=int(cell.answered),
        answered_within=int(cell.answered_within), abandoned=int(cell.abandoned),
        short_abandoned=int(cell.short_abandoned), flowed_out=int(cell.flowed_out),
        transfers=int(cell.transfers), ring_no_answers=int(cell.ring_no_answers),
        handled=int(cell.handled),
        service_level=_ratio(cell.answered_within, denominator),
        asa_s=_ratio(cell.wait_answered_s, cell.answered),
        aht_s=_ratio(cell.talk_s + cell.wrapup_s, cell.handled),
        talk_s=cell.talk_s, wrapup_s=cell.wrapup_s,
        abandon_rate=_ratio(abandoned, cell.offered - short),
        max_wait_s=cell.max_wait_s, logged_in_s=logged_in, busy_s=cell.busy_s,
        acw_s=cell.acw_s, idle_s=cell.idle_s, paused_s=cell.paused_s,
        occupancy=_ratio(cell.busy_s + cell.acw_s, cell.busy_s + cell.acw_s + cell.idle_s),
        staffed_agents=_ratio(logged_in, span),
        pause_by_reason=tuple(sorted(cell.pause_reasons.items())),
        withdrawn=int(cell.withdrawn), timed_out=int(cell.timed_out),
        exit_empty=int(cell.exit_empty), exit_key=int(cell.exit_key),
        completed_by_caller=int(cell.completed_caller),
        completed_by_agent=int(cell.completed_agent),
        ring_cancelled=int(cell.ring_cancelled), presented=int(cell.presented),
        aht_talk_s=_ratio(cell.talk_s, cell.handled),
        sl_at=tuple(
            (t, _ratio(sum(answered_bins[: WAIT_EDGES.index(t) + 1]), denominator))
            for t in SL_THRESHOLDS
        ),
        wait_distribution=tuple(answered_bins), abandon_distribution=tuple(abandoned_bins),
        pause_counts=tuple(sorted((r, int(n)) for r, n in cell.pause_counts.items())),
    )  # fmt: skip


def bucket_of(timestamp: float, bucket_s: int) -> int:
    """Start (epoch seconds) of the bucket holding ``timestamp``."""
    return int(timestamp // bucket_s) * bucket_s


DAY_MINUTES = 1440


@dataclass(frozen=True)
class LocalPeriods:
    """Report periods of ``minutes`` local wall-clock minutes in ``tz`` (``DAY_MINUTES``: days).

    A sub-day period starts where the local minute is a multiple of ``minutes``
    and lasts that many elapsed minutes, so it is a whole number of quarter
    hours in every real time zone; a day runs from local midnight to local
    midnight (23 or 25 hours across a DST change).
    """

    tz: tzinfo
    minutes: int

    def __post_init__(self) -> None:
        if self.minutes != DAY_MINUTES and (self.minutes % 15 or 60 % self.minutes):
            raise ValueError("a period is 15, 30 or 60 minutes or a day")

    def span(self, timestamp: float) -> tuple[int, int]:
        """[start, end) in epoch seconds of the period holding ``timestamp``."""
        if self.minutes == DAY_MINUTES:
            start = int(local_midnight(timestamp, self.tz))
            return start, int(local_midnight(start + 26 * 3600, self.tz))
        quarter = int(timestamp // 900) * 900
        moment = datetime.fromtimestamp(quarter, self.tz)
        start = quarter - (moment.minute % self.minutes) * 60 - moment.second
        return start, start + self.minutes * 60


class CellStore:
    """Counters keyed by (bucket start, queue, agent); the batch sink of ``QueueLogInterpreter``.

    Buckets are ``bucket_s`` long (a divisor of 15 minutes), or the report's own
    local periods when ``periods`` is given: a report needs nothing finer, and a
    year of quarter hours is 35,040 buckets where a year of days is 365. With
    ``keep_agents=False`` every agent's state time is summed into the queue's
    (and the floor's) own cell and the agents' own call facts are dropped: what
    a queue or total report needs, in a fraction of the cells.

    Layout: queue call facts under agent ``NO_AGENT`` in the bucket the call
    entered the queue; an agent's own call facts (``add_agent_call``) under the
    agent's name in the bucket the agent connected (or was rung), flagged
    ``Counters.agent_facts``; state time under the agent (queue ``AGENT_LEVEL``
    for the agent as a whole).
    """

    def __init__(
        self,
        bucket_s: int = 900,
        *,
        periods: LocalPeriods | None = None,
        keep_agents: bool = True,
    ) -> None:
        if bucket_s <= 0 or 900 % bucket_s:
            raise ValueError("bucket_s must divide 900 so buckets align with local quarter hours")
        self.bucket_s = bucket_s
        self.periods = periods
        self.keep_agents = keep_agents
        self.cells: dict[tuple[int, str, str], Counters] = {}
        # [start, end) of the local period holding each quarter hour seen (by quarter index):
        # calls are written at the time they entered the queue and state time at the
        # present, so look-ups alternate between periods; a year is 35,040 entries.
        self._periods: dict[int, tuple[int, int]] = {}
        self._span = (0, -1)  # [start, end) of the last bucket written: the common case

    def bucket(self, timestamp: float) -> int:
        """Start of the bucket holding ``timestamp`` (its period's start with ``periods``)."""
        if self.periods is None:
            return int(timestamp // self.bucket_s) * self.bucket_s
        return self._period_of(timestamp)[0]

    def _period_of(self, timestamp: float) -> tuple[int, int]:
        quarter = int(timestamp // 900)
        found = self._periods.get(quarter)
        if found is None:
            assert self.periods is not None
            found = self._periods[quarter] = self.periods.span(timestamp)
        return found

    def cell(self, bucket: int, queue: str, agent: str) -> Counters:
        key = (bucket, queue, agent)
        found = self.cells.get(key)
        if found is None:
            found = self.cells[key] = Counters()
        return found

    def add_call(self, at: float, queue: str, agent: str, values: Mapping[str, float]) -> None:
        self.cell(self.bucket(at), queue, agent).add_values(values)

    def add_agent_call(
        self, at: float, queue: str, agent: str, values: Mapping[str, float]
    ) -> None:
        """An agent's own call facts, at the moment they happened to the agent."""
        if not self.keep_agents:
            return
        cell = self.cell(self.bucket(at), queue, agent)
        cell.agent_facts = True
        cell.add_values(values)

    def count_pause(self, at: float, queue: str, agent: str, reason: str) -> None:
        """A pause started (``queue`` AGENT_LEVEL: the agent as a whole)."""
        agent = agent if self.keep_agents else NO_AGENT
        self.cell(self.bucket(at), queue, agent).count_pause(reason)

    def add_time(
        self, start: float, end: float, queue: str, agent: str, activity: AgentActivity, reason: str
    ) -> None:
        """Add state time, split at bucket boundaries."""
        if not self.keep_agents:
            agent = NO_AGENT
        lo, hi = self._span
        if lo <= start and end <= hi:  # within the bucket of the last write: no look-up
            key = (lo, queue, agent)
            found = self.cells.get(key)
            if found is None:
                found = self.cells[key] = Counters()
            found.add_activity(activity, reason, end - start)
            return
        t = start
        while t < end:
            if self.periods is None:
                bucket = int(t // self.bucket_s) * self.bucket_s
                self._span = (bucket, bucket + self.bucket_s)
            else:
                self._span = self._period_of(t)
            bucket, following = self._span
            stop = min(end, following)
            self.cell(bucket, queue, agent).add_activity(activity, reason, stop - t)
            t = stop

    def select(
        self, keep: Callable[[int, str, str], bool] = lambda b, q, a: True
    ) -> Iterable[tuple[tuple[int, str, str], Counters]]:
        return ((key, cell) for key, cell in self.cells.items() if keep(*key))


def rollup(
    cells: Iterable[tuple[tuple[int, str, str], Counters]], *, queue: str | None, agent: str | None
) -> Counters:
    """Sum cells for one queue (call facts and member time) or one agent or everything.

    ``queue`` and ``agent`` None mean "all". Call facts come from queue cells;
    state time comes from queue cells for a queue view and from agent-level
    cells otherwise, so a shared agent is never counted twice in a total.
    """
    total = Counters()
    for (_, q, a), cell in cells:
        if agent is not None and a != agent:
            continue
        # An agent's own call facts repeat queue facts: only an agent's figures read them.
        if (
            q != AGENT_LEVEL
            and (queue is None or q == queue)
            and (agent is not None or not cell.agent_facts)
        ):
            total.merge_calls(cell)
        if (queue is not None and q == queue) or (queue is None and q == AGENT_LEVEL):
            total.merge_time(cell)
    return total


def rollup_by_queue(
    cells: Iterable[tuple[tuple[int, str, str], Counters]],
) -> dict[str, Counters]:
    """One pass: per-queue sums as ``rollup(queue=q)`` gives, plus the total under ``""``."""
    sums: dict[str, Counters] = {AGENT_LEVEL: Counters()}
    total = sums[AGENT_LEVEL]
    for (_, q, _), cell in cells:
        if q == AGENT_LEVEL:
            total.merge_time(cell)
            continue
        by_queue = sums.get(q)
        if by_queue is None:
            by_queue = sums[q] = Counters()
        by_queue.merge_time(cell)
        if not cell.agent_facts:
            by_queue.merge_calls(cell)
            total.merge_calls(cell)
    return sums


def local_midnight(timestamp: float, tz: tzinfo) -> float:
    """Epoch seconds of the local midnight starting the day that holds ``timestamp``."""
    moment = datetime.fromtimestamp(timestamp, tz)
    return datetime.combine(moment.date(), datetime.min.time(), tzinfo=tz).timestamp()


# Names that moved out of this module in the split, still importable from here. Resolved
# on first use (PEP 562) because those modules import this one: an eager import at load
# time would be circular whichever module is imported first.
_MOVED = {
    "AgentSnapshot": "agentdesk.services.supervisor.queue_interpreter",
    "MetricsSink": "agentdesk.services.supervisor.queue_interpreter",
    "QueueLogInterpreter": "agentdesk.services.supervisor.queue_interpreter",
    "LiveQueueMetrics": "agentdesk.services.supervisor.queue_live",
    "LiveSnapshot": "agentdesk.services.supervisor.queue_live",
}


def __getattr__(name: str) -> object:
    module = _MOVED.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value
