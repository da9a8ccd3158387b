"""The wallboard's widgets and how they are arranged (normal desk mode)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from agentdesk.services.supervisor import (
    STATUS_LABELS,
    AgentStatus,
    IntervalSeries,
    SupervisorSettings,
)
from agentdesk.services.supervisor.history import StaffingRow, staffing_rows
from agentdesk.ui import format as fmt
from agentdesk.ui.supervisor.charts import IntervalChart
from agentdesk.ui.supervisor.columns import (
    AGENT_COLUMNS,
    LATENCY_COLUMNS,
    QUEUE_COLUMNS,
    STAFFING_COLUMNS,
)
from agentdesk.ui.supervisor.panels import (
    AlertsPanel,
    BoardFrame,
    LiveTable,
    SteadyLabel,
    live_table,
)
from agentdesk.ui.supervisor.theme import DESK_STYLE

_SIZED_ROWS = 60  # agent rows measured when the columns are first sized
_WALL_STATES = (AgentStatus.AVAILABLE, AgentStatus.ON_CALL)
_SUMMARY_STATES = (
    AgentStatus.AVAILABLE, AgentStatus.ON_CALL, AgentStatus.RINGING, AgentStatus.WRAP_UP,
    AgentStatus.PAUSED,
)  # fmt: skip


def _label(text: str, name: str, parent: QWidget) -> QLabel:
    label = fmt.plain(QLabel(text, parent))
    label.setObjectName(name)
    return label


class BoardLayout:
    """Builds and holds the wallboard's widgets; knows how to show totals and staffing."""

    def __init__(self, window: QWidget, settings: SupervisorSettings) -> None:
        self.settings = settings
        root = self.root = QWidget(window)
        root.setObjectName("boardRoot")
        window.setStyleSheet(DESK_STYLE)
        self.title = _label("Supervisor wallboard", "boardTitle", root)
        self.link = _label("Server: connecting…", "linkState", root)
        self.totals = SteadyLabel("totals", root)  # changes every second: no relayout
        # Long totals wrap instead of widening the window past the screen (wall mode).
        self.totals.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.totals.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.compact_totals = False
        self.definition = _label(self._definition_text(), "definition", root)
        self.definition.setWordWrap(True)
        self.queues: LiveTable = live_table(QUEUE_COLUMNS, lambda r: r.name, root)
        # Why callers wait (paused, wrong skill, not in that queue): shown while any wait.
        self.wait_note = SteadyLabel("waitNote", root)
        self.wait_note.setVisible(False)
        self.agents: LiveTable = live_table(AGENT_COLUMNS, lambda r: r.key, root)
        self.agent_filter = QLineEdit(root)
        self.agent_filter.setPlaceholderText("Filter agents by name, state, reason, queue…")
        self.agent_filter.setClearButtonEnabled(True)
        self.alerts = AlertsPanel(root)
        self.chart = IntervalChart(root)
        self.staffing: LiveTable = live_table(STAFFING_COLUMNS, lambda r: r.start, root)
        self.staffing.setSortingEnabled(False)
        self.staffing_note = _label("", "staffingNote", root)
        self.staffing_note.setWordWrap(True)
        self.latency: LiveTable = live_table(LATENCY_COLUMNS, lambda r: r.workstation, root)
        self.tabs = QTabWidget(root)
        self.tabs.addTab(self.chart, "Today vs last week")
        self.tabs.addTab(self._stack(self.staffing_note, self.staffing), "Staffing")
        self.tabs.addTab(self.latency, "Pop latency")
        self._arrange()

    def _definition_text(self) -> str:
        return (
            f"{self.settings.definition.describe()}. Windows: today since midnight and the last "
            "15/30/60 minutes; calls count in the interval they entered the queue. The top line "
            "counts each agent once; a queue's row counts its members, so an agent in several "
            "queues is in each of their rows."
        )

    def _stack(self, *widgets: QWidget) -> QWidget:
        box = QWidget(self.root)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in widgets:
            layout.addWidget(widget)
        return box

    def _arrange(self) -> None:
        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addWidget(self.link)
        header.addWidget(self.totals, 1)
        # Queues across the full width (they are what the floor is judged on); agents
        # beside alerts and the charts below them.
        self.right = QSplitter(Qt.Orientation.Vertical, self.root)
        self.right.addWidget(self.alerts)
        self.right.addWidget(self.tabs)
        self.right.setStretchFactor(0, 1)
        self.right.setStretchFactor(1, 2)
        self.right.setSizes([190, 330])
        self.bottom = QSplitter(Qt.Orientation.Horizontal, self.root)
        self.bottom.addWidget(self._stack(self.agent_filter, self.agents))
        self.bottom.addWidget(self.right)
        self.bottom.setStretchFactor(0, 5)
        self.bottom.setStretchFactor(1, 4)
        self.bottom.setSizes([760, 600])
        self.main = QSplitter(Qt.Orientation.Vertical, self.root)
        self.main.addWidget(self._stack(self.queues, self.wait_note))
        self.main.addWidget(self.bottom)
        self.main.setStretchFactor(0, 0)
        self.main.setStretchFactor(1, 1)
        self.main.setSizes([175, 475])  # four queues and the why-they-wait line at 768 px
        self.layout = QVBoxLayout(self.root)
        self.layout.setContentsMargins(8, 6, 8, 6)
        self.layout.addLayout(header)
        self.layout.addWidget(self.definition)
        self.layout.addWidget(self.main, 1)
        self.queues.setMinimumHeight(90)
        # Fit-to-contents re-measures every row on every change: fine for a few queues,
        # far too slow for 500 agents ticking each second (those are sized once, below).
        for table in (self.queues, self.latency, self.staffing):
            table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
            table.horizontalHeader().setStretchLastSection(True)
        self._agents_sized = False

    # ------------------------------------------------------------------ updates
    def show_link(
        self, up: bool, detail: str, *, since: float | None = None, server: bool = True
    ) -> None:
        """The badge in words: "PBX: connected", "PBX: link down since 10:42", or the server
        itself out of reach (``server`` False) since when; ``detail`` in the tooltip."""
        when = (
            dt.datetime.fromtimestamp(since, self.settings.metrics.tz).strftime("%H:%M")
            if since is not None
            else ""
        )
        if up:
            text = "PBX: connected"
        elif not server:
            text = f"Server: no connection since {when}" if when else "Server: connecting…"
        else:
            text = f"PBX: link down since {when}" if when else "PBX: link down"
        _set_text(self.link, text)
        tip = fmt.rich_tooltip(detail)
        if self.link.toolTip() != tip:
            self.link.setToolTip(tip)
        state = "up" if up else "down"
        if self.link.property("state") != state:  # a re-polish restyles: only on a change
            self.link.setProperty("state", state)
            self.link.style().unpolish(self.link)
            self.link.style().polish(self.link)

    def size_agent_columns(self) -> None:
        """Fit the agent columns to the first rows once; afterwards the user's widths stand."""
        if self._agents_sized or not self.agents.source.rowCount():
            return
        self._agents_sized = True
        # The first screenful or so decides: measuring all 500 rows took 60 ms.
        self.agents.horizontalHeader().setResizeContentsPrecision(_SIZED_ROWS)
        self.agents.resizeColumnsToContents()
        header = self.agents.horizontalHeader()
        # Room for what arrives later (a caller, a longer state) than the first rows show.
        minimum = {"Agent": 110, "State": 90, "Reason": 90, "Caller": 230, "Call queue": 90}
        for column, spec in enumerate(self.agents.source.columns):
            width = max(header.sectionSize(column) + 12, minimum.get(spec.title, 0))
            header.resizeSection(column, width)

    def show_totals(self, frame: BoardFrame, now: float) -> None:
        """The header's figures and why callers wait, with the clocks at ``now``."""
        longest = fmt.duration(now - frame.oldest) if frame.oldest is not None else "–"
        parts = [f"Waiting {frame.waiting}", f"Longest {longest}"]
        shown = _WALL_STATES if self.compact_totals else _SUMMARY_STATES
        parts += [f"{STATUS_LABELS[s]} {frame.states.get(s, 0)}" for s in shown]
        parts = [p.replace(" ", "\u00a0") for p in parts]  # wrap between figures, not inside
        self.totals.setText("   ".join(parts))
        reasons = frame.reasons.lines(now)
        self.wait_note.setText("Why callers wait: " + "  ·  ".join(reasons) if reasons else "")
        self.wait_note.setVisible(bool(reasons))

    def show_staffing(
        self,
        today: IntervalSeries,
        reference: IntervalSeries | None,
        logged_in: int,
        now: float,
        observed: Mapping[dt.datetime, float] | None = None,
        watching_since: float | None = None,
    ) -> None:
        """The staffing table. ``logged_in``: agents logged in to a queue now.
        ``observed``: the average number of agents logged in to a queue per interval
        as this wallboard saw them (interval start -> agents); those figures replace
        the day series' (which counts only the agent time the server's queue events
        recorded, none for an agent logged in before it started)."""
        config = self.settings.metrics
        moment = dt.datetime.fromtimestamp(now, config.tz)
        rows = list(staffing_rows(today, reference, config, moment))
        observed = observed or {}
        span = dt.timedelta(minutes=_minutes(today))
        for index, row in enumerate(rows):
            if row.start in observed:
                rows[index] = dataclasses.replace(row, actual=observed[row.start])
        have = {r.start for r in rows}
        rows += [
            StaffingRow(start, 0.0, None, None, agents)
            for start, agents in observed.items()
            if start not in have and start.date() == today.day
        ]
        rows.sort(key=lambda r: r.start)
        self.staffing.source.set_rows(rows, now)
        current = next((r for r in rows if r.start <= moment < r.start + span), None)
        needed = "–" if current is None or current.required is None else str(current.required)
        seen = (
            dt.datetime.fromtimestamp(watching_since, config.tz).strftime("%H:%M")
            if watching_since is not None
            else "now"
        )
        self.staffing_note.setText(
            f"Now: {logged_in} agents logged in; Erlang C asks for {needed} this interval "
            f"({self.settings.definition.target:.0%} within "
            f"{self.settings.definition.threshold_s:g} s). Staffed: agents logged in to a "
            f"queue, as this wallboard has seen them since {seen}; earlier intervals from "
            "the server's queue events."
        )


def _set_text(label: QLabel, text: str) -> None:
    """Set ``label``'s text only when it differs (a new text re-lays out the window)."""
    if label.text() != text:
        label.setText(text)


def _minutes(series: IntervalSeries) -> int:
    return 1440 if series.interval.value == "day" else int(series.interval.value)
