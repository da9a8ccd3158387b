"""Supervisor use cases, each behind a role check: the wallboard, alerts, agent control, reports.

A :class:`SupervisorService` belongs to one signed-in session and refuses to
exist for a session whose role is not supervisor or admin; every method
checks again, so nothing that holds a reference can read supervisor data or
act for an agent session. Threads: the live methods (``handle``, ``resync``,
``tick``, ``snapshot``, the PBX actions and ``acknowledge``) run on the
telephony loop thread where the AMI events arrive; ``pop_latency``,
``breached_tickets``, ``report`` and the series are blocking reads for a
worker. Every PBX action and acknowledgement is written to the audit log
(who, when, what, why, the PBX's answer), refused actions included.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agentdesk.ids import uuid7
from agentdesk.services.desk import pbx_actions
from agentdesk.services.platform.roles import Capability, Session, require
from agentdesk.services.supervisor.alerting import conditions_for
from agentdesk.services.supervisor.alerts import Alert, AlertBook, AlertChanges
from agentdesk.services.supervisor.board import LiveBoard
from agentdesk.services.supervisor.floor_stats import (
    BreachedTickets,
    FloorReads,
    WorkstationLatency,
)
from agentdesk.services.supervisor.history import (
    IntervalSeries,
    series_from_queue_log,
    series_from_store,
)
from agentdesk.services.supervisor.reports import GroupBy, Interval, Report, report_from_queue_log
from agentdesk.services.supervisor.settings import SupervisorSettings
from agentdesk.services.supervisor.views import BoardSnapshot
from agentdesk.store.mutation_args.audit import AuditAdd
from agentdesk.store.mutation_args.base import rejecting
from agentdesk.telephony.events import AmiEvent, CoreShowChannel, QueueSummary

MAX_REASON = 200


class ActionResultLike(Protocol):
    """The reply to an AMI action (``agentdesk.telephony.client.ActionResult`` fits)."""

    @property
    def ok(self) -> bool: ...

    @property
    def message(self) -> str: ...


class ActionSender(Protocol):
    """Sends one AMI action and waits for its reply (``AmiClient`` fits)."""

    async def send_action(
        self, action: str, headers: Mapping[str, object] | None = None, /
    ) -> ActionResultLike: ...


class AuditLog(Protocol):
    """Where audit entries go (``LocalWriter`` fits: ``write("audit.add", args)``)."""

    def write(self, name: str, args: AuditAdd) -> object: ...


class SupervisorInputError(ValueError):
    """A supervisor action with input the PBX cannot take (empty interface, huge reason …)."""


@dataclass(frozen=True)
class ActionOutcome:
    """What the PBX answered to a supervisor action, as recorded in the audit log."""

    action: str
    interface: str
    queue: str | None
    ok: bool
    message: str


def _clean(value: str, what: str, limit: int, *, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise SupervisorInputError(f"{what} is required")
    if len(value) > limit:
        raise SupervisorInputError(f"{what} is {len(value)} characters; the limit is {limit}")
    if any(ch in value for ch in "\r\n\x00"):
        raise SupervisorInputError(f"{what} cannot contain line breaks or NUL characters")
    return value


class SupervisorService:
    """The supervisor desktop's use cases for one signed-in supervisor or admin."""

    def __init__(
        self,
        session: Session,
        settings: SupervisorSettings,
        *,
        audit: AuditLog,
        pbx: ActionSender | None = None,
        floor: FloorReads | None = None,
        queue_log: Path | None = None,
        workstation: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        require(session, Capability.VIEW_WALLBOARD)
        self._session = session
        self.settings = settings
        self._audit = audit
        self._pbx = pbx
        self._floor = floor
        self.queue_log = queue_log
        self._workstation = workstation
        self._clock = clock
        self.board = LiveBoard(settings)
        self.alerts = AlertBook()
        self.breached = BreachedTickets(0, ())
        self.connected = False
        self.link_detail = ""

    @property
    def session(self) -> Session:
        return self._session

    def set_pbx(self, pbx: ActionSender | None) -> None:
        """The AMI link actions go through (the desktop starts it after the service exists)."""
        self._pbx = pbx

    def _check(self, capability: Capability) -> None:
        require(self._session, capability)

    def now(self) -> float:
        return self._clock()

    # ------------------------------------------------------------------ live board (loop thread)
    def handle(self, event: AmiEvent | None) -> bool:
        self._check(Capability.VIEW_WALLBOARD)
        if event is None:
            return False
        return self.board.handle(event, self._event_time(event))

    def _event_time(self, event: AmiEvent) -> float:
        # Asterisk adds Timestamp with timestampevents=yes: prefer the PBX's own clock then.
        value = event.timestamp
        if value is None:
            return self._clock()
        return value if abs(value - self._clock()) < 86_400 else self._clock()

    def resync(
        self,
        queue_status: Sequence[AmiEvent],
        channels: Sequence[CoreShowChannel],
        summary: Sequence[QueueSummary] = (),
    ) -> None:
        self._check(Capability.VIEW_WALLBOARD)
        self.board.resync(queue_status, channels, summary, now=self._clock())

    def set_link(self, connected: bool, detail: str = "") -> None:
        self.connected, self.link_detail = connected, detail
        self.board.version += 1

    def tick(self) -> bool:
        """Advance time: settle flow-outs, end timed wrap-ups. True when the board changed."""
        self._check(Capability.VIEW_WALLBOARD)
        return self.board.tick(self._clock())

    def snapshot(self) -> tuple[BoardSnapshot, AlertChanges]:
        """The board now, with alerts re-evaluated against it."""
        self._check(Capability.VIEW_WALLBOARD)
        now = self._clock()
        board = self.board.snapshot(now, connected=self.connected, detail=self.link_detail)
        minutes = self.settings.thresholds.sl_window_minutes
        windows = {
            q.name: row
            for q in board.queues
            if (row := self.board.window(minutes, q.name, now)) is not None
        }
        conditions = conditions_for(
            board, self.settings.thresholds, windows, self.breached.count, now
        )
        changes = self.alerts.update(conditions, now)
        return _with_alerts(board, changes.active), changes

    def set_breached_tickets(self, breached: BreachedTickets) -> None:
        self.breached = breached

    # ------------------------------------------------------------------ alerts
    async def acknowledge(self, alert_id: str) -> Alert:
        """Mark an alert acknowledged by this supervisor and write who/when to the audit log."""
        self._check(Capability.ACKNOWLEDGE_ALERTS)
        alert = self.alerts.acknowledge(alert_id, self._session.login, self._clock())
        details = {"alert": alert.id, "kind": alert.kind.value, "subject": alert.subject,
                   "message": alert.message, "raised_at": alert.raised_at}  # fmt: skip
        await self._record("alert.acknowledge", "alert", alert.subject, None, details)
        return alert

    # ------------------------------------------------------------------ agent control
    async def pause(self, interface: str, reason: str, queue: str | None = None) -> ActionOutcome:
        """Pause an agent (in one queue, or all) with a reason the agent and reports will see."""
        reason = _clean(reason, "a pause reason", MAX_REASON, required=True)
        action = pbx_actions.pause(self._interface(interface), True, reason, self._queue(queue))
        return await self._act("supervisor.pause", action, reason)

    async def unpause(self, interface: str, queue: str | None = None) -> ActionOutcome:
        action = pbx_actions.pause(self._interface(interface), False, "", self._queue(queue))
        return await self._act("supervisor.unpause", action, None)

    async def remove_from_queue(self, interface: str, queue: str) -> ActionOutcome:
        """Log an agent out of a queue (QueueRemove)."""
        q = self._queue(queue)
        assert q is not None
        action = pbx_actions.queue_remove(q, self._interface(interface))
        return await self._act("supervisor.queue_remove", action, None)

    async def add_to_queue(
        self, interface: str, queue: str, member_name: str, paused: bool = False
    ) -> ActionOutcome:
        """Add an agent to a queue (QueueAdd), optionally paused."""
        q = self._queue(queue)
        assert q is not None
        name = _clean(member_name, "the member name", 80, required=False) or interface
        action = pbx_actions.queue_add(q, self._interface(interface), name, paused)
        return await self._act("supervisor.queue_add", action, None)

    def _interface(self, interface: str) -> str:
        self._check(Capability.CONTROL_AGENTS)
        return _clean(interface, "the agent's interface", 80, required=True)

    @staticmethod
    def _queue(queue: str | None) -> str | None:
        if queue is None:
            return None
        return _clean(queue, "the queue", 80, required=True)

    async def _act(
        self, name: str, action: pbx_actions.PbxAction, reason: str | None
    ) -> ActionOutcome:
        self._check(Capability.CONTROL_AGENTS)
        headers = action.as_dict()
        interface, queue = headers.get("Interface", ""), headers.get("Queue")
        if self._pbx is None:
            ok, message = False, "no PBX link"
        else:
            try:
                result = await self._pbx.send_action(action.name, headers)
                ok, message = result.ok, result.message
            except (ConnectionError, TimeoutError, OSError) as exc:
                ok, message = False, f"{type(exc).__name__}: {exc}"
        outcome = ActionOutcome(action.name, interface, queue, ok, message)
        details = {"pbx_action": action.name, "queue": queue, "ok": ok, "pbx_message": message}
        await self._record(name, "agent", interface, reason, details)
        return outcome

    async def _record(
        self,
        action: str,
        entity_type: str,
        entity_id: str,
        reason: str | None,
        details: dict[str, Any],
    ) -> None:
        # Who and when are not sent: the writer records its agent and its own clock.
        with rejecting("audit.add"):
            args = AuditAdd(
                id=uuid7(),
                action=action,
                entity_type=entity_type,
                entity_id=entity_id[:64],
                reason=reason,
                details=details,
                workstation=self._workstation or None,
            )
        # The write is a local SQLite transaction: keep it off the telephony loop.
        await asyncio.to_thread(self._audit.write, "audit.add", args)

    # ------------------------------------------------------------------ reads for a worker
    def pop_latency(self, day: dt.date | None = None) -> tuple[WorkstationLatency, ...]:
        """Ring→pop p50/p95 per workstation for ``day`` (default today)."""
        self._check(Capability.VIEW_POP_LATENCY)
        if self._floor is None:
            return ()
        tz = self.settings.metrics.tz
        when = day or dt.datetime.fromtimestamp(self._clock(), tz).date()
        return self._floor.pop_latency(when, tz)

    def check_tickets(self) -> BreachedTickets:
        """Open tickets past their SLA (a blocking central read)."""
        self._check(Capability.VIEW_WALLBOARD)
        if self._floor is None:
            return BreachedTickets(0, ())
        return self._floor.breached(dt.datetime.fromtimestamp(self._clock(), dt.UTC))

    def report(
        self,
        path: Path,
        *,
        interval: Interval = Interval.MIN30,
        group_by: GroupBy = GroupBy.QUEUE,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> Report:
        """A historical report from a queue_log file, under the wallboard's definition."""
        self._check(Capability.VIEW_REPORTS)
        return report_from_queue_log(
            path, self.settings.metrics, interval=interval, group_by=group_by, start=start, end=end
        )

    def history(self, day: dt.date, interval: Interval, queue: str = "") -> IntervalSeries | None:
        """One day's intervals from the queue_log file (None when no file is configured)."""
        self._check(Capability.VIEW_REPORTS)
        if self.queue_log is None:
            return None
        return series_from_queue_log(self.queue_log, self.settings.metrics, day, interval, queue)

    def today_series(self, interval: Interval, queue: str = "") -> IntervalSeries:
        """Today's intervals from the live cells (loop thread)."""
        self._check(Capability.VIEW_WALLBOARD)
        day = dt.datetime.fromtimestamp(self._clock(), self.settings.metrics.tz).date()
        return series_from_store(
            self.board.today_cells, self.settings.metrics, day, interval, queue
        )


def _with_alerts(board: BoardSnapshot, alerts: tuple[Alert, ...]) -> BoardSnapshot:
    return BoardSnapshot(
        board.at, board.queues, board.agents, alerts, board.definition, board.connected,
        board.link_detail,
    )  # fmt: skip
