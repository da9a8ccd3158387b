"""Plugs the supervisor views into the agent desktop's main window, for supervisors and admins.

:func:`install_supervisor` adds "Wallboard" (Ctrl+Shift+W) and "Reports"
(Ctrl+Shift+R; the server's queue records when signed in) to the main
window's toolbar only when the signed-in role may supervise; an agent's
window gets nothing. Hiding the actions is a courtesy: the supervisor
service behind them refuses an agent session anyway
(:class:`~agentdesk.services.platform.roles.PermissionDenied`). The wallboard
shows the floor the server computes (``/api/v1/cti/floor``, over the desktop's
signed-in session; no AMI login on the desktop) and writes its audit entries
through the desktop's writer.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QMessageBox

from agentdesk.client.abandoned import ServerAbandoned
from agentdesk.client.api import ServerApi
from agentdesk.client.duplicates import ServerDuplicates
from agentdesk.client.floor import ServerFloorFeed
from agentdesk.client.queue_reports import ServerReports
from agentdesk.services.desk.agent_state import load_policy
from agentdesk.services.platform.roles import PermissionDenied, Session, can_supervise
from agentdesk.services.supervisor import SupervisorService, load_settings
from agentdesk.services.supervisor.alerts import AlertConfigError
from agentdesk.services.supervisor.floor_stats import FloorReads
from agentdesk.services.supervisor.service import AuditLog
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.supervisor import open_wallboard
from agentdesk.ui.supervisor.abandoned import AbandonedWindow, open_abandoned
from agentdesk.ui.supervisor.duplicates import DuplicatesWindow, open_duplicates
from agentdesk.ui.supervisor.report_view import ReportWindow
from agentdesk.ui.supervisor.wallboard import WallboardWindow

log = logging.getLogger(__name__)
QUEUE_LOG_ENV = "AGENTDESK_QUEUE_LOG"


def queue_log_path(data_dir: Path) -> Path | None:
    """Where the PBX's queue_log is readable: $AGENTDESK_QUEUE_LOG, else <data dir>/queue_log."""
    configured = os.environ.get(QUEUE_LOG_ENV)
    if configured:
        return Path(configured)
    default = data_dir / "queue_log"
    return default if default.exists() else None


class SupervisorLauncher(QObject):
    """Opens (once) and closes the wallboard and the report window of one desktop.

    The supervisor actions (Ctrl+Shift+W, Ctrl+Shift+R) are added to every window it
    opens as well as the desktop's, so they work whichever of them has the focus; the
    wallboard's own "Reports…" opens the same single report window.
    """

    opened = Signal(object)  # the window just opened or brought forward

    def __init__(
        self,
        window: Any,
        session: Session,
        *,
        bridge: Bridge,
        api: ServerApi | None,
        audit: AuditLog,
        floor: FloorReads | None,
        queue_log: Path | None,
        workstation: str,
    ) -> None:
        super().__init__(window)
        self._window, self._session, self._bridge = window, session, bridge
        self._api, self._audit = api, audit
        self._floor, self._queue_log, self._workstation = floor, queue_log, workstation
        self.wallboard: WallboardWindow | None = None
        self.reports: ReportWindow | None = None
        self.duplicates: DuplicatesWindow | None = None
        self.abandoned: AbandonedWindow | None = None
        self.actions: list[QAction] = []  # the supervisor actions, shared by every window

    def _adopt(self, window: Any) -> None:
        """Give ``window`` the supervisor shortcuts (a QAction works in each window it is in)."""
        for action in self.actions:
            if action not in window.actions():
                window.addAction(action)

    def _bring_forward(self, window: Any) -> None:
        window.showNormal()
        if QGuiApplication.platformName() != "offscreen":  # it cannot stack windows
            window.raise_()
        window.activateWindow()
        self.opened.emit(window)

    def open_wallboard(self) -> WallboardWindow | None:
        if self.wallboard is not None and self.wallboard.feed.running:
            self._bring_forward(self.wallboard)
            return self.wallboard
        if self.wallboard is not None:  # closed (its feed stopped): a fresh one
            self.wallboard.deleteLater()
            self.wallboard = None
        if self._api is None:
            QMessageBox.warning(
                self._window,
                "Wallboard",
                "The wallboard shows the floor the server computes; this desktop is not "
                "signed in to the server. Sign in online to open it.",
            )
            return None
        try:
            self.wallboard = open_wallboard(
                self._session, load_settings(), audit=self._audit,
                source=ServerFloorFeed(self._api), bridge=self._bridge, floor=self._floor,
                queue_log=self._queue_log, workstation=self._workstation,
                reasons=load_policy().reasons,
            )  # fmt: skip
        except (PermissionDenied, AlertConfigError) as exc:
            QMessageBox.warning(self._window, "Wallboard", str(exc))
            return None
        self.wallboard.setAttribute(Qt.WidgetAttribute.WA_QuitOnClose, False)
        self.wallboard.open_reports = self.open_reports
        self._adopt(self.wallboard)
        self.wallboard.show()
        self._bring_forward(self.wallboard)
        return self.wallboard

    def open_reports(self) -> ReportWindow | None:
        if self.reports is not None and self.reports.isVisible():
            self._bring_forward(self.reports)
            return self.reports
        if self.reports is not None:
            self.reports.deleteLater()
            self.reports = None
        try:
            service = SupervisorService(
                self._session, load_settings(), audit=self._audit, floor=self._floor,
                queue_log=self._queue_log, workstation=self._workstation,
            )  # fmt: skip
            # Signed in: the server's records, the wallboard's figures (one source).
            server = ServerReports(self._api) if self._api is not None else None
            self.reports = ReportWindow(service, self._bridge, server=server)
        except (PermissionDenied, AlertConfigError) as exc:
            QMessageBox.warning(self._window, "Reports", str(exc))
            return None
        self.reports.setAttribute(Qt.WidgetAttribute.WA_QuitOnClose, False)
        self._adopt(self.reports)
        self.reports.show()
        self._bring_forward(self.reports)
        return self.reports

    def open_duplicates(self) -> DuplicatesWindow | None:
        """The duplicate review (issue 13 item 6): matching and merges run on the server."""
        if self.duplicates is not None and self.duplicates.isVisible():
            self._bring_forward(self.duplicates)
            return self.duplicates
        if self.duplicates is not None:
            self.duplicates.deleteLater()
            self.duplicates = None
        if self._api is None:
            QMessageBox.warning(
                self._window,
                "Duplicate customers",
                "Duplicates are found and merged on the server; this desktop is not signed in "
                "to the server. Sign in online to open the review.",
            )
            return None
        self.duplicates = open_duplicates(
            ServerDuplicates(self._api), self._bridge, self._session.login
        )
        self.duplicates.setAttribute(Qt.WidgetAttribute.WA_QuitOnClose, False)
        self._adopt(self.duplicates)
        self.duplicates.show()
        self._bring_forward(self.duplicates)
        return self.duplicates

    def open_abandoned(self) -> AbandonedWindow | None:
        """The abandoned-call worklist (issue 15 item 4): computed and acted on at the server."""
        if self.abandoned is not None and self.abandoned.isVisible():
            self._bring_forward(self.abandoned)
            return self.abandoned
        if self.abandoned is not None:
            self.abandoned.deleteLater()
            self.abandoned = None
        if self._api is None:
            QMessageBox.warning(
                self._window,
                "Abandoned calls",
                "The abandoned calls are listed from the server's queue records; this desktop "
                "is not signed in to the server. Sign in online to open the list.",
            )
            return None
        self.abandoned = open_abandoned(ServerAbandoned(self._api), self._bridge)
        self.abandoned.setAttribute(Qt.WidgetAttribute.WA_QuitOnClose, False)
        self._adopt(self.abandoned)
        self.abandoned.show()
        self._bring_forward(self.abandoned)
        return self.abandoned

    def shutdown(self) -> None:
        for window in (self.wallboard, self.reports, self.duplicates, self.abandoned):
            if window is not None:
                window.close()
        self.wallboard = self.reports = self.duplicates = self.abandoned = None


def install_supervisor(
    window: Any,
    session: Session,
    *,
    bridge: Bridge,
    api: ServerApi | None,
    audit: AuditLog,
    floor: FloorReads | None,
    data_dir: Path,
    workstation: str = "",
) -> SupervisorLauncher | None:
    """Add the supervisor actions to ``window`` when ``session`` may supervise (else None)."""
    if not can_supervise(session):
        return None
    launcher = SupervisorLauncher(
        window, session, bridge=bridge, api=api, audit=audit, floor=floor,
        queue_log=queue_log_path(data_dir), workstation=workstation,
    )  # fmt: skip
    specs = (
        ("wallboard", "Wallboard", "Ctrl+Shift+W", launcher.open_wallboard,
         "Live queues, agents and alerts (supervisors)"),
        ("reports", "Reports", "Ctrl+Shift+R", launcher.open_reports,
         "Queue and agent reports with CSV and PDF export (supervisors)"),
        ("duplicates", "Duplicates", "Ctrl+Shift+D", launcher.open_duplicates,
         "Possible duplicate customers, and merges approved by a second supervisor"),
        ("abandoned", "Abandoned calls", "Ctrl+Shift+K", launcher.open_abandoned,
         "Callers who hung up waiting and were not reached since; callback tasks"),
    )  # fmt: skip
    toolbar = getattr(window, "toolbar", None)
    if toolbar is not None:
        toolbar.addSeparator()
    for key, text, shortcut, slot, tip in specs:
        action = QAction(text, window)
        action.setObjectName(f"action_{key}")
        action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(f"{tip} ({shortcut})")
        action.triggered.connect(slot)
        # Reachable from the wallboard and report windows too, not only the desktop.
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        window.addAction(action)
        launcher.actions.append(action)
        if toolbar is not None:
            toolbar.addAction(action)
        actions = getattr(window, "actions_by_id", None)
        if isinstance(actions, dict):
            actions[key] = action
    log.info("supervisor views installed for %s", session.login)
    return launcher
