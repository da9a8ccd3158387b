"""The status bar: PBX link, store and sync state, pending writes, pop latency, notices."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QSizePolicy, QStatusBar, QWidget

from agentdesk.services.desk.pop_latency import PopLatencyRecorder
from agentdesk.ui import format as fmt
from agentdesk.ui.bridge import Bridge


@dataclass(frozen=True)
class StoreStatus:
    """What the status bar says about the stores (computed off the GUI thread)."""

    central_online: bool
    pending_writes: int
    oldest_pending_seconds: float | None = None
    last_sync: str | None = None
    detail: str = ""

    def describe(self) -> str:
        where = "Server: online" if self.central_online else "Server: OFFLINE (working from cache)"
        if not self.pending_writes:
            return f"{where} · all saved on the server"
        age = (
            f", oldest {fmt.duration(self.oldest_pending_seconds)}"
            if self.oldest_pending_seconds
            else ""
        )
        return f"{where} · {self.pending_writes} change(s) waiting to sync{age}"


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
        for label in (self.store, self.latency, self.pbx):
            self.addPermanentWidget(label)
        self._notice_until = 0.0
        self._probing = False
        self._timer = QTimer(self)
        self._timer.setInterval(2000)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self._tick()

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
        self._notice_until = time.monotonic() + (30 if level != "info" else 10)

    def refresh_store(self) -> None:
        """Ask the store status again now (the sync engine says something changed)."""
        self._tick()

    def refresh_latency(self) -> None:
        summary = self._recorder.summary()
        self.latency.setText(f"Pop: {summary.last_ms:.0f} ms" if summary.count else "Pop: –")
        self.latency.setToolTip("Ring → screen pop painted: " + summary.describe())

    def _tick(self) -> None:
        if self._notice_until and time.monotonic() > self._notice_until:
            self.notice.clear()
            self._notice_until = 0.0
        self.refresh_latency()
        if self._source is not None and not self._probing:
            self._probing = True
            self._bridge.submit(
                self._source,
                lane="central",
                on_done=self._on_store_status,
                on_error=lambda e: self._on_store_status(StoreStatus(False, -1, detail=str(e))),
            )

    def _on_store_status(self, status: StoreStatus) -> None:
        self._probing = False
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
