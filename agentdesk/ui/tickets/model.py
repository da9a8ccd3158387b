"""Ticket table model with a live SLA countdown, and the proxy that sorts and filters it.

The countdown is computed from the stored due time and the model's ``now``;
a timer in the pane calls ``tick`` so only the SLA column repaints. Colours
mark tickets near and past breach.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor

from agentdesk.services.tickets.sla import SlaState, format_countdown, sla_state
from agentdesk.services.tickets.views import TicketRow
from agentdesk.ui import format as fmt

ROW_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
Index = QModelIndex | QPersistentModelIndex
PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
NEAR_COLOUR, BREACH_COLOUR = QColor("#f9a825"), QColor("#c62828")

COLUMNS: tuple[tuple[str, Callable[[TicketRow], str]], ...] = (
    ("Number", lambda r: r.number),
    ("Customer", lambda r: r.customer_name),
    # A reason the SLA policy does not list (older or imported tickets) still reads as words.
    (
        "Reason",
        lambda r: fmt.label("reason", r.reason) if r.reason_label == r.reason else r.reason_label,
    ),
    ("Priority", lambda r: r.priority.title()),
    ("Status", lambda r: r.status.title()),
    ("Team", lambda r: r.team),
    ("Assignee", lambda r: r.assignee or "Unassigned"),
)
SLA_COLUMN = len(COLUMNS)


class TicketTableModel(QAbstractTableModel):
    """Read-only table over ``TicketRow`` values plus the computed SLA column."""

    def __init__(self, near_fraction: float = 0.25, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: tuple[TicketRow, ...] = ()
        self._near = near_fraction
        self._now = dt.datetime.now(dt.UTC)

    def set_rows(self, rows: Sequence[TicketRow]) -> None:
        """Show ``rows``, changing only what differs so selection and scroll stay.

        Kept tickets keep their source row (the proxy sorts), changed ones are repainted,
        gone ones removed and new ones appended.
        """
        fresh = {r.id: r for r in rows}
        current = list(self._rows)
        row = len(current) - 1
        while row >= 0:  # remove gone tickets in runs, bottom up
            if current[row].id in fresh:
                row -= 1
                continue
            end = row
            while row >= 0 and current[row].id not in fresh:
                row -= 1
            self.beginRemoveRows(QModelIndex(), row + 1, end)
            del current[row + 1 : end + 1]
            self._rows = tuple(current)
            self.endRemoveRows()
        last = len(COLUMNS)
        for n, old in enumerate(current):
            new = fresh[old.id]
            if new != old:
                current[n] = new
                self._rows = tuple(current)
                self.dataChanged.emit(self.index(n, 0), self.index(n, last))
        known = {r.id for r in current}
        added = [r for r in rows if r.id not in known]
        if added:
            self.beginInsertRows(QModelIndex(), len(current), len(current) + len(added) - 1)
            self._rows = (*current, *added)
            self.endInsertRows()

    def row_at(self, row: int) -> TicketRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def find(self, ticket_id: object) -> int:
        return next((n for n, r in enumerate(self._rows) if r.id == ticket_id), -1)

    def tick(self, now: dt.datetime | None = None) -> None:
        """Move the clock; repaint only the SLA column."""
        self._now = now or dt.datetime.now(dt.UTC)
        if self._rows:
            self.dataChanged.emit(
                self.index(0, SLA_COLUMN), self.index(len(self._rows) - 1, SLA_COLUMN)
            )

    def state(self, row: TicketRow) -> SlaState:
        due = row.sla_due
        start = row.created_at if row.first_responded_at is None else row.first_responded_at
        return sla_state(due, min(start, due) if due else start, self._now, self._near)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS) + 1

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole or orientation != Qt.Orientation.Horizontal:
            return None
        if 0 <= section < len(COLUMNS):
            return COLUMNS[section][0]
        return "SLA due" if section == SLA_COLUMN else None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row, column = self._rows[index.row()], index.column()
        if role == ROW_ROLE:
            return row
        if column == SLA_COLUMN:
            return self._sla_data(row, role)
        if not 0 <= column < len(COLUMNS):
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return fmt.display_text(COLUMNS[column][1](row))
        if role == SORT_ROLE:
            return (
                PRIORITY_RANK.get(row.priority, 0)
                if column == 3
                else COLUMNS[column][1](row).lower()
            )
        if role == Qt.ItemDataRole.ToolTipRole and column == 0:
            return fmt.rich_tooltip(row.title)
        return None

    def _sla_data(self, row: TicketRow, role: int) -> Any:
        due = row.sla_due
        if role == SORT_ROLE:
            return due.timestamp() if due else float("inf")
        if due is None:
            return "—" if role == Qt.ItemDataRole.DisplayRole else None
        state = self.state(row)
        if role == Qt.ItemDataRole.DisplayRole:
            return format_countdown(due - self._now)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"SLA {state.value}: {format_countdown(due - self._now)}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"Due {due.astimezone():%d %b %Y %H:%M} ({state.value})"
        if role == Qt.ItemDataRole.BackgroundRole and state in (SlaState.NEAR, SlaState.BREACHED):
            return QBrush(NEAR_COLOUR if state is SlaState.NEAR else BREACH_COLOUR)
        if role == Qt.ItemDataRole.ForegroundRole and state in (SlaState.NEAR, SlaState.BREACHED):
            return QBrush(QColor("#000000") if state is SlaState.NEAR else QColor("#ffffff"))
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemNeverHasChildren
        )


class TicketFilterProxy(QSortFilterProxyModel):
    """Sorts by real values (priority rank, due time) and filters on any column's text."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setFilterKeyColumn(-1)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterRole(Qt.ItemDataRole.DisplayRole)
