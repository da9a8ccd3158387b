"""The status bar: PBX link, store and sync state, pending writes, notices, set-up problems.

Nothing here polls: the store line is asked again when the sync engine's status
or the change bus says something changed, a notice clears itself on a one-shot
timer. Pop latency is for support staff: shown with ``--verbose`` only (and
always in its tooltip for support to read from the About details).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QMessageBox, QSizePolicy, QStatusBar, QToolButton, QWidget

from agentdesk.services.desk.pop_latency import PopLatencyRecorder
from agentdesk.ui import format as fmt
from agentdesk.ui.bridge import Bridge

# Pixels the set-up problems button may take in the status bar (its text is elided to fit).
SETUP_WIDTH = 320


@dataclass(frozen=True)
class StoreStatus:
    """What the status bar says about the stores (computed off the GUI thread)."""

    central_online: bool
    pending_writes: int
    oldest_pending_seconds: float | None = None
    last_sync: str | None = None
    detail: str = ""

    def describe(self) -> str:
        where = (
            "Server: online"
            if self.central_online
            else "Server: OFFLINE (changes are kept here until it is back)"
        )
        if not self.pending_writes:
            return f"{where} · all saved on the server"
        age = (
            f", oldest {fmt.duration(self.oldest_pending_seconds)}"
            if self.oldest_pending_seconds
            else ""
        )
        return f"{where} · {fmt.count(self.pending_writes, 'change')} waiting to sync{age}"


StatusSource = Callable[[], StoreStatus]


class DeskStatusBar(QStatusBar):
    """Always-visible facts an agent (and support staff) need at a glance."""

    def __init__(
        self,
        bridge: Bridge,
        recorder: PopLatencyRecorder,
        status_source: StatusSource | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._bridge, self._recorder, self._source = bridge, recorder, status_source
        self.pbx = fmt.plain(QLabel("PBX: connecting…", self))
        self.store = fmt.plain(QLabel("Server: connecting…" if status_source else "", self))
        self.latency = fmt.plain(QLabel("Pop: –", self))
        self.notice = fmt.plain(QLabel(self))
        self.notice.setObjectName("statusNotice")
        # A long notice must never widen the window: it is cut here and shown whole as a tooltip.
        self.notice.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.notice.setMinimumWidth(1)
        self.addWidget(self.notice, 1)
        # Set-up problems (no keyring, no server …): one line, the whole text on click.
        self.setup = QToolButton(self)
        self.setup.setObjectName("statusSetupProblems")
        self.setup.setAutoRaise(True)
        self.setup.setAccessibleName("Set-up problems")
        self.setup.setProperty("elides", True)  # the layout test: elided on purpose
        self.setup.setVisible(False)
        self.setup.clicked.connect(self.show_setup_details)
        self._setup_notes: list[str] = []
        self.addPermanentWidget(self.setup)
        for label in (self.store, self.latency, self.pbx):
            self.addPermanentWidget(label)
        # Latency figures are for support: shown when the desktop runs with --verbose.
        self.latency.setVisible(logging.getLogger().isEnabledFor(logging.DEBUG))
        self._notice_timer = QTimer(self, singleShot=True)
        self._notice_timer.timeout.connect(self.notice.clear)
        self._probing = False
        self._probe_again = False
        self.refresh_latency()
        self.refresh_store()

    def set_pbx(self, state: str, detail: str) -> None:
        text = {
            "connected": "PBX: connected",
            "connecting": "PBX: connecting…",
            "reconnecting": "PBX: reconnecting…",
            "disconnected": "PBX: DISCONNECTED",
            "failed": "PBX: login refused",
            "closed": "PBX: closed",
        }.get(state, f"PBX: {state}")
        self.pbx.setText(text)
        self.pbx.setProperty("level", "ok" if state == "connected" else "bad")
        self.pbx.setToolTip(fmt.rich_tooltip(detail or text))
        self._repolish(self.pbx)

    def show_notice(self, level: str, text: str) -> None:
        self.notice.setText(fmt.display_text(text))
        self.notice.setToolTip(fmt.rich_tooltip(text))
        self.notice.setProperty("level", level)
        self._repolish(self.notice)
        self._notice_timer.start((30 if level != "info" else 10) * 1000)

    def add_setup_note(self, note: str) -> None:
        """A start-up problem that changes what works: one line here, details on click."""
        if not note or note in self._setup_notes:
            return
        self._setup_notes.append(note)
        first = self._setup_notes[0].split(". ")[0].split(": ")[0].rstrip(".")
        more = len(self._setup_notes) - 1
        suffix = (f" (+{more} more)" if more else "") + " — details…"
        # A button is as wide as its text: elide the sentence so the status bar (and with it
        # the window) never grows past a 1366-pixel screen; the whole text is the tooltip.
        room = SETUP_WIDTH - self.setup.fontMetrics().horizontalAdvance(suffix)
        shown = self.setup.fontMetrics().elidedText(
            "⚠ " + fmt.display_text(first), Qt.TextElideMode.ElideRight, max(room, 40)
        )
        self.setup.setText(fmt.tab_text(shown) + suffix)
        self.setup.setToolTip(fmt.rich_tooltip("\n\n".join(self._setup_notes)))
        self.setup.setVisible(True)

    def setup_notes(self) -> tuple[str, ...]:
        return tuple(self._setup_notes)

    def show_setup_details(self) -> None:
        box = QMessageBox(self.window())
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("What is not working on this computer")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(fmt.display_text("\n\n".join(self._setup_notes), multiline=True))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def refresh_store(self) -> None:
        """Ask the store status again (the sync engine or the change bus says something
        changed); a request while one is running asks once more when it answers."""
        if self._source is None:
            return
        if self._probing:
            self._probe_again = True
            return
        self._probing = True
        self._bridge.submit(
            self._source,
            lane="central",
            on_done=self._on_store_status,
            on_error=lambda e: self._on_store_status(StoreStatus(False, -1, detail=str(e))),
        )

    def refresh_latency(self) -> None:
        summary = self._recorder.summary()
        self.latency.setText(f"Pop: {summary.last_ms:.0f} ms" if summary.count else "Pop: –")
        self.latency.setToolTip("Ring → screen pop painted: " + summary.describe())

    def _on_store_status(self, status: StoreStatus) -> None:
        self._probing = False
        if self._probe_again:
            self._probe_again = False
            self.refresh_store()
        self.store.setText(
            status.describe() if status.pending_writes >= 0 else "Store status unknown"
        )
        self.store.setToolTip(fmt.rich_tooltip(status.detail or status.describe()))
        self.store.setProperty("level", "ok" if status.central_online else "bad")
        self._repolish(self.store)

    @staticmethod
    def _repolish(widget: QWidget) -> None:
        widget.style().unpolish(widget)
        widget.style().polish(widget)
