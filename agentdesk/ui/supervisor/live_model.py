"""A table model over keyed frozen rows that updates in place and ticks time columns.

Live views replace their rows several times a second. A model reset would
drop the selection and scroll position each time, so :meth:`set_rows`
compares the new rows with the old by key: unchanged rows stay untouched,
changed ones get one ``dataChanged``, new and gone ones are inserted and
removed where they belong. Columns marked ``ticking`` (time in state,
longest wait) are computed from the row and the model's clock; :meth:`tick`
moves the clock and repaints only those columns.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

R = TypeVar("R")
ROW_ROLE = Qt.ItemDataRole.UserRole + 1  # the frozen row itself
SORT_ROLE = Qt.ItemDataRole.UserRole + 2  # a sortable value (numbers sort as numbers)
Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class LiveColumn(Generic[R]):
    """One column: its title, how to show a row at ``now``, and optional colour and sort key."""

    title: str
    text: Callable[[R, float], str]
    sort: Callable[[R, float], Any] | None = None
    colour: Callable[[R, float], str | None] | None = None
    tooltip: str = ""
    numeric: bool = False
    ticking: bool = False


class LiveTableModel(QAbstractTableModel, Generic[R]):
    """Read-only, keyed, diff-updated model; ``key`` identifies a row across updates."""

    def __init__(
        self,
        columns: Sequence[LiveColumn[R]],
        key: Callable[[R], Hashable],
        parent: Any = None,
    ) -> None:
        super().__init__(parent)
        self._columns = tuple(columns)
        self._key = key
        self._rows: list[R] = []
        self._now = 0.0
        self._ticking = [i for i, c in enumerate(self._columns) if c.ticking]
        self._colours: dict[str, QColor] = {}

    # -------------------------------------------------------------- data access
    @property
    def rows(self) -> tuple[R, ...]:
        return tuple(self._rows)

    @property
    def columns(self) -> tuple[LiveColumn[R], ...]:
        return self._columns

    @property
    def now(self) -> float:
        return self._now

    def row_at(self, row: int) -> R | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def set_rows(self, rows: Sequence[R], now: float | None = None) -> None:
        """Replace the rows (in the given order), emitting the smallest set of changes."""
        if now is not None:
            self._now = now
        new = list(rows)
        new_keys = [self._key(r) for r in new]
        wanted = set(new_keys)
        # 1. Remove rows whose key is gone (from the bottom, in contiguous runs).
        row = len(self._rows) - 1
        while row >= 0:
            if self._key(self._rows[row]) in wanted:
                row -= 1
                continue
            last = row
            while row - 1 >= 0 and self._key(self._rows[row - 1]) not in wanted:
                row -= 1
            self.beginRemoveRows(QModelIndex(), row, last)
            del self._rows[row : last + 1]
            self.endRemoveRows()
            row -= 1
        # 2. Walk the new order: insert what is missing, move what is out of place, update.
        for position, (key, fresh) in enumerate(zip(new_keys, new, strict=True)):
            current = self._key(self._rows[position]) if position < len(self._rows) else None
            if current == key:
                if self._rows[position] != fresh:
                    self._rows[position] = fresh
                    self._changed(position, position)
                continue
            found = self._find(key, position + 1)
            if found is None:
                self.beginInsertRows(QModelIndex(), position, position)
                self._rows.insert(position, fresh)
                self.endInsertRows()
            else:
                self.beginMoveRows(QModelIndex(), found, found, QModelIndex(), position)
                self._rows.insert(position, self._rows.pop(found))
                self.endMoveRows()
                if self._rows[position] != fresh:
                    self._rows[position] = fresh
                    self._changed(position, position)

    def _find(self, key: Hashable, start: int) -> int | None:
        for index in range(start, len(self._rows)):
            if self._key(self._rows[index]) == key:
                return index
        return None

    def _changed(self, first: int, last: int) -> None:
        right = len(self._columns) - 1
        self.dataChanged.emit(self.index(first, 0), self.index(last, right))

    def tick(self, now: float) -> None:
        """Move the clock: repaint the ticking columns (one signal per column)."""
        self._now = now
        if not self._rows:
            return
        for column in self._ticking:
            top, bottom = self.index(0, column), self.index(len(self._rows) - 1, column)
            self.dataChanged.emit(top, bottom, [Qt.ItemDataRole.DisplayRole, SORT_ROLE])

    # -------------------------------------------------------------- Qt interface
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        if not 0 <= index.column() < len(self._columns):
            return None
        row, column = self._rows[index.row()], self._columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(row, self._now)
        if role == SORT_ROLE:
            value = column.sort(row, self._now) if column.sort else column.text(row, self._now)
            return -1.0 if value is None else value
        if role == Qt.ItemDataRole.ForegroundRole and column.colour is not None:
            name = column.colour(row, self._now)
            return self._colour(name) if name else None
        if role == Qt.ItemDataRole.TextAlignmentRole and column.numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and column.tooltip:
            return column.tooltip
        if role == ROW_ROLE:
            return row
        return None

    def _colour(self, name: str) -> QColor:
        colour = self._colours.get(name)
        if colour is None:
            colour = self._colours[name] = QColor(name)
        return colour

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self._columns):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._columns[section].title
        if role == Qt.ItemDataRole.ToolTipRole and self._columns[section].tooltip:
            return self._columns[section].tooltip
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemNeverHasChildren
        )
