"""A table model over keyed frozen rows that updates in place and ticks time columns.

The rows are immutable values from the supervisor service; the model keeps
them in order and mirrors what each cell shows (text, colour, alignment,
sort key) into Qt's C++ item store, so painting, sorting and filtering a
500-agent board never calls back into Python. (With a Python ``data()``
every visible cell costs several C++ → Python calls per paint, and each one
waits for the GIL while the telephony thread is busy: paints of 100 ms.)

Live views replace their rows several times a second. A reset would drop
the selection and scroll position each time, so :meth:`set_rows` compares
the new rows with the old by key: unchanged rows stay untouched, changed
ones are rewritten, new and gone ones are inserted and removed where they
belong, and all changes are announced as one ``dataChanged`` span. Columns
marked ``ticking`` (time in state, longest wait) are computed from the row
and the model's clock; :meth:`tick` moves the clock and rewrites only those.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QStandardItem, QStandardItemModel

R = TypeVar("R")
SORT_ROLE = Qt.ItemDataRole.UserRole + 2  # a sortable value (numbers sort as numbers)
# Flags made once: building one per cell (Qt.AlignmentFlag(int)) cost ~0.1 ms each, so
# the first 500-agent board took 300 ms to insert.
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
_DISPLAY = Qt.ItemDataRole.DisplayRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_Cell = tuple[str, Any, str | None]  # text, sort key, colour name


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


class LiveTableModel(QStandardItemModel, Generic[R]):
    """Read-only, keyed, diff-updated model; ``key`` identifies a row across updates."""

    rows_set = Signal()  # after each set_rows: views restore their selection by key

    def __init__(
        self,
        columns: Sequence[LiveColumn[R]],
        key: Callable[[R], Hashable],
        parent: Any = None,
    ) -> None:
        super().__init__(0, len(columns), parent)
        self._columns = tuple(columns)
        self._key = key
        self._rows: list[R] = []
        self._keys: list[Hashable] = []  # each row's key, in row order
        self._cells: list[list[_Cell]] = []  # what the C++ items hold, to skip unchanged cells
        self._now = 0.0
        self._ticking = [i for i, c in enumerate(self._columns) if c.ticking]
        self._colours: dict[str, QColor] = {}
        self._colour_map: dict[str, str] = {}
        self.updating = False  # True inside set_rows: selection changes are not the user's
        for index, column in enumerate(self._columns):
            header = QStandardItem(column.title)
            if column.tooltip:
                header.setToolTip(column.tooltip)
            self.setHorizontalHeaderItem(index, header)
        self.setSortRole(SORT_ROLE)

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

    def cell(self, row: int, column: int) -> tuple[str, QColor | None, bool]:
        """Text, colour and right-alignment of one cell, computed from the frozen row."""
        item, spec = self._rows[row], self._columns[column]
        name = spec.colour(item, self._now) if spec.colour is not None else None
        return spec.text(item, self._now), self._colour(name) if name else None, spec.numeric

    def _colour(self, name: str) -> QColor:
        colour = self._colours.get(name)
        if colour is None:
            colour = self._colours[name] = QColor(self._colour_map.get(name, name))
        return colour

    def set_colour_map(self, mapping: dict[str, str]) -> None:
        """Show each column colour ``name`` as ``mapping[name]`` (the wall screen's palette)."""
        self._colour_map = dict(mapping)
        self._colours.clear()
        if not self._rows:
            return
        blocked = self.blockSignals(True)
        try:
            for row, cells in enumerate(self._cells):
                for column, (_text, _sort, colour) in enumerate(cells):
                    if colour:
                        self.item(row, column).setData(self._colour(colour), _FOREGROUND)
        finally:
            self.blockSignals(blocked)
        self.dataChanged.emit(
            self.index(0, 0), self.index(len(self._rows) - 1, len(self._columns) - 1)
        )

    # -------------------------------------------------------------- updates
    def set_rows(self, rows: Sequence[R], now: float | None = None) -> None:
        """Replace the rows (in the given order), making the smallest set of changes."""
        if now is not None:
            self._now = now
        self.updating = True
        try:
            self._apply(list(rows))
        finally:
            self.updating = False
        self.rows_set.emit()

    def key_of(self, row: R) -> Hashable:
        return self._key(row)

    def find_key(self, key: Hashable) -> int | None:
        return self._find(key, 0)

    def _apply(self, new: list[R]) -> None:
        new_keys = [self._key(r) for r in new]
        if new_keys != self._keys:
            self._reorder(new, new_keys)
        # Unchanged rows are usually the very same objects: test identity before equality.
        changed = [
            position
            for position, (old, fresh) in enumerate(zip(self._rows, new, strict=True))
            if old is not fresh and old != fresh
        ]
        for position in changed:
            self._rows[position] = new[position]
        self._rewrite(changed, range(len(self._columns)))

    def _reorder(self, new: list[R], new_keys: list[Hashable]) -> None:
        """Insert, move and remove rows until the keys are ``new_keys`` (values not yet)."""
        self._remove_gone(set(new_keys))
        present = set(self._keys)
        position = 0
        while position < len(new_keys):
            key = new_keys[position]
            if position < len(self._keys) and self._keys[position] == key:
                position += 1
                continue
            found = self._find(key, position + 1) if key in present else None
            if found is None:
                end = position + 1  # new rows side by side go in together
                while end < len(new_keys) and new_keys[end] not in present:
                    end += 1
                self._insert(position, new[position:end], new_keys[position:end])
                position = end
                continue
            # QStandardItemModel cannot move rows: take the row out and put it back.
            self._rows.insert(position, self._rows.pop(found))
            self._keys.insert(position, self._keys.pop(found))
            self._cells.insert(position, self._cells.pop(found))
            self.insertRow(position, self.takeRow(found))
            position += 1

    def _insert(self, position: int, rows: list[R], keys: list[Hashable]) -> None:
        """New rows at ``position``: one ``rowsInserted`` for the run, then their cells.

        Row by row, the first 500-agent board cost 500 proxy and view round trips
        (a quarter of a second with the window frozen)."""
        cells = [[self._values(row, c) for c in self._columns] for row in rows]
        self._rows[position:position] = rows
        self._keys[position:position] = keys
        self._cells[position:position] = cells
        if len(rows) == 1:
            self.insertRow(position, [self._item(c, v) for c, v in zip(
                self._columns, cells[0], strict=True)])  # fmt: skip
            return
        self.insertRows(position, len(rows))
        blocked = self.blockSignals(True)  # the cells are announced below, in one span
        try:
            for offset, values in enumerate(cells):
                for column, spec in enumerate(self._columns):
                    self.setItem(position + offset, column, self._item(spec, values[column]))
        finally:
            self.blockSignals(blocked)
        self.dataChanged.emit(
            self.index(position, 0), self.index(position + len(rows) - 1, len(self._columns) - 1)
        )

    def _remove_gone(self, wanted: set[Hashable]) -> None:
        """Remove rows whose key is gone, bottom up, in contiguous runs."""
        row = len(self._keys) - 1
        while row >= 0:
            if self._keys[row] in wanted:
                row -= 1
                continue
            last = row
            while row - 1 >= 0 and self._keys[row - 1] not in wanted:
                row -= 1
            del self._rows[row : last + 1]
            del self._keys[row : last + 1]
            del self._cells[row : last + 1]
            self.removeRows(row, last - row + 1)
            row -= 1

    def _find(self, key: Hashable, start: int) -> int | None:
        try:
            return self._keys.index(key, start)
        except ValueError:
            return None

    def _values(self, row: R, column: LiveColumn[R]) -> _Cell:
        text = column.text(row, self._now)
        sort = column.sort(row, self._now) if column.sort is not None else text
        colour = column.colour(row, self._now) if column.colour is not None else None
        return text, -1.0 if sort is None else sort, colour

    def _item(self, column: LiveColumn[R], values: _Cell) -> QStandardItem:
        item = QStandardItem()
        item.setFlags(_FLAGS)
        item.setTextAlignment(_RIGHT if column.numeric else _LEFT)
        self._store(item, values, None)
        return item

    def _store(self, item: QStandardItem, values: _Cell, old: _Cell | None) -> None:
        text, sort, colour = values
        if old is None or old[0] != text:
            item.setData(text, _DISPLAY)
        if old is None or old[1] != sort:
            item.setData(sort, SORT_ROLE)
        if (old is None and colour) or (old is not None and old[2] != colour):
            item.setData(self._colour(colour) if colour else None, _FOREGROUND)

    def _rewrite(self, rows: Sequence[int], columns: Sequence[int] | range) -> None:
        """Store what changed in ``rows`` × ``columns``; one ``dataChanged`` per run of
        changed rows (a view repaints only the runs it shows), or one for the whole span
        when the runs are many."""
        if not rows or not columns:
            return
        touched: list[int] = []
        first, last = len(self._columns), -1
        # Per-cell signals would cost one proxy/view round trip each: batch them.
        blocked = self.blockSignals(True)
        try:
            for row in rows:
                value, cells = self._rows[row], self._cells[row]
                hit = False
                for column in columns:
                    fresh = self._values(value, self._columns[column])
                    if fresh != cells[column]:
                        self._store(self.item(row, column), fresh, cells[column])
                        cells[column] = fresh
                        hit = True
                        first, last = min(first, column), max(last, column)
                if hit:
                    touched.append(row)
        finally:
            self.blockSignals(blocked)
        for top, bottom in _runs(touched):
            self.dataChanged.emit(self.index(top, first), self.index(bottom, last))

    def tick(self, now: float, rows: Sequence[int] | None = None) -> None:
        """Move the clock and rewrite the ticking columns of ``rows`` (default: all)."""
        self._now = now
        if self._rows and self._ticking:
            wanted = (
                range(len(self._rows))
                if rows is None
                else [r for r in rows if 0 <= r < len(self._rows)]
            )
            self._rewrite(wanted, self._ticking)


_MAX_RUNS = 16  # more runs than this are announced as one span
_GAP = 4  # unchanged rows between two changed ones still joined into one run


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """Changed ``rows`` as (first, last) runs, near neighbours joined; one span if many."""
    if not rows:
        return []
    ordered = sorted(rows)
    runs = [(ordered[0], ordered[0])]
    for row in ordered[1:]:
        top, bottom = runs[-1]
        if row - bottom <= _GAP:
            runs[-1] = (top, row)
        else:
            runs.append((row, row))
    return runs if len(runs) <= _MAX_RUNS else [(ordered[0], ordered[-1])]
