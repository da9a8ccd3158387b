"""The supervisor wallboard window: queues, agents, alerts, charts, staffing, pop latency.

Opened only for a supervisor or admin session (the supervisor service it
needs refuses to exist otherwise). It paints what the
:class:`~agentdesk.ui.supervisor.feed.SupervisorFeed` posts and ticks the
live clocks once a second; supervisor actions go back through the feed to
the service, which checks the role, asks the PBX and writes the audit log.
F11 switches to the wall-screen mode: full screen, black, large type.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QDialog, QMainWindow, QMessageBox, QWidget

from agentdesk.services.desk.agent_state import ReasonCode
from agentdesk.services.platform.roles import Capability, allows, require
from agentdesk.services.supervisor import BoardSnapshot, IntervalSeries
from agentdesk.services.supervisor.alerts import Alert, Severity
from agentdesk.services.supervisor.history import shift_week
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.supervisor.charts import ChartData
from agentdesk.ui.supervisor.dialogs import PauseDialog, QueueDialog
from agentdesk.ui.supervisor.feed import SupervisorFeed
from agentdesk.ui.supervisor.layout import BoardLayout
from agentdesk.ui.supervisor.panels import BoardFrame, place_on_screen
from agentdesk.ui.supervisor.wall_mode import WallMode
from agentdesk.ui.tray import TrayNotifier

_HOUSEKEEPING_S = 60
_STAFFING_S = 5.0  # the staffing table follows the floor at most this often
WANTED = QSize(1366, 768)  # less on a smaller screen (fit_on_screen)


class WallboardWindow(QMainWindow):
    """The supervisor's live view of the floor."""

    snapshot_applied = Signal(object)  # BoardSnapshot, after the models took it
    action_reported = Signal(str)  # what an action's outcome said (status bar text)
    link_shown = Signal(str)  # the PBX badge's new text, whenever it changes

    def __init__(
        self,
        feed: SupervisorFeed,
        bridge: Bridge,
        *,
        reasons: tuple[ReasonCode, ...] = (),
        clock: Callable[[], float] = time.time,
        parent: QWidget | None = None,
    ) -> None:
        require(feed.service.session, Capability.VIEW_WALLBOARD)
        super().__init__(parent)
        self.setObjectName("wallboard")
        self.setWindowTitle("agentdesk — supervisor wallboard")
        self.feed, self.service, self._bridge = feed, feed.service, bridge
        self._reasons, self._clock = reasons, clock
        self.last_snapshot: BoardSnapshot | None = None
        self._frame: BoardFrame | None = None  # the last snapshot with its figures
        self.open_dialog: QDialog | None = None  # the last action dialog (tests fill it in)
        self._today: IntervalSeries | None = None
        self._reference: IntervalSeries | None = None
        self._reference_day: dt.date | None = None
        # Agents logged in to a queue, as seen here: interval start -> (sum of samples, n).
        self._staffed: dict[dt.datetime, tuple[float, int]] = {}
        self._staffed_sampled = 0.0
        self._staffing_shown = 0.0
        self.watching_since: float | None = None
        self._down_since: float | None = None
        # The desktop's launcher opens the one report window (else this window makes one).
        self.open_reports: Callable[[], object] | None = None
        self.ui = BoardLayout(self, self.service.settings)
        self.setCentralWidget(self.ui.root)
        self.wall = WallMode(self)
        self.tray = TrayNotifier(self, self)
        self._build_actions()
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._housekeeping = QTimer(self)
        self._housekeeping.setInterval(_HOUSEKEEPING_S * 1000)
        self._connect_signals()
        self._tick.start()
        self._housekeeping.start()
        self.statusBar().showMessage("Connecting to the server…")
        place_on_screen(self, WANTED)
        QTimer.singleShot(0, self._on_housekeeping_timeout)

    # ------------------------------------------------------------------ construction
    def _build_actions(self) -> None:
        bar = self.addToolBar("Supervisor")
        bar.setObjectName("supervisorToolbar")
        bar.setMovable(False)
        self.toolbar = bar
        control = allows(self.service.session, Capability.CONTROL_AGENTS)
        specs = [
            ("wall", "Wall screen", "F11", self.wall.toggle, True),
            ("pause", "Pause…", "Ctrl+P", self._on_pause_triggered, control),
            ("unpause", "Unpause", "Ctrl+U", self._on_unpause_triggered, control),
            ("remove", "Log out of queue…", "", self._on_remove_triggered, control),
            ("add", "Add to queue…", "", self._on_add_triggered, control),
            ("reports", "Reports…", "Ctrl+R", self._on_reports_triggered, True),
        ]
        self.actions_by_id: dict[str, QAction] = {}
        for key, text, shortcut, slot, enabled in specs:
            action = QAction(text, self)
            if shortcut:
                action.setShortcut(QKeySequence(shortcut))
            action.setEnabled(enabled)
            action.triggered.connect(slot)
            bar.addAction(action)
            self.addAction(action)  # shortcuts keep working with the toolbar hidden
            self.actions_by_id[key] = action
        self.actions_by_id["wall"].setCheckable(True)
        leave = QAction("Leave wall screen", self)
        leave.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        leave.triggered.connect(lambda: self.wall.set_enabled(False))
        self.addAction(leave)

    def _connect_signals(self) -> None:
        self.feed.snapshot_ready.connect(self._on_feed_snapshot_ready)
        self.feed.alerts_raised.connect(self._on_feed_alerts_raised)
        self.feed.today_ready.connect(self._on_feed_today_ready)
        self.feed.link_changed.connect(self._on_feed_link_changed)
        self.feed.action_finished.connect(self._on_feed_action_finished)
        self.feed.action_failed.connect(self._on_feed_action_failed)
        self.ui.alerts.acknowledge_requested.connect(self._on_alerts_acknowledge_requested)
        self.ui.agent_filter.textChanged.connect(self.ui.agents.proxy.setFilterFixedString)
        self._tick.timeout.connect(self._on_tick_timeout)
        self._housekeeping.timeout.connect(self._on_housekeeping_timeout)

    # ------------------------------------------------------------------ feed
    def _on_feed_snapshot_ready(self, frame: BoardFrame) -> None:
        now, snapshot = self._clock(), frame.snapshot
        self.last_snapshot, self._frame = snapshot, frame
        self.ui.queues.source.set_rows(snapshot.queues, now)
        self.wall.fit_queues()
        self.ui.agents.source.set_rows(snapshot.agents, now)
        self.ui.size_agent_columns()
        self.ui.alerts.set_alerts(snapshot.alerts, now)
        self.ui.show_totals(frame, now)
        self._show_link(snapshot.connected, snapshot.link_detail, now)
        self.wall.show_alert(_top_alert(snapshot.alerts))
        self._sample_staffed(frame, now)
        self.snapshot_applied.emit(snapshot)

    def _show_link(self, up: bool, detail: str, now: float) -> None:
        server = self.feed.source.model.online
        if up:
            self._down_since = None
        elif self._down_since is None and (server or self.watching_since is not None):
            self._down_since = now  # went down (or found down) here: "since" is now
        before = self.ui.link.text()
        self.ui.show_link(up, detail, since=self._down_since, server=server)
        if self.ui.link.text() != before:
            self.link_shown.emit(self.ui.link.text())

    def _sample_staffed(self, frame: BoardFrame, now: float) -> None:
        """Once a second: agents logged in to a queue, into this interval's average."""
        if not frame.snapshot.connected or now - self._staffed_sampled < 1.0:
            return
        if self.watching_since is None:
            self.watching_since = now
        self._staffed_sampled = now
        minutes = 1440 if self.feed.interval.value == "day" else int(self.feed.interval.value)
        moment = dt.datetime.fromtimestamp(now, self.service.settings.metrics.tz)
        start = moment.replace(second=0, microsecond=0) - dt.timedelta(
            minutes=(moment.hour * 60 + moment.minute) % minutes
        )
        total, count = self._staffed.get(start, (0.0, 0))
        self._staffed[start] = (total + frame.staffed, count + 1)
        if len(self._staffed) > 96:  # a day of 15-minute intervals at most
            del self._staffed[min(self._staffed)]
        if self._today is not None and now - self._staffing_shown >= _STAFFING_S:
            self._show_staffing(now)

    def _show_staffing(self, now: float) -> None:
        if self._today is None:
            return
        self._staffing_shown = now
        observed = {start: total / count for start, (total, count) in self._staffed.items()}
        self.ui.show_staffing(
            self._today, self._reference, self._frame.staffed if self._frame else 0, now,
            observed, self.watching_since,
        )  # fmt: skip

    def _on_feed_alerts_raised(self, alerts: tuple[Alert, ...]) -> None:
        for alert in alerts:
            self.tray.notify_if_hidden("Wallboard alert", alert.message)

    def _on_feed_today_ready(self, series: IntervalSeries) -> None:
        self._today = series
        if self._reference_day != shift_week(series.day):
            self._load_reference(series.day)
        self._refresh_charts()

    def _on_feed_link_changed(self, up: bool, detail: str) -> None:
        self._show_link(up, detail, self._clock())
        self.statusBar().showMessage("PBX connected" if up else f"{self.ui.link.text()}: {detail}")

    def _on_feed_action_finished(self, outcome: object) -> None:
        text = _describe(outcome)
        self.statusBar().showMessage(text, 10_000)
        self.action_reported.emit(text)

    def _on_feed_action_failed(self, message: str) -> None:
        self.statusBar().showMessage(message, 10_000)
        self.action_reported.emit(message)

    # ------------------------------------------------------------------ timers
    def _on_tick_timeout(self) -> None:
        now = self._clock()
        for table in (self.ui.queues, self.ui.agents, self.ui.alerts.table):
            table.tick(now)
        if self._frame is not None:
            self.ui.show_totals(self._frame, now)

    def _on_housekeeping_timeout(self) -> None:
        svc = self.service
        if allows(svc.session, Capability.VIEW_POP_LATENCY):
            self._bridge.submit(
                svc.pop_latency,
                lane="central",
                on_done=self._on_latency_loaded,
                on_error=self._on_read_failed,
            )
        self._bridge.submit(
            svc.check_tickets,
            lane="central",
            on_done=self.feed.set_breached,
            on_error=self._on_read_failed,
        )

    def _on_latency_loaded(self, rows: object) -> None:
        self.ui.latency.source.set_rows(rows, self._clock())  # type: ignore[arg-type]

    def _on_read_failed(self, exc: BaseException) -> None:
        self.statusBar().showMessage(f"Could not read the central store: {exc}", 10_000)

    # ------------------------------------------------------------------ charts and staffing
    def _load_reference(self, day: dt.date) -> None:
        self._reference_day = shift_week(day)
        self._bridge.submit(
            self.service.history, self._reference_day, self.feed.interval, lane="central",
            on_done=self._on_reference_loaded, on_error=self._on_read_failed,
        )  # fmt: skip

    def _on_reference_loaded(self, series: IntervalSeries | None) -> None:
        self._reference = series
        self._refresh_charts()

    def _refresh_charts(self) -> None:
        data = ChartData(self._today, self._reference, self.service.settings.definition.target)
        self.ui.chart.set_data(data)
        self.wall.chart.set_data(data)
        self._show_staffing(self._clock())

    # ------------------------------------------------------------------ actions
    def _selected_agent(self) -> object:
        agent = self.ui.agents.selected_row()
        if agent is None:
            self.statusBar().showMessage("Select an agent in the table first.", 5000)
        return agent

    def _on_pause_triggered(self) -> None:
        agent = self._selected_agent()
        if agent is None:
            return
        dialog = PauseDialog(agent, self._reasons, self)  # type: ignore[arg-type]
        dialog.accepted.connect(lambda: self._send_pause(dialog))
        self.open_dialog = dialog
        dialog.open()

    def _send_pause(self, dialog: PauseDialog) -> None:
        req = dialog.request()
        self.feed.run_action(lambda: self.service.pause(req.interface, req.reason, req.queue))

    def _on_unpause_triggered(self) -> None:
        agent = self._selected_agent()
        if agent is not None:
            iface = agent.interface  # type: ignore[attr-defined]
            self.feed.run_action(lambda: self.service.unpause(iface))

    def _on_remove_triggered(self) -> None:
        agent = self._selected_agent()
        if agent is None:
            return
        queues = list(agent.queues)  # type: ignore[attr-defined]
        dialog = QueueDialog(agent, queues, adding=False, parent=self)  # type: ignore[arg-type]
        dialog.accepted.connect(lambda: self._send_queue(dialog))
        self.open_dialog = dialog
        dialog.open()

    def _on_add_triggered(self) -> None:
        agent = self._selected_agent()
        if agent is None:
            return
        known = {q.name for q in self.last_snapshot.queues} if self.last_snapshot else set()
        queues = sorted(known - set(agent.queues))  # type: ignore[attr-defined]
        dialog = QueueDialog(agent, queues, adding=True, parent=self)  # type: ignore[arg-type]
        dialog.accepted.connect(lambda: self._send_queue(dialog))
        self.open_dialog = dialog
        dialog.open()

    def _send_queue(self, dialog: QueueDialog) -> None:
        req, svc = dialog.request(), self.service
        if dialog.adding:
            self.feed.run_action(
                lambda: svc.add_to_queue(req.interface, req.queue, req.name, req.paused)
            )
        else:
            self.feed.run_action(lambda: svc.remove_from_queue(req.interface, req.queue))

    def _on_alerts_acknowledge_requested(self, alert_id: str) -> None:
        self.feed.run_action(lambda: self.service.acknowledge(alert_id))

    def _on_reports_triggered(self) -> None:
        from agentdesk.ui.supervisor.report_view import ReportWindow

        if self.open_reports is not None:
            self.open_reports()
            return
        if not allows(self.service.session, Capability.VIEW_REPORTS):
            QMessageBox.warning(self, "Reports", "Your role may not read reports.")
            return
        self.reports = ReportWindow(self.service, self._bridge, self)
        self.reports.show()

    def shutdown(self) -> None:
        """Stop ticking and stop the feed (the AMI client itself belongs to whoever made it)."""
        self._tick.stop()
        self._housekeeping.stop()
        self.tray.hide()
        self.feed.stop()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)


def _top_alert(alerts: tuple[Alert, ...]) -> Alert | None:
    open_alerts = [a for a in alerts if not a.acknowledged]
    if not open_alerts:
        return None
    return max(open_alerts, key=lambda a: (a.severity is Severity.CRITICAL, a.raised_at))


def _describe(outcome: object) -> str:
    if isinstance(outcome, Alert):
        return f"Alert acknowledged by {outcome.acknowledged_by}: {outcome.message}"
    action = getattr(outcome, "action", "")
    interface = getattr(outcome, "interface", "")
    if getattr(outcome, "ok", False):
        return f"{action} for {interface}: done ({getattr(outcome, 'message', '')})"
    return f"{action} for {interface} FAILED: {getattr(outcome, 'message', '')}"
