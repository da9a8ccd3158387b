"""The wallboard's building blocks: sortable live tables and the alerts panel."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, TypeVar

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
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
