"""The wallboard's building blocks: sortable live tables and the alerts panel."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from typing import Any, TypeVar

from PySide6.QtCore import QEvent, QObject, QRect, QSize, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from agentdesk.services.supervisor.alerts import Alert
from agentdesk.services.supervisor.views import (
    AgentRow,
    AgentStatus,
    BoardSnapshot,
    QueueMembership,
    QueueRow,
)
from agentdesk.ui.supervisor.columns import ALERT_COLUMNS
from agentdesk.ui.supervisor.live_model import SORT_ROLE, LiveColumn, LiveTableModel

R = TypeVar("R")


class LiveTable(QTableView):
    """A read-only, sortable view over a :class:`LiveTableModel` (through a proxy)."""

    def __init__(self, model: LiveTableModel[Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = model
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)
        self.setModel(self.proxy)
        self.setSortingEnabled(True)
        self.setAlternatingRowColors(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        self.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self._selected_key: Hashable | None = None
        self.selectionModel().selectionChanged.connect(self._on_selection_changed)
        model.rows_set.connect(self._on_source_rows_set)
        self.verticalScrollBar().valueChanged.connect(self._on_scrolled)

    def _on_selection_changed(self, *_args: object) -> None:
        if self.source.updating:
            return  # a row moved or vanished under the selection: not the user's choice
        row = self.selected_row()
        self._selected_key = self.source.key_of(row) if row is not None else None

    def _on_source_rows_set(self) -> None:
        """Keep the user's row selected however the rows moved."""
        if self._selected_key is None:
            return
        row = self.selected_row()
        if row is not None and self.source.key_of(row) == self._selected_key:
            return
        found = self.source.find_key(self._selected_key)
        if found is None:
            self.clearSelection()
            return
        index = self.proxy.mapFromSource(self.source.index(found, 0))
        self.selectRow(index.row())

    def tick(self, now: float) -> None:
        """Advance the clock columns of the rows on screen only.

        Time-in-state sorts by when the state began (constant), so rows off
        screen need no new text until they scroll in, which ticks them at once.
        """
        self.source.tick(now, self.visible_source_rows())

    def visible_source_rows(self) -> list[int]:
        first = self.rowAt(0)
        if first < 0:
            return []
        last = self.rowAt(self.viewport().height() - 1)
        last = self.proxy.rowCount() - 1 if last < 0 else last
        return [
            self.proxy.mapToSource(self.proxy.index(row, 0)).row() for row in range(first, last + 1)
        ]

    def _on_scrolled(self, _value: int) -> None:
        self.source.tick(self.source.now, self.visible_source_rows())

    def selected_row(self) -> Any:
        """The frozen row behind the selection (None when nothing is selected)."""
        indexes = self.selectionModel().selectedRows()
        if not indexes:
            return None
        return self.source.row_at(self.proxy.mapToSource(indexes[0]).row())

    def select_key(self, column: int, text: str) -> bool:
        """Select the first row whose ``column`` shows ``text`` (tests, keyboard jumps)."""
        for row in range(self.proxy.rowCount()):
            if self.proxy.index(row, column).data() == text:
                self.selectRow(row)
                return True
        return False

    def show_only(self, titles: Sequence[str] | None) -> None:
        """Hide every column not in ``titles`` (None shows them all)."""
        for index, column in enumerate(self.source.columns):
            self.setColumnHidden(index, titles is not None and column.title not in titles)


def live_table(
    columns: Sequence[LiveColumn[R]], key: Any, parent: QWidget | None = None
) -> LiveTable:
    model: LiveTableModel[R] = LiveTableModel(columns, key)
    table = LiveTable(model, parent)
    model.setParent(table)
    return table


def _alert_key(alert: Alert) -> Hashable:
    return alert.id


class AlertsPanel(QWidget):
    """Active alerts, newest and unacknowledged first, with an Acknowledge button."""

    acknowledge_requested = Signal(str)  # alert id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Alerts", self)
        self.title.setObjectName("panelTitle")
        self.table = live_table(ALERT_COLUMNS, _alert_key, self)
        self.table.setSortingEnabled(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.acknowledge = QPushButton("Acknowledge", self)
        self.acknowledge.setEnabled(False)
        self.acknowledge.setToolTip("record that you have seen this alert (you and the time)")
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.acknowledge)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.table)
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.acknowledge.clicked.connect(self._on_acknowledge_clicked)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)

    @property
    def model(self) -> LiveTableModel[Alert]:
        return self.table.source

    def set_alerts(self, alerts: tuple[Alert, ...], now: float) -> None:
        self.model.set_rows(alerts, now)
        open_count = sum(1 for a in alerts if not a.acknowledged)
        self.title.setText(f"Alerts ({open_count} open)" if alerts else "Alerts: none")
        self._on_selection_changed()

    def _on_selection_changed(self, *_args: object) -> None:
        alert = self.table.selected_row()
        self.acknowledge.setEnabled(alert is not None and not alert.acknowledged)

    def _on_acknowledge_clicked(self) -> None:
        alert = self.table.selected_row()
        if alert is not None and not alert.acknowledged:
            self.acknowledge_requested.emit(alert.id)


# ---------------------------------------------------------------------- why callers wait
_BUSY = frozenset({AgentStatus.ON_CALL, AgentStatus.ON_HOLD, AgentStatus.RINGING,
                   AgentStatus.WRAP_UP})  # fmt: skip


def _member(agent: AgentRow, queue: str) -> QueueMembership | None:
    return next((m for m in agent.memberships if m.queue == queue), None)


def _paused_in(agent: AgentRow, member: QueueMembership) -> bool:
    return member.paused or agent.status is AgentStatus.PAUSED


def _count(what: str, n: int) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def why_waiting(queue: QueueRow, agents: Sequence[AgentRow], now: float) -> str:
    """One sentence: why ``queue``'s callers wait, from the agents the floor shows.

    Free members (available, not paused) with a caller waiting: the PBX is not
    offering the call to them (ring strategy, wrap-up time, a penalty the caller
    may not reach); otherwise why nobody in the queue is free (paused, with
    their reasons; busy; none logged in) and whether available agents are
    simply not members of it.
    """
    longest = f", longest {_clock(now - queue.oldest_since)}" if queue.oldest_since else ""
    head = f"{queue.name}: {queue.waiting} waiting{longest}"
    members = [(a, m) for a in agents if (m := _member(a, queue.name)) is not None
               and a.status is not AgentStatus.LOGGED_OUT]  # fmt: skip
    free = [(a, m) for a, m in members
            if a.status is AgentStatus.AVAILABLE and not _paused_in(a, m)]  # fmt: skip
    ringing = [a for a, _m in members if a.status is AgentStatus.RINGING
               and a.call_queue == queue.name]  # fmt: skip
    outside = [a for a in agents if a.status is AgentStatus.AVAILABLE
               and _member(a, queue.name) is None and a.memberships]  # fmt: skip
    parts: list[str] = []
    if free:
        lowest = min(m.penalty for _a, m in members)
        skilled = [a for a, m in free if m.penalty > lowest]
        parts.append(f"{_count('free member', len(free))} in {queue.name}")
        if ringing:
            parts.append(f"{len(ringing)} ringing now")
        if skilled and len(skilled) == len(free):
            parts.append(
                f"wrong skill: every free member has a higher penalty than {lowest} "
                "(rung only when the caller's penalty limit allows)"
            )
        elif not ringing:
            parts.append("the PBX is not offering the call to them (ring strategy, "
                         "wrap-up time or the caller's penalty limit)")  # fmt: skip
    elif not members:
        parts.append(f"no agent is logged in to {queue.name}")
    else:
        paused = [(a, m) for a, m in members if _paused_in(a, m)]
        busy = [a for a, m in members if a.status in _BUSY and not _paused_in(a, m)]
        other = len(members) - len(paused) - len(busy)
        if paused:
            reasons = Counter((m.reason or a.reason or "no reason") for a, m in paused)
            detail = ", ".join(f"{r} {n}" for r, n in sorted(reasons.items()))
            parts.append(f"{len(paused)} of {len(members)} members paused ({detail})")
        if busy:
            parts.append(f"{len(busy)} on calls or wrap-up")
        if other > 0:
            parts.append(f"{other} unavailable (phone not reachable)")
    if outside:
        parts.append(f"not in that queue: {len(outside)} available in other queues only")
    return f"{head} — " + "; ".join(parts) if parts else head


def waiting_reasons(snapshot: BoardSnapshot, now: float) -> list[str]:
    """:func:`why_waiting` for every queue with a caller waiting (longest wait first)."""
    queues = sorted((q for q in snapshot.queues if q.waiting),
                    key=lambda q: q.oldest_since or now)  # fmt: skip
    return [why_waiting(q, snapshot.agents, now) for q in queues]


def _clock(seconds: float) -> str:
    whole = max(0, int(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


# ---------------------------------------------------------------------- windows on screen
FRAME_ALLOWANCE = QSize(12, 40)  # a window manager's frame before the first show tells us


def fit_on_screen(window: QWidget, wanted: QSize, available: QRect | None = None) -> None:
    """Size ``window`` to ``wanted`` or less so that it and its frame fit ``available``
    (the screen's work area: without panels), and place it centred there."""
    if available is None:
        screen = window.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            window.resize(wanted)
            return
        available = screen.availableGeometry()
    frame = window.frameGeometry().size() - window.geometry().size()
    if not window.isVisible() or frame.isEmpty():
        frame = FRAME_ALLOWANCE if QGuiApplication.platformName() != "offscreen" else QSize(0, 0)
    width = max(1, min(wanted.width(), available.width() - frame.width()))
    height = max(1, min(wanted.height(), available.height() - frame.height()))
    window.resize(width, height)
    size = window.size()  # a minimum size may have won
    x = available.x() + max(0, (available.width() - size.width() - frame.width()) // 2)
    y = available.y() + max(0, (available.height() - size.height() - frame.height()) // 2)
    window.move(x, y)


class _RefitOnFirstShow(QObject):
    """Fits its window once more right after it is first shown (when its frame is known)."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._window and event.type() == QEvent.Type.Show:
            self._window.removeEventFilter(self)
            QTimer.singleShot(0, self, self._refit)  # not after the window is gone
        return False

    def _refit(self) -> None:
        fit_on_screen(self._window, self._window.size())
        self.deleteLater()


def place_on_screen(window: QWidget, wanted: QSize) -> None:
    """:func:`fit_on_screen` now, and again once shown, with the window manager's frame."""
    fit_on_screen(window, wanted)
    window.installEventFilter(_RefitOnFirstShow(window))
