"""The live wallboard model: AMI events and resyncs in, a frozen :class:`BoardSnapshot` out.

Single-threaded by design: the desktop runs it on the telephony loop thread
(where the events arrive) and only the snapshots cross to the GUI thread.
Queue figures (service level today and over the last 15/30/60 minutes, ASA,
AHT, abandonment) come from the queue_log twins of the events fed into
:class:`~agentdesk.services.supervisor.queue_metrics.LiveQueueMetrics`; waiting callers
and agent states are kept here, exact to the last event, and replaced by
the PBX's own lists at every resync (login, reconnect, the once-a-minute
safety resync).

A caller withdrawn from a queue (``QueueWithdrawCaller``; Asterisk 20 sends
``QueueCallerAbandon`` + ``QueueCallerLeave`` and then ``VarSet
QUEUESTATUS=WITHDRAW``, decoded as ``QueueCallerWithdraw``) leaves the
waiting list at the abandon and counts as withdrawn, never as abandoned: the
abandon's record is held by
:class:`~agentdesk.services.supervisor.records.AbandonResolver` until the
caller's channel says which it was. The AMI user needs the ``dialplan`` read
class for those VarSets; without them every withdrawal still counts as an
abandon, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from agentdesk.services.supervisor.alerts import Alert
from agentdesk.services.supervisor.floor import Floor, caller_label
from agentdesk.services.supervisor.queue_live import LiveSnapshot
from agentdesk.services.supervisor.queue_log import QueueLogRecord
from agentdesk.services.supervisor.queue_metrics import (
    CellStore,
    LiveQueueMetrics,
    MetricsRow,
    QueueLogInterpreter,
    local_midnight,
)
from agentdesk.services.supervisor.records import AbandonResolver, LeaveResolver, to_record
from agentdesk.services.supervisor.resync import apply_resync
from agentdesk.services.supervisor.settings import SupervisorSettings
from agentdesk.services.supervisor.views import (
    AgentStatus,
    BoardSnapshot,
    QueueRow,
    WaitingCaller,
)
from agentdesk.telephony.events import (
    AgentCalled,
    AgentComplete,
    AgentConnect,
    AmiEvent,
    CoreShowChannel,
    Hangup,
    Hold,
    QueueCallerAbandon,
    QueueCallerJoin,
    QueueCallerLeave,
    QueueCallerWithdraw,
    QueueMemberAdded,
    QueueMemberPause,
    QueueMemberPenalty,
    QueueMemberRemoved,
    QueueMemberRinginuse,
    QueueMemberStatus,
    QueueSummary,
    Unhold,
    VarSet,
)

_ON_CALL = frozenset({AgentStatus.ON_CALL, AgentStatus.ON_HOLD, AgentStatus.RINGING})
_MEMBER_EVENTS = (
    QueueMemberStatus, QueueMemberAdded, QueueMemberPause, QueueMemberPenalty,
    QueueMemberRinginuse,
)  # fmt: skip
_WINDOWS = (15, 30, 60)


class LiveBoard:
    """Queues, waiting callers, agents and live metrics of one PBX, as events arrive."""

    def __init__(self, settings: SupervisorSettings) -> None:
        self.settings = settings
        self.floor = Floor(settings.is_acw, settings.wrapup_s)
        self.metrics = LiveQueueMetrics(settings.metrics)
        # Quarter-hour cells of today, for the per-interval charts.
        self.today_cells = CellStore(900)
        self._interpreter = QueueLogInterpreter(settings.metrics, self.today_cells)
        self._day_start = 0.0
        self.waiting: dict[str, dict[str, WaitingCaller]] = {}
        self.queue_names: set[str] = set()
        self._leaves = LeaveResolver(self.feed)
        self._abandons = AbandonResolver(self.feed)
        self._backlog: list[QueueLogRecord] | None = None
        self.version = 0  # bumps on every change a view could show
        self._refresh_s = settings.figures_refresh_s
        self._windows = tuple(sorted({*_WINDOWS, settings.thresholds.sl_window_minutes}))
        self._figures: LiveSnapshot | None = None
        self._figures_at = 0.0

    # ------------------------------------------------------------------ metrics input
    def feed(self, record: QueueLogRecord) -> None:
        """One queue_log record into the metrics (held back while a backfill runs)."""
        if self._backlog is not None:
            self._backlog.append(record)
            return
        self._feed_now(record)

    def _feed_now(self, record: QueueLogRecord) -> None:
        if record.timestamp >= self._day_start + 86_400 or not self._day_start:
            self._roll_day(record.timestamp)
        self.metrics.feed(record)
        self._interpreter.feed(record)

    def _roll_day(self, t: float) -> None:
        self._day_start = local_midnight(t, self.settings.metrics.tz)
        start = int(self._day_start)
        self.today_cells.cells = {k: c for k, c in self.today_cells.cells.items() if k[0] >= start}

    def begin_backfill(self) -> None:
        """Hold live records until :meth:`finish_backfill` has fed today's history first."""
        if self._backlog is None:
            self._backlog = []

    def finish_backfill(self, history: Iterable[QueueLogRecord], until: float) -> int:
        """Feed history records older than ``until`` (the first live event), then the held ones."""
        backlog, self._backlog = self._backlog or [], None
        count = 0
        for record in history:
            if record.timestamp < until:
                self._feed_now(record)
                count += 1
        for record in backlog:
            self._feed_now(record)
        self.version += 1
        return count

    # ------------------------------------------------------------------ events
    def handle(self, event: AmiEvent | None, now: float) -> bool:
        """Apply one AMI event; True when something a view shows changed."""
        if event is None:
            return False
        if isinstance(event, QueueCallerWithdraw | VarSet | Hangup):
            return self._caller_channel(event)
        record = to_record(event, now)
        if isinstance(event, QueueCallerAbandon) and record is not None:
            self._abandons.abandon(event.uniqueid, record, now)
        elif record is not None:
            self.feed(record)
        agent = None
        if isinstance(event, QueueCallerJoin):
            self._join(event, now)
        elif isinstance(event, QueueCallerLeave | QueueCallerAbandon):
            self._leave(event, now)
        elif isinstance(event, _MEMBER_EVENTS):
            agent = self.floor.apply_member(event, now)
        elif isinstance(event, QueueMemberRemoved):
            agent = self.floor.remove_member(event, now)
        elif isinstance(event, AgentConnect):
            self._leaves.settle(event.uniqueid, event.queue)
            self.waiting.get(event.queue, {}).pop(event.uniqueid, None)
            agent = self.floor.connect(event, now)
        elif isinstance(event, AgentComplete):
            agent = self.floor.complete(event, now)
        elif isinstance(event, AgentCalled):
            agent = self.floor.offer(event, now)
        elif isinstance(event, Hold | Unhold):
            agent = self.floor.hold(event, isinstance(event, Hold))
        elif record is None:
            return False
        if agent is not None:
            self.floor.derive(agent, now)
        self.version += 1
        return True

    def _caller_channel(self, event: QueueCallerWithdraw | VarSet | Hangup) -> bool:
        """What the caller's channel says about a held abandon: withdrawn, or really gone."""
        uid = event.uniqueid
        if isinstance(event, QueueCallerWithdraw):
            changed = self._abandons.withdraw(uid)
        elif isinstance(event, Hangup):
            changed = self._abandons.hangup(uid)
        else:
            if event.bare_variable == "QUEUE_WITHDRAW_INFO":
                self._abandons.info(uid, event.value)
            return False
        if changed:
            self.version += 1
        return changed

    def _join(self, event: QueueCallerJoin, now: float) -> None:
        queue, uid = event.queue, event.uniqueid
        self.queue_names.add(queue)
        self.waiting.setdefault(queue, {})[uid] = WaitingCaller(
            uid, queue, caller_label(event.channel), now
        )

    def _leave(self, event: QueueCallerLeave | QueueCallerAbandon, now: float) -> None:
        queue, uid = event.queue, event.uniqueid
        caller = self.waiting.get(queue, {}).pop(uid, None)
        if isinstance(event, QueueCallerAbandon):
            self._leaves.settle(uid, queue)
        elif caller is not None:
            self._leaves.leave(uid, queue, now, now - caller.since)

    def tick(self, now: float) -> bool:
        """Time passing: flow-outs settle, timed wrap-ups end. True if anything changed."""
        before = self.version
        if self._abandons.flush(now):
            self.version += 1
        self._leaves.flush(now)
        if self.floor.expire_wrapups(now):
            self.version += 1
        return self.version != before

    def resync(
        self,
        queue_status: Sequence[AmiEvent],
        channels: Sequence[CoreShowChannel],
        summary: Sequence[QueueSummary] = (),
        *,
        now: float,
    ) -> None:
        """Replace queues, callers and members with the PBX's lists (AMI has no replay)."""
        apply_resync(self, queue_status, channels, summary, now)
        self.version += 1

    # ------------------------------------------------------------------ output
    def figures(self, now: float) -> LiveSnapshot:
        """Today's and the windows' rows per queue, in one pass over the open agent time.

        Recomputed at most every ``figures_refresh_s`` (the live aggregator walks
        every agent each time); waiting callers and agent states are always exact.
        """
        stale = self._figures is None or now - self._figures_at >= self._refresh_s
        if stale or now < self._figures_at:
            self._figures = self.metrics.snapshot(now, self._windows)
            self._figures_at = now
        assert self._figures is not None
        return self._figures

    def queue_rows(self, now: float) -> tuple[QueueRow, ...]:
        figures = self.figures(now)
        names = set(self.queue_names) | {q for q in figures.today if q}
        counts: dict[str, list[int]] = {}
        for agent in self.floor.agents.values():
            for member in agent.members.values():
                names.add(member.queue)
                c = counts.setdefault(member.queue, [0, 0, 0, 0, 0])
                c[0] += 1
                if agent.status in _ON_CALL:
                    c[2] += 1
                elif agent.status is AgentStatus.WRAP_UP:
                    c[3] += 1
                elif member.paused or agent.status is AgentStatus.PAUSED:
                    c[4] += 1
                elif agent.status is AgentStatus.AVAILABLE:
                    c[1] += 1
        return tuple(self._queue_row(q, counts.get(q, [0] * 5), figures) for q in sorted(names))

    def window(self, minutes: int, queue: str, now: float) -> MetricsRow | None:
        """The last ``minutes`` of one queue (a window the board computes: 15, 30, 60 or the
        alert window)."""
        return self.figures(now).windows.get(minutes, {}).get(queue)

    def _queue_row(self, queue: str, counts: list[int], figures: LiveSnapshot) -> QueueRow:
        callers = self.waiting.get(queue, {})
        today = figures.today.get(queue)
        recent = [figures.windows[m].get(queue) for m in _WINDOWS]
        sl = [row.service_level if row else None for row in recent]
        return QueueRow(
            queue, len(callers), min((c.since for c in callers.values()), default=None),
            today.service_level if today else None, sl[0], sl[1], sl[2],
            self.settings.thresholds.sl_target_for(queue),
            today.asa_s if today else None, today.aht_s if today else None,
            today.abandon_rate if today else None, today.offered if today else 0,
            today.answered if today else 0, today.abandoned if today else 0,
            counts[0], counts[1], counts[2], counts[3], counts[4],
            today.withdrawn if today else 0,
        )  # fmt: skip

    def snapshot(
        self,
        now: float,
        alerts: tuple[Alert, ...] = (),
        *,
        connected: bool = True,
        detail: str = "",
    ) -> BoardSnapshot:
        agents = sorted(self.floor.agents.values(), key=lambda a: (a.name.lower(), a.interface))
        return BoardSnapshot(
            at=now,
            queues=self.queue_rows(now),
            agents=tuple(a.row() for a in agents),
            alerts=alerts,
            definition=self.settings.definition.describe(),
            connected=connected,
            link_detail=detail,
        )
