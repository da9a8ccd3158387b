"""Wall-screen mode: full screen, black, large bold type, only what reads from across the room."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHeaderView, QLabel

from agentdesk.services.supervisor.alerts import Alert, Severity
from agentdesk.ui import format as fmt
from agentdesk.ui.supervisor.charts import WALL_PALETTE, IntervalChart
from agentdesk.ui.supervisor.columns import WALL_QUEUE_COLUMNS
from agentdesk.ui.supervisor.theme import DESK_STYLE, WALL_COLOURS, wall_style

if TYPE_CHECKING:
    from agentdesk.ui.supervisor.wallboard import WallboardWindow


class WallMode:
    """Switches a wallboard window between desk mode and wall-screen mode."""

    def __init__(self, window: WallboardWindow) -> None:
        self.window = window
        self.enabled = False
        ui = window.ui
        self.banner = fmt.plain(QLabel("", ui.root))
        self.banner.setObjectName("wallAlert")
        self.banner.setWordWrap(True)
        self.banner.hide()
        self.chart = IntervalChart(ui.root)
        self.chart.set_palette(WALL_PALETTE)
        self.chart.hide()
        ui.layout.insertWidget(2, self.banner)
        ui.layout.addWidget(self.chart, 1)

    def toggle(self) -> None:
        self.set_enabled(not self.enabled)

    def text_size(self) -> int:
        """Body text height in pixels: about 1/16 of the screen height (5 cm on a 55" panel)."""
        screen = self.window.screen()
        height = screen.geometry().height() if screen is not None else 768
        return max(28, height // 16)

    def set_enabled(self, on: bool) -> None:
        if on == self.enabled:
            return
        self.enabled = on
        window, ui = self.window, self.window.ui
        size = self.text_size()
        window.setStyleSheet(wall_style(size) if on else DESK_STYLE)
        ui.bottom.setVisible(not on)
        ui.definition.setVisible(True)
        window.toolbar.setVisible(not on)
        window.statusBar().setVisible(not on)
        ui.queues.show_only(WALL_QUEUE_COLUMNS if on else None)
        ui.queues.source.set_colour_map(WALL_COLOURS if on else {})
        ui.queues.setHorizontalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAlwaysOff if on else Qt.ScrollBarPolicy.ScrollBarAsNeeded
        )
        rows = ui.queues.verticalHeader()
        rows.setDefaultSectionSize(int(size * 1.35) if on else 24)
        ui.compact_totals = on
        header = ui.queues.horizontalHeader()
        header.setSectionResizeMode(
            QHeaderView.ResizeMode.Stretch if on else QHeaderView.ResizeMode.ResizeToContents
        )
        if on:  # queue names in full; the figures share the rest of the width
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.chart.min_unit = size / 3 if on else 0.0
        self.fit_queues()
        QTimer.singleShot(0, self.fit_queues)  # again once the large style is applied
        ui.queues.setAlternatingRowColors(not on)
        ui.queues.setSortingEnabled(not on)
        self.chart.setVisible(on)
        window.actions_by_id["wall"].setChecked(on)
        ui.title.setVisible(not on)
        if on:
            window.showFullScreen()
        else:
            self.banner.hide()
            window.showNormal()
        if window.last_snapshot is not None:
            self.show_alert(_first_open(window.last_snapshot.alerts))

    def fit_queues(self) -> None:
        """In wall mode the queue table is exactly as tall as its rows: no scrolling on a wall."""
        table = self.window.ui.queues
        if not self.enabled:
            table.setMinimumHeight(90)
            table.setMaximumHeight(16_777_215)
            return
        rows = table.proxy.rowCount()
        height = (
            table.horizontalHeader().height() + rows * table.verticalHeader().defaultSectionSize()
        )
        table.setMinimumHeight(height + 4)
        table.setMaximumHeight(height + 4)

    def show_alert(self, alert: Alert | None) -> None:
        if not self.enabled or alert is None:
            self.banner.hide()
            return
        self.banner.setText(f"⚠ {fmt.display_text(alert.message)}")
        level = "critical" if alert.severity is Severity.CRITICAL else "warning"
        self.banner.setProperty("level", level)
        self.banner.style().unpolish(self.banner)
        self.banner.style().polish(self.banner)
        self.banner.show()


def _first_open(alerts: tuple[Alert, ...]) -> Alert | None:
    return next((a for a in alerts if not a.acknowledged), None)
