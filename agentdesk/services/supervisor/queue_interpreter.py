"""Reads queue_log records in time order into call facts and agent state time.

``QueueLogInterpreter`` is the one place that knows Asterisk's queue_log
events; it writes what they mean to a ``MetricsSink`` (the batch
``CellStore`` of :mod:`agentdesk.services.supervisor.queue_metrics`, or the live
window of :mod:`agentdesk.services.supervisor.queue_live`). What the figures mean is
described in :mod:`agentdesk.services.supervisor.queue_metrics`.

Rules used
- **Attribution.** Everything about a call (offered, answered, abandoned,
  wait, talk, transfers, ring-no-answers, wrap-up) counts for its *queue* in
  the interval in which the call *entered the queue*, the industry norm: a
  call queued at 09:59:50 and answered at 10:00:30 is an answer of the 09:45
  interval. For the *agent*, a sink that has ``add_agent_call`` (the batch
  ``CellStore``) also gets the agent's own facts when they happened to the
  agent: the answer, talk, transfer, completion and wrap-up of a call when
  the agent connected, a ring-no-answer or ring-cancelled at its own line,
  so an agent's calls fall in intervals the agent was logged in. Sinks
  without it (the live window) get the facts once, under the agent, in the
  call's enqueue interval. Agent state time (logged in, talking, wrap-up,
  idle, paused) is clock time, split exactly at interval boundaries.
- **Unanswered** calls left by ABANDON (hung up), EXITWITHTIMEOUT,
  EXITEMPTY, EXITWITHKEY or WITHDRAW; each is counted on its own
  (``abandoned``, ``timed_out``, ``exit_empty``, ``exit_key``,
  ``withdrawn``), the last four together as ``flowed_out``.
- Calls whose ENTERQUEUE is older than the file are rebuilt from the wait
  in their CONNECT/ABANDON line (and from holdtime + calltime in a
  COMPLETE*/TRANSFER line), so a rotated log still counts them. Wrap-up is
  charged to the agent's last completed call.
- **Agent states** come from ADDMEMBER/REMOVEMEMBER, PAUSE/UNPAUSE(ALL),
  CONNECT…COMPLETE and AGENTLOGIN/AGENTLOGOFF. An agent is *talking* while
  on a call, in *wrap-up* (ACW) during configured wrap-up or an ACW pause,
  *paused* when paused in every queue they belong to, otherwise *idle*.
  A member first seen in a CONNECT or PAUSE line (static members, or a log
  that starts after login) is logged in from that line on. PAUSEALL and
  UNPAUSEALL, which Asterisk writes under the member's interface
  (``PJSIP/1001``) next to per-queue PAUSE lines, apply only to an agent
  already known by that name. Per queue, each member's state time counts
  for every queue they belong to (a shared agent counts in both).
- QUEUESTART (Asterisk restarted) ends every call and conversation in
  progress without counting an outcome; persistent members stay. Repeated
  or late lines about a call that already ended are ignored.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from agentdesk.services.supervisor.queue_log import QueueLogRecord
from agentdesk.services.supervisor.queue_metrics import (
    AGENT_LEVEL,
    NO_AGENT,
    AgentActivity,
    MetricsConfig,
)

_NONE = "NONE"
_COMPLETIONS = frozenset({"COMPLETECALLER", "COMPLETEAGENT"})
_TRANSFERS = frozenset({"TRANSFER", "BLINDTRANSFER", "ATTENDEDTRANSFER"})
# WITHDRAW: taken out of the queue on request (QueueWithdrawCaller), back to the dialplan
# without hanging up: a flow-out, never an abandon.
_FLOWOUTS = frozenset({"EXITWITHTIMEOUT", "EXITWITHKEY", "EXITEMPTY", "WITHDRAW"})
_FLOWOUT_FIELD = {
    "EXITWITHTIMEOUT": "timed_out",
    "EXITWITHKEY": "exit_key",
    "EXITEMPTY": "exit_empty",
    "WITHDRAW": "withdrawn",
}
_TALKING = (AgentActivity.TALK, "")
_WRAPPING_UP = (AgentActivity.ACW, "")
_STALE_CALL_S = 24 * 3600.0  # a call open this long lost its end line; forget it
_MAX_CLOSED = 100_000  # ended calls remembered to ignore repeated lines about them


class MetricsSink(Protocol):
    """Where ``QueueLogInterpreter`` puts call facts and agent state time (see ``CellStore``).

    Optional methods, used when a sink has them: ``add_agent_call(at, queue, agent, values)``
    (an agent's own facts at the agent's moment; see Attribution above) and
    ``count_pause(at, queue, agent, reason)`` (a pause started).
    """

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
    # (enqueue time, queue, connect time) of the last completed call
    last_call: tuple[float, str, float] | None = None
    state: tuple[AgentActivity, str] | None = None
    state_since: float = 0.0

    def join(self, queue: str) -> _Membership:
        """The membership of ``queue``, added if new (without building one per line)."""
        membership = self.memberships.get(queue)
        if membership is None:
            membership = self.memberships[queue] = _Membership()
        return membership

    def all_paused(self) -> bool:
        """Paused in every queue (or, in none, in its login without a queue)."""
        in_queue = False
        for queue, membership in self.memberships.items():
            if queue != _NONE:
                if not membership.paused:
                    return False
                in_queue = True
        return in_queue or all(m.paused for m in self.memberships.values())


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
        self._add_agent_call: Callable[[float, str, str, Mapping[str, float]], None] | None = (
            getattr(sink, "add_agent_call", None)
        )
        self._count_pause: Callable[[float, str, str, str], None] | None = getattr(
            sink, "count_pause", None
        )
        self._calls: dict[tuple[str, str], _Call] = {}
        # Calls that ended (oldest first): a repeated or late line about one is ignored
        # instead of being rebuilt into a second, phantom call. An OrderedDict, because
        # evicting the oldest from a plain dict scans past the slots earlier evictions
        # left at its front, which made every call after the cap slower.
        self._closed: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._agents: dict[str, _Agent] = {}
        self._acw_reasons: dict[str, bool] = {}
        self.last_timestamp: float | None = None
        self._next_expiry = 0.0
        self._handlers: dict[str, Callable[[QueueLogRecord], None]] = {
            "ENTERQUEUE": self._on_enter,
            "CONNECT": self._on_connect,
            "ABANDON": self._on_leave,
            "RINGNOANSWER": self._on_ring_no_answer,
            "RINGCANCELED": self._on_ring_no_answer,
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
            self._closed.popitem(last=False)

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
            "presented": 1,
        }
        self._call_fact(call.enqueued, at, record.queue, call.agent, values)

    def _call_fact(
        self, enqueued: float, at: float, queue: str, agent: str, values: Mapping[str, float]
    ) -> None:
        """A fact of a call: the queue's at ``enqueued``; the agent's at ``at`` (see above)."""
        add_agent_call = self._add_agent_call
        if add_agent_call is None or agent == NO_AGENT:
            self._sink.add_call(enqueued, queue, agent, values)
            return
        self._sink.add_call(enqueued, queue, NO_AGENT, values)
        add_agent_call(at, queue, agent, values)

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
        agent.join(record.queue)
        agent.calls.add((record.call_id, record.queue))
        self._after_change(agent, record.timestamp, record.agent)

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
        elif record.event == "COMPLETECALLER":
            values["completed_caller"] = 1
        else:
            values["completed_agent"] = 1
        self._call_fact(call.enqueued, call.connected, record.queue, agent_name, values)
        self._close_call(key)
        if agent_name == NO_AGENT:
            return
        agent = self._agent(agent_name, t)
        agent.calls.discard(key)
        agent.last_call = (call.enqueued, record.queue, call.connected)
        agent.acw_until = max(agent.acw_until, t + self.config.wrapup_s.get(record.queue, 0.0))
        self._after_change(agent, t, agent_name)

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
            values = {"flowed_out": 1, _FLOWOUT_FIELD[record.event]: 1}
        values["max_wait_s"] = wait
        self._sink.add_call(call.enqueued, record.queue, NO_AGENT, values)
        self._close_call((record.call_id, record.queue))

    def _on_ring_no_answer(self, record: QueueLogRecord) -> None:
        """RINGNOANSWER or RINGCANCELED (the caller left while this agent's phone rang)."""
        call = self._calls.get((record.call_id, record.queue))
        at = call.enqueued if call is not None else record.timestamp
        agent_name = record.agent if record.has_member else NO_AGENT
        name = "ring_no_answers" if record.event == "RINGNOANSWER" else "ring_cancelled"
        values = {name: 1, "presented": 1}
        self._call_fact(at, record.timestamp, record.queue, agent_name, values)
        if record.has_member:
            agent = self._agent(record.agent, record.timestamp)
            agent.join(record.queue)
            self._after_change(agent, record.timestamp, record.agent)

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

    def _after_change(self, agent: _Agent, t: float, name: str) -> None:
        state = self._classify(agent, t, None)
        if state != agent.state:
            if (
                self._count_pause is not None
                and state is not None
                and state[0] is AgentActivity.PAUSED
            ):
                self._count_pause(t, AGENT_LEVEL, name, state[1])
            agent.state, agent.state_since = state, t

    def _on_membership(self, record: QueueLogRecord) -> None:
        if not record.has_member or record.queue in ("", _NONE):
            return
        agent = self._agent(record.agent, record.timestamp)
        if record.event == "ADDMEMBER":
            agent.join(record.queue)
        else:
            agent.memberships.pop(record.queue, None)
        self._after_change(agent, record.timestamp, record.agent)

    def _on_pause(self, record: QueueLogRecord) -> None:
        if not record.has_member:
            return
        if record.queue in ("", _NONE):
            self._on_pause_all(record)
            return
        agent = self._agent(record.agent, record.timestamp)
        membership = agent.join(record.queue)
        was = (membership.paused, membership.reason)
        self._set_paused(agent, membership, record)
        self._pause_started(record, record.queue, membership, was)
        self._after_change(agent, record.timestamp, record.agent)

    def _pause_started(
        self, record: QueueLogRecord, queue: str, membership: _Membership, was: tuple[bool, str]
    ) -> None:
        """Count a pause in ``queue`` when one starts (or its reason changes), ACW aside."""
        if (
            self._count_pause is not None
            and membership.paused
            and (membership.paused, membership.reason) != was
            and not self.config.is_acw_reason(membership.reason)
        ):
            self._count_pause(record.timestamp, queue, record.agent, membership.reason)

    def _on_pause_all(self, record: QueueLogRecord) -> None:
        # Asterisk writes PAUSEALL/UNPAUSEALL under the member's *interface*
        # (PJSIP/1001) and then one PAUSE/UNPAUSE per queue under its member name;
        # only apply it to an agent already known by that name (chan_agent setups,
        # custom QueueLog lines), never create a phantom agent from an interface.
        if record.agent not in self._agents:
            return
        agent = self._agent(record.agent, record.timestamp)
        for queue, membership in agent.memberships.items():
            was = (membership.paused, membership.reason)
            self._set_paused(agent, membership, record)
            if queue != _NONE:
                self._pause_started(record, queue, membership, was)
        self._after_change(agent, record.timestamp, record.agent)

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
            agent.join(_NONE)
        else:
            agent.memberships.clear()
        self._after_change(agent, record.timestamp, record.agent)

    def _on_queue_start(self, record: QueueLogRecord) -> None:
        for name in list(self._agents):
            agent = self._agent(name, record.timestamp)
            agent.calls.clear()
            self._after_change(agent, record.timestamp, name)
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
            paused, reason = agent.all_paused(), agent.pause_reason
        else:
            membership = agent.memberships[queue]
            paused, reason = membership.paused, membership.reason
        if not paused:
            return AgentActivity.IDLE, ""
        if self._is_acw_reason(reason):
            return AgentActivity.ACW, ""
        return AgentActivity.PAUSED, reason

    def _emit(self, name: str, agent: _Agent, start: float, end: float, sink: MetricsSink) -> None:
        """Write state time over [start, end): agent level, each queue, and ACW to the last call."""
        if end <= start:
            return
        cut = agent.acw_until
        if start < cut < end:  # configured wrap-up ends inside: two pieces
            self._emit_piece(name, agent, start, cut, sink)
            self._emit_piece(name, agent, cut, end, sink)
        else:
            self._emit_piece(name, agent, start, end, sink)

    def _emit_piece(
        self, name: str, agent: _Agent, t0: float, t1: float, sink: MetricsSink
    ) -> None:
        """State time over [t0, t1), where the agent's state does not change.

        Same figures as ``_classify`` per queue; spelled out because this runs for
        every agent line of a year of queue_log: on a call or in configured wrap-up
        every queue has the agent's state, otherwise each queue's own pause decides.
        """
        if agent.calls:
            state: tuple[AgentActivity, str] | None = _TALKING
        elif not agent.memberships:
            return
        elif t0 < agent.acw_until:
            state = _WRAPPING_UP
        else:
            state = None
        overall = state or self._classify(agent, t0, None)
        assert overall is not None
        sink.add_time(t0, t1, AGENT_LEVEL, name, *overall)
        if overall[0] is AgentActivity.ACW and agent.last_call is not None:
            self._emit_wrapup(name, agent.last_call, t1 - t0, sink)
        for queue, membership in agent.memberships.items():
            if queue == _NONE:
                continue
            if state is not None:
                sink.add_time(t0, t1, queue, name, *state)
            elif not membership.paused:
                sink.add_time(t0, t1, queue, name, AgentActivity.IDLE, "")
            elif self._is_acw_reason(membership.reason):
                sink.add_time(t0, t1, queue, name, AgentActivity.ACW, "")
            else:
                sink.add_time(t0, t1, queue, name, AgentActivity.PAUSED, membership.reason)

    @staticmethod
    def _emit_wrapup(
        name: str, last_call: tuple[float, str, float], seconds: float, sink: MetricsSink
    ) -> None:
        """Wrap-up time charged to the agent's last completed call."""
        enqueued, queue, connected = last_call
        values = {"wrapup_s": seconds}
        add_agent_call = getattr(sink, "add_agent_call", None)
        if add_agent_call is None:
            sink.add_call(enqueued, queue, name, values)
        else:
            sink.add_call(enqueued, queue, NO_AGENT, values)
            add_agent_call(connected, queue, name, values)

    def _is_acw_reason(self, reason: str) -> bool:
        """``MetricsConfig.is_acw_reason``, remembered per reason (a handful of them)."""
        known = self._acw_reasons.get(reason)
        if known is None:
            known = self._acw_reasons[reason] = self.config.is_acw_reason(reason)
        return known

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
