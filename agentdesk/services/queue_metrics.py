"""Contact-center metrics from queue_log records: per interval, queue and agent, batch or live.

Pure Python over ``QueueLogRecord``s (no Qt, no database), shared by
``agentdesk report``, the supervisor wallboard and the tests.

What queue_log can tell, and the rules used
- **Attribution.** Everything about a call (offered, answered, abandoned,
  wait, talk, transfers, ring-no-answers, wrap-up) counts in the interval in
  which the call *entered the queue*, the industry norm: a call queued at
  09:59:50 and answered at 10:00:30 is an answer of the 09:45 interval.
  Agent state time (logged in, talking, wrap-up, idle, paused) is clock
  time, split exactly at interval boundaries.
- **Offered** = ENTERQUEUE. **Answered** = CONNECT (wait = its holdtime).
  **Abandoned** = ABANDON (wait = waittime); a *short abandon* waited less
  than ``ServiceLevelDefinition.short_abandon_s``. **Flowed out** =
  EXITWITHTIMEOUT, EXITWITHKEY, EXITEMPTY (left the queue unanswered without
  hanging up). Calls whose ENTERQUEUE is older than the file are rebuilt
  from the wait in their CONNECT/ABANDON line (and from holdtime + calltime
  in a COMPLETE*/TRANSFER line), so a rotated log still counts them.
- **AHT** = (talk + wrap-up) ÷ handled. Talk is the ``calltime`` of
  COMPLETECALLER/COMPLETEAGENT/TRANSFER/BLINDTRANSFER/ATTENDEDTRANSFER; it
  *includes hold* (queue_log has no hold events, Asterisk counts the whole
  bridge). Wrap-up is not in queue_log: it is known only when configured,
  either as Asterisk's per-queue ``wrapuptime`` (``MetricsConfig.wrapup_s``)
  or as pauses with an after-call-work reason (``acw_pause_reasons``), and
  is charged to the agent's last completed call.
- **Agent states** come from ADDMEMBER/REMOVEMEMBER, PAUSE/UNPAUSE(ALL),
  CONNECT…COMPLETE and AGENTLOGIN/AGENTLOGOFF. An agent is *talking* while
  on a call, in *wrap-up* (ACW) during configured wrap-up or an ACW pause,
  *paused* when paused in every queue they belong to, otherwise *idle*.
  A member first seen in a CONNECT or PAUSE line (static members, or a log
  that starts after login) is logged in from that line on. PAUSEALL and
  UNPAUSEALL, which Asterisk writes under the member's interface
  (``PJSIP/1001``) next to per-queue PAUSE lines, apply only to an agent
  already known by that name. Occupancy =
  (talk + ACW) ÷ (talk + ACW + idle). Per queue, each member's state time
  counts for every queue they belong to (a shared agent counts in both).
- QUEUESTART (Asterisk restarted) ends every call and conversation in
  progress without counting an outcome; persistent members stay. Repeated
  or late lines about a call that already ended are ignored.

Batch use: ``QueueLogInterpreter`` into a ``CellStore`` (see
``agentdesk.services.reports``). Live use: ``LiveQueueMetrics.feed`` each
record, then ``snapshot()`` for a wallboard, or ``today()``/``last()``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import Protocol

from agentdesk.services.queue_log import QueueLogRecord

AGENT_LEVEL = ""  # queue key of agent-level state time
ALL_AGENTS = "*"  # agent key of the live window's per-queue cells
NO_AGENT = ""  # agent key of queue-level call facts (offered, abandoned …)
_NONE = "NONE"
_COMPLETIONS = frozenset({"COMPLETECALLER", "COMPLETEAGENT"})
_TRANSFERS = frozenset({"TRANSFER", "BLINDTRANSFER", "ATTENDEDTRANSFER"})
_FLOWOUTS = frozenset({"EXITWITHTIMEOUT", "EXITWITHKEY", "EXITEMPTY"})
_STALE_CALL_S = 24 * 3600.0  # a call open this long lost its end line; forget it
_MAX_CLOSED = 100_000  # ended calls remembered to ignore repeated lines about them


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
    "transfers", "ring_no_answers", "handled", "wait_answered_s", "wait_abandoned_s", "talk_s",
    "wrapup_s",
)  # fmt: skip
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

    def add(self, name: str, value: float) -> None:
        setattr(self, name, getattr(self, name) + value)

    def add_values(self, values: Mapping[str, float]) -> None:
        for name, value in values.items():
            if name == "max_wait_s":
                self.max_wait_s = max(self.max_wait_s, value)
            else:
                setattr(self, name, getattr(self, name) + value)

    def add_activity(self, activity: AgentActivity, reason: str, seconds: float) -> None:
        self.add(_ACTIVITY_FIELD[activity], seconds)
        if activity is AgentActivity.PAUSED:
            self.pause_reasons[reason] = self.pause_reasons.get(reason, 0.0) + seconds

    def merge_calls(self, other: Counters) -> None:
        # Spelled out rather than a getattr loop: rollups run this per cell, often.
        self.offered += other.offered
        self.answered += other.answered
        self.answered_within += other.answered_within
        self.abandoned += other.abandoned
        self.short_abandoned += other.short_abandoned
        self.flowed_out += other.flowed_out
        self.transfers += other.transfers
        self.ring_no_answers += other.ring_no_answers
        self.handled += other.handled
        self.wait_answered_s += other.wait_answered_s
        self.wait_abandoned_s += other.wait_abandoned_s
        self.talk_s += other.talk_s
        self.wrapup_s += other.wrapup_s
        self.max_wait_s = max(self.max_wait_s, other.max_wait_s)

    def merge_time(self, other: Counters) -> None:
        self.busy_s += other.busy_s
        self.acw_s += other.acw_s
        self.idle_s += other.idle_s
        self.paused_s += other.paused_s
        for reason, seconds in other.pause_reasons.items():
            self.pause_reasons[reason] = self.pause_reasons.get(reason, 0.0) + seconds


@dataclass(frozen=True)
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
    )  # fmt: skip


def bucket_of(timestamp: float, bucket_s: int) -> int:
    """Start (epoch seconds) of the bucket holding ``timestamp``."""
    return int(timestamp // bucket_s) * bucket_s


class CellStore:
    """Counters keyed by (bucket start, queue, agent); the batch sink of ``QueueLogInterpreter``."""

    def __init__(self, bucket_s: int = 900) -> None:
        if bucket_s <= 0 or 900 % bucket_s:
            raise ValueError("bucket_s must divide 900 so buckets align with local quarter hours")
        self.bucket_s = bucket_s
        self.cells: dict[tuple[int, str, str], Counters] = {}

    def cell(self, bucket: int, queue: str, agent: str) -> Counters:
        key = (bucket, queue, agent)
        found = self.cells.get(key)
        if found is None:
            found = self.cells[key] = Counters()
        return found

    def add_call(self, at: float, queue: str, agent: str, values: Mapping[str, float]) -> None:
        self.cell(bucket_of(at, self.bucket_s), queue, agent).add_values(values)

    def add_time(
        self, start: float, end: float, queue: str, agent: str, activity: AgentActivity, reason: str
    ) -> None:
        """Add state time, split at bucket boundaries."""
        t = start
        while t < end:
            bucket = bucket_of(t, self.bucket_s)
            stop = min(end, bucket + self.bucket_s)
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
        if q != AGENT_LEVEL and (queue is None or q == queue):
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
        by_queue.merge_calls(cell)
        by_queue.merge_time(cell)
        total.merge_calls(cell)
    return sums


class MetricsSink(Protocol):
    """Where ``QueueLogInterpreter`` puts call facts and agent state time (see ``CellStore``)."""

    def add_call(self, at: float, queue: str, agent: str, values: Mapping[str, float]) -> None: ...

    def add_time(
        self, start: float, end: float, queue: str, agent: str, activity: AgentActivity, reason: str
    ) -> None: ...


@dataclass(slots=True)
class _Call:
    """A call in a queue that has not ended yet: when it entered, who answered, when."""

    enqueued: float
    agent: str = ""
    connected: float | None = None


@dataclass(slots=True)
class _Membership:
    """An agent's standing in one queue: paused or not, and why."""

    paused: bool = False
    reason: str = ""


@dataclass(slots=True)
class _Agent:
    """What the interpreter tracks per agent between events."""

    since: float  # start of the segment not yet written to the sink
    memberships: dict[str, _Membership] = field(default_factory=dict)
    calls: set[tuple[str, str]] = field(default_factory=set)
    acw_until: float = 0.0
    pause_reason: str = ""
    last_call: tuple[float, str] | None = None  # (enqueue time, queue) of the last completed call
    state: tuple[AgentActivity, str] | None = None
    state_since: float = 0.0


@dataclass(frozen=True)
class AgentSnapshot:
    """An agent's state now: activity (None = logged out), pause reason, since when, queues."""

    agent: str
    activity: AgentActivity | None
    reason: str
    since: float
    queues: tuple[str, ...]
    on_call_queue: str | None


class QueueLogInterpreter:
    """Reads records in time order and writes call facts and agent state time to a sink.

    Holds only what is open: calls waiting or talking, and each agent's
    memberships, pauses and current segment. ``close(until)`` writes the open
    segments up to ``until``; ``emit_open(now, sink)`` writes them to another
    sink without closing them (the live view's "up to now").
    """

    def __init__(self, config: MetricsConfig, sink: MetricsSink) -> None:
        self.config = config
        self._sink = sink
        self._calls: dict[tuple[str, str], _Call] = {}
        # Calls that ended (oldest first): a repeated or late line about one is ignored
        # instead of being rebuilt into a second, phantom call.
        self._closed: dict[tuple[str, str], None] = {}
        self._agents: dict[str, _Agent] = {}
        self.last_timestamp: float | None = None
        self._next_expiry = 0.0
        self._handlers: dict[str, Callable[[QueueLogRecord], None]] = {
            "ENTERQUEUE": self._on_enter,
            "CONNECT": self._on_connect,
            "ABANDON": self._on_leave,
            "RINGNOANSWER": self._on_ring_no_answer,
            "ADDMEMBER": self._on_membership,
            "REMOVEMEMBER": self._on_membership,
            "PAUSE": self._on_pause,
            "UNPAUSE": self._on_pause,
            "PAUSEALL": self._on_pause_all,
            "UNPAUSEALL": self._on_pause_all,
            "AGENTLOGIN": self._on_agent_login,
            "AGENTLOGOFF": self._on_agent_login,
            "QUEUESTART": self._on_queue_start,
        }
        for event in (*_COMPLETIONS, *_TRANSFERS):
            self._handlers[event] = self._on_end
        for event in _FLOWOUTS:
            self._handlers[event] = self._on_leave

    # -- feeding -------------------------------------------------------------------------

    def feed(self, record: QueueLogRecord) -> None:
        t = record.timestamp
        if self.last_timestamp is None or t > self.last_timestamp:
            self.last_timestamp = t
        if t >= self._next_expiry:
            self._expire_stale(t)
        handler = self._handlers.get(record.event)
        if handler is not None:
            handler(record)

    def feed_all(self, records: Iterable[QueueLogRecord]) -> None:
        for record in records:
            self.feed(record)

    def close(self, until: float) -> None:
        """Write every agent's open segment up to ``until`` (the end of a batch read)."""
        for name, agent in self._agents.items():
            self._emit(name, agent, agent.since, until, self._sink)
            agent.since = max(agent.since, until)

    def emit_open(self, now: float, sink: MetricsSink) -> None:
        for name, agent in self._agents.items():
            self._emit(name, agent, agent.since, now, sink)

    # -- calls ---------------------------------------------------------------------------

    def _finished(self, record: QueueLogRecord) -> bool:
        key = (record.call_id, record.queue)
        return key not in self._calls and key in self._closed

    def _close_call(self, key: tuple[str, str]) -> None:
        self._calls.pop(key, None)
        self._closed[key] = None
        if len(self._closed) > _MAX_CLOSED:
            del self._closed[next(iter(self._closed))]

    def _open_call(self, record: QueueLogRecord, wait: int | None) -> _Call:
        """This line's call, rebuilt from the line's wait if its ENTERQUEUE is missing."""
        key = (record.call_id, record.queue)
        call = self._calls.get(key)
        if call is None:
            call = self._calls[key] = _Call(record.timestamp - max(0, wait or 0))
            self._sink.add_call(call.enqueued, record.queue, NO_AGENT, {"offered": 1})
        return call

    def _on_enter(self, record: QueueLogRecord) -> None:
        key = (record.call_id, record.queue)
        self._calls.pop(key, None)
        self._closed.pop(key, None)  # the same call may queue again later
        self._open_call(record, 0)

    def _answer(self, record: QueueLogRecord, call: _Call, wait: float, at: float) -> None:
        call.connected = at
        call.agent = record.agent if record.has_member else NO_AGENT
        within = 1 if wait <= self.config.service_level.threshold_s else 0
        values = {
            "answered": 1,
            "answered_within": within,
            "wait_answered_s": wait,
            "max_wait_s": wait,
        }
        self._sink.add_call(call.enqueued, record.queue, call.agent, values)

    def _on_connect(self, record: QueueLogRecord) -> None:
        if self._finished(record):
            return
        holdtime = record.int_field("holdtime")
        call = self._open_call(record, holdtime)
        if call.connected is not None:
            return  # a repeated CONNECT for the same call adds nothing
        wait = float(
            max(0.0, holdtime if holdtime is not None else record.timestamp - call.enqueued)
        )
        self._answer(record, call, wait, record.timestamp)
        if not record.has_member:
            return
        agent = self._agent(record.agent, record.timestamp)
        agent.memberships.setdefault(record.queue, _Membership())
        agent.calls.add((record.call_id, record.queue))
        self._after_change(agent, record.timestamp)

    def _on_end(self, record: QueueLogRecord) -> None:
        if self._finished(record):
            return
        t = record.timestamp
        holdtime, calltime = record.int_field("holdtime"), record.int_field("calltime")
        key = (record.call_id, record.queue)
        call = self._calls.get(key)
        if call is None or call.connected is None:  # its CONNECT is older than the file
            talk_start = t - max(0, calltime or 0)
            wait = float(max(0, holdtime or 0))
            if call is None:
                call = self._calls[key] = _Call(talk_start - wait)
                self._sink.add_call(call.enqueued, record.queue, NO_AGENT, {"offered": 1})
            self._answer(record, call, wait, talk_start)
        assert call.connected is not None
        talk = float(calltime) if calltime is not None else t - call.connected
        agent_name = record.agent if record.has_member else call.agent
        values = {"handled": 1, "talk_s": max(0.0, talk)}
        if record.event in _TRANSFERS:
            values["transfers"] = 1
        self._sink.add_call(call.enqueued, record.queue, agent_name, values)
        self._close_call(key)
        if agent_name == NO_AGENT:
            return
        agent = self._agent(agent_name, t)
        agent.calls.discard(key)
        agent.last_call = (call.enqueued, record.queue)
        agent.acw_until = max(agent.acw_until, t + self.config.wrapup_s.get(record.queue, 0.0))
        self._after_change(agent, t)

    def _on_leave(self, record: QueueLogRecord) -> None:
        if self._finished(record):
            return
        waittime = record.int_field("waittime")
        call = self._open_call(record, waittime)
        if call.connected is not None:
            return  # already answered: a stray exit line changes nothing
        wait = float(
            max(0.0, waittime if waittime is not None else record.timestamp - call.enqueued)
        )
        if record.event == "ABANDON":
            short = 1 if self.config.service_level.is_short_abandon(wait) else 0
            values = {"abandoned": 1, "short_abandoned": short, "wait_abandoned_s": wait}
        else:
            values = {"flowed_out": 1}
        values["max_wait_s"] = wait
        self._sink.add_call(call.enqueued, record.queue, NO_AGENT, values)
        self._close_call((record.call_id, record.queue))

    def _on_ring_no_answer(self, record: QueueLogRecord) -> None:
        call = self._calls.get((record.call_id, record.queue))
        at = call.enqueued if call is not None else record.timestamp
        agent_name = record.agent if record.has_member else NO_AGENT
        self._sink.add_call(at, record.queue, agent_name, {"ring_no_answers": 1})
        if record.has_member:
            agent = self._agent(record.agent, record.timestamp)
            agent.memberships.setdefault(record.queue, _Membership())
            self._after_change(agent, record.timestamp)

    def _expire_stale(self, now: float) -> None:
        horizon = now - _STALE_CALL_S
        for key in [k for k, call in self._calls.items() if call.enqueued < horizon]:
            self._close_call(key)
            for agent in self._agents.values():
                agent.calls.discard(key)
        self._next_expiry = now + 3600.0

    # -- agents --------------------------------------------------------------------------

    def _agent(self, name: str, t: float) -> _Agent:
        """The agent, with its open segment written up to ``t`` so a change can apply at t."""
        agent = self._agents.get(name)
        if agent is None:
            agent = self._agents[name] = _Agent(since=t, state_since=t)
        elif t > agent.since:
            self._emit(name, agent, agent.since, t, self._sink)
            agent.since = t
        return agent

    def _after_change(self, agent: _Agent, t: float) -> None:
        state = self._classify(agent, t, None)
        if state != agent.state:
            agent.state, agent.state_since = state, t

    def _on_membership(self, record: QueueLogRecord) -> None:
        if not record.has_member or record.queue in ("", _NONE):
            return
        agent = self._agent(record.agent, record.timestamp)
        if record.event == "ADDMEMBER":
            agent.memberships.setdefault(record.queue, _Membership())
        else:
            agent.memberships.pop(record.queue, None)
        self._after_change(agent, record.timestamp)

    def _on_pause(self, record: QueueLogRecord) -> None:
        if not record.has_member:
            return
        if record.queue in ("", _NONE):
            self._on_pause_all(record)
            return
        agent = self._agent(record.agent, record.timestamp)
        membership = agent.memberships.setdefault(record.queue, _Membership())
        self._set_paused(agent, membership, record)
        self._after_change(agent, record.timestamp)

    def _on_pause_all(self, record: QueueLogRecord) -> None:
        # Asterisk writes PAUSEALL/UNPAUSEALL under the member's *interface*
        # (PJSIP/1001) and then one PAUSE/UNPAUSE per queue under its member name;
        # only apply it to an agent already known by that name (chan_agent setups,
        # custom QueueLog lines), never create a phantom agent from an interface.
        if record.agent not in self._agents:
            return
        agent = self._agent(record.agent, record.timestamp)
        for membership in agent.memberships.values():
            self._set_paused(agent, membership, record)
        self._after_change(agent, record.timestamp)

    @staticmethod
    def _set_paused(agent: _Agent, membership: _Membership, record: QueueLogRecord) -> None:
        membership.paused = record.event.startswith("PAUSE")
        membership.reason = (record.field("reason") or "").strip() if membership.paused else ""
        if membership.paused:
            agent.pause_reason = membership.reason

    def _on_agent_login(self, record: QueueLogRecord) -> None:
        if not record.has_member:
            return
        agent = self._agent(record.agent, record.timestamp)
        if record.event == "AGENTLOGIN":
            agent.memberships.setdefault(_NONE, _Membership())
        else:
            agent.memberships.clear()
        self._after_change(agent, record.timestamp)

    def _on_queue_start(self, record: QueueLogRecord) -> None:
        for name in list(self._agents):
            agent = self._agent(name, record.timestamp)
            agent.calls.clear()
            self._after_change(agent, record.timestamp)
        for key in list(self._calls):
            self._close_call(key)

    def _classify(
        self, agent: _Agent, at: float, queue: str | None
    ) -> tuple[AgentActivity, str] | None:
        if not agent.memberships and not agent.calls:
            return None
        if agent.calls:
            return AgentActivity.TALK, ""
        if at < agent.acw_until:
            return AgentActivity.ACW, ""
        if queue is None:
            real = [m for q, m in agent.memberships.items() if q != _NONE] or list(
                agent.memberships.values()
            )
            paused, reason = all(m.paused for m in real), agent.pause_reason
        else:
            membership = agent.memberships[queue]
            paused, reason = membership.paused, membership.reason
        if not paused:
            return AgentActivity.IDLE, ""
        if self.config.is_acw_reason(reason):
            return AgentActivity.ACW, ""
        return AgentActivity.PAUSED, reason

    def _emit(self, name: str, agent: _Agent, start: float, end: float, sink: MetricsSink) -> None:
        """Write state time over [start, end): agent level, each queue, and ACW to the last call."""
        if end <= start:
            return
        cut = agent.acw_until
        pieces = [(start, cut), (cut, end)] if start < cut < end else [(start, end)]
        for t0, t1 in pieces:
            state = self._classify(agent, t0, None)
            if state is None:
                continue
            sink.add_time(t0, t1, AGENT_LEVEL, name, *state)
            if state[0] is AgentActivity.ACW and agent.last_call is not None:
                enqueued, queue = agent.last_call
                sink.add_call(enqueued, queue, name, {"wrapup_s": t1 - t0})
            for queue in agent.memberships:
                if queue != _NONE:
                    queue_state = self._classify(agent, t0, queue)
                    assert queue_state is not None
                    sink.add_time(t0, t1, queue, name, *queue_state)

    # -- live views ----------------------------------------------------------------------

    def waiting(self, now: float, queue: str | None = None) -> tuple[int, float]:
        """Calls waiting (entered, not yet answered or gone) and the longest wait, in seconds."""
        waits = [
            now - call.enqueued
            for (_, q), call in self._calls.items()
            if call.connected is None and (queue is None or q == queue)
        ]
        return len(waits), max(waits, default=0.0)

    def agent_snapshots(self, now: float) -> tuple[AgentSnapshot, ...]:
        snapshots = []
        for name, agent in sorted(self._agents.items()):
            state = self._classify(agent, now, None)
            since = agent.state_since
            if (
                agent.state is not None
                and agent.state[0] is AgentActivity.ACW
                and state != agent.state
            ):
                since = max(since, agent.acw_until)  # configured wrap-up ran out on its own
            on_call = next(iter(agent.calls), None)
            snapshots.append(
                AgentSnapshot(
                    agent=name,
                    activity=state[0] if state else None,
                    reason=state[1] if state else "",
                    since=since,
                    queues=tuple(sorted(q for q in agent.memberships if q != _NONE)),
                    on_call_queue=on_call[1] if on_call else None,
                )
            )
        return tuple(snapshots)


def local_midnight(timestamp: float, tz: tzinfo) -> float:
    """Epoch seconds of the local midnight starting the day that holds ``timestamp``."""
    moment = datetime.fromtimestamp(timestamp, tz)
    return datetime.combine(moment.date(), datetime.min.time(), tzinfo=tz).timestamp()


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
