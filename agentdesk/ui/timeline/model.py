"""A list model over a customer's timeline that loads pages on demand, in a bounded window.

``canFetchMore``/``fetchMore`` ask the service for the next keyset page on
the bridge's local lane; while a page is on its way the model shows one
placeholder row, so the view paints at once and never waits. Changing the
filter starts a new *generation*: answers for an older one are dropped.

At most ``max_rows`` entries are held: scrolling down past that drops the
newest page from the top, and ``fetch_newer`` brings it back when the agent
scrolls up again. Memory and the view's per-insert layout work (which is
linear in the row count) therefore stay bounded for a 100 000-entry history.

The window can also be placed anywhere in the history: ``jump_to_oldest`` loads the
oldest page (the real end, whatever was loaded before) and ``jump_before(at)`` the
entries older than an instant (a date); from there the window grows both ways as usual.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from agentdesk.services.crm.timeline import (
    MAX_PAGE,
    TimelineCursor,
    TimelineEntry,
    TimelineFilter,
    TimelinePage,
)
from agentdesk.ui import format as fmt
from agentdesk.ui.bridge import Bridge

ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1  # the frozen TimelineEntry, or None for a placeholder
PLACEHOLDER_ROLE = Qt.ItemDataRole.UserRole + 2
_DAWN = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)  # before any entry: "newer than" it is all
_LOWEST_KEY = uuid.UUID(int=0)
Index = QModelIndex | QPersistentModelIndex
PageFetcher = Callable[[uuid.UUID, TimelineFilter, TimelineCursor | None, int], TimelinePage]
# Fetching newer rows always starts from the top row's cursor, so it is never None.
NewerPageFetcher = Callable[[uuid.UUID, TimelineFilter, TimelineCursor, int], TimelinePage]


class TimelineModel(QAbstractListModel):
    """Rows are ``TimelineEntry`` values; one trailing placeholder row while a page loads."""

    page_loaded = Signal(int)  # rows added
    load_failed = Signal(str)

    rows_shifted = Signal(int)  # rows added (+) or dropped (-) at the top, for the view's scroll
    jumped = Signal(bool)  # a jump's first page is in (True: the oldest end of the history)
    top_inserted = Signal(int)  # newer entries a refresh put on top (the view decides on scroll)
    refreshed = Signal()  # an in-place refresh was applied

    def __init__(
        self,
        bridge: Bridge,
        fetch: PageFetcher,
        page_size: int = 200,
        parent: Any = None,
        fetch_newer: NewerPageFetcher | None = None,
        max_rows: int | None = None,
    ) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._fetch = fetch
        self._fetch_newer = fetch_newer
        self._page_size = page_size
        self._max_rows = max(2 * page_size, max_rows or 3 * page_size)
        self._has_newer = False
        self._customer: uuid.UUID | None = None
        self._filter = TimelineFilter()
        self._entries: list[TimelineEntry] = []
        self._cursor: TimelineCursor | None = None
        self._exhausted = True
        self._loading = False
        self._applying = False  # views call fetchMore from row signals; not while we change rows
        self._refreshing = False  # an in-place refresh is on its way
        self._refresh_wanted = False  # asked while a page was loading: run once it has landed
        self._generation = 0
        self._jump_pending = False  # jump_before's first page is on its way

    # --- control ------------------------------------------------------------------------------

    @property
    def filter(self) -> TimelineFilter:
        return self._filter

    @property
    def loading(self) -> bool:
        return self._loading

    @property
    def exhausted(self) -> bool:
        return self._exhausted

    @property
    def has_newer(self) -> bool:
        """True when newer entries were dropped from the top of the window."""
        return self._has_newer

    def entry_count(self) -> int:
        return len(self._entries)

    def show(self, customer_id: uuid.UUID | None, flt: TimelineFilter | None = None) -> None:
        """Start over for ``customer_id`` with ``flt``; the first page is requested at once."""
        self.beginResetModel()
        self._generation += 1
        self._customer = customer_id
        self._filter = flt if flt is not None else self._filter
        self._entries = []
        self._cursor = None
        self._has_newer = False
        self._exhausted = customer_id is None
        self._loading = False
        self._refreshing = self._refresh_wanted = False
        self.endResetModel()
        if customer_id is not None:
            self.fetchMore(QModelIndex())

    def set_filter(self, flt: TimelineFilter) -> None:
        self.show(self._customer, flt)

    def reload(self) -> None:
        self.show(self._customer, self._filter)

    def refresh(self) -> None:
        """Re-read the loaded window from the top and apply the difference row by row.

        New entries are inserted, changed ones repainted, vanished ones removed; the rows
        the agent is reading keep their selection. Entries older than the re-read part
        stay as they were. When newer entries were trimmed off the top the window is not
        at the top, so new ones wait until the agent scrolls up (``fetch_newer``).
        """
        if self._customer is None:
            return
        if self._loading or self._refreshing:
            self._refresh_wanted = True
            return
        if self._has_newer:
            return
        self._refreshing = True
        generation = self._generation
        limit = min(max(self._page_size, len(self._entries)), MAX_PAGE)
        self._bridge.submit(
            self._fetch,
            self._customer,
            self._filter,
            None,
            limit,
            on_done=lambda page: self._on_refreshed(generation, page),
            on_error=lambda exc: self._on_refresh_failed(generation, exc),
        )

    def _on_refreshed(self, generation: int, page: TimelinePage) -> None:
        if generation != self._generation:
            return
        self._refreshing = False
        fresh = list(page.entries)
        cursor, exhausted = None, True  # the page holds every entry
        if page.next_cursor is not None and fresh:
            last = fresh[-1].cursor
            tail = [e for e in self._entries if e.cursor < last]
            fresh += tail  # older rows already loaded stay as they were
            cursor, exhausted = (
                (self._cursor, self._exhausted) if tail else (page.next_cursor, False)
            )
        self._applying = True
        try:
            top = self._apply_diff(fresh)
            self._cursor, self._exhausted = cursor, exhausted
        finally:
            self._applying = False
        if top:
            self.top_inserted.emit(top)
        self.refreshed.emit()
        self.page_loaded.emit(0)
        self._run_wanted_refresh()

    def _on_refresh_failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        self._refreshing = False
        self.load_failed.emit(f"Could not refresh the timeline: {exc}")

    def _run_wanted_refresh(self) -> None:
        if self._refresh_wanted and not self._loading and not self._refreshing:
            self._refresh_wanted = False
            self.refresh()

    def _apply_diff(self, fresh: list[TimelineEntry]) -> int:
        """Turn ``self._entries`` into ``fresh`` with row signals; returns rows added on top.

        Rows missing from ``fresh`` (or out of its order) are removed, then the new ones
        are inserted where they belong and changed ones repainted, so the view keeps its
        selection and the rows the agent is reading.
        """
        position = {e.key: n for n, e in enumerate(fresh)}
        keep: list[bool] = []
        last = -1
        for entry in self._entries:
            n = position.get(entry.key, -1)
            keep.append(n > last)
            last = max(last, n) if n > last else last
        row = len(self._entries) - 1
        while row >= 0:  # remove in runs, bottom up
            if keep[row]:
                row -= 1
                continue
            end = row
            while row >= 0 and not keep[row]:
                row -= 1
            self.beginRemoveRows(QModelIndex(), row + 1, end)
            del self._entries[row + 1 : end + 1]
            self.endRemoveRows()
        top = 0
        for at, entry in enumerate(fresh):  # the old rows are now a subsequence of fresh
            if at < len(self._entries) and self._entries[at].key == entry.key:
                if self._entries[at] != entry:
                    self._entries[at] = entry
                    self.dataChanged.emit(self.index(at), self.index(at))
                continue
            self.beginInsertRows(QModelIndex(), at, at)
            self._entries.insert(at, entry)
            self.endInsertRows()
            if at == top:
                top += 1
        return top

    def jump_before(self, at: dt.datetime) -> None:
        """Place the window at the entries strictly older than ``at`` (newer ones above)."""
        if self._customer is None:
            return
        self._restart(TimelineCursor(at, 0, str(_LOWEST_KEY)), has_newer=True)
        self._jump_pending = True
        self.fetchMore(QModelIndex())

    def jump_to_oldest(self) -> None:
        """Place the window at the oldest entries: the end of the whole history."""
        if self._customer is None or self._fetch_newer is None:
            return
        self._restart(None, has_newer=False)
        self.beginInsertRows(QModelIndex(), 0, 0)  # the placeholder while the page loads
        self._loading = True
        self.endInsertRows()
        generation = self._generation
        self._bridge.submit(
            self._fetch_newer,
            self._customer,
            self._filter,
            TimelineCursor(_DAWN, 0, str(_LOWEST_KEY)),
            self._page_size,
            on_done=lambda page: self._on_oldest(generation, page),
            on_error=lambda exc: self._on_error(generation, exc),
        )

    def _restart(self, cursor: TimelineCursor | None, *, has_newer: bool) -> None:
        self.beginResetModel()
        self._generation += 1
        self._entries = []
        self._cursor = cursor
        self._has_newer = has_newer
        self._exhausted = cursor is None
        self._loading = False
        self._jump_pending = False
        self.endResetModel()

    def _on_oldest(self, generation: int, page: TimelinePage) -> None:
        if generation != self._generation:
            return
        self._applying = True
        try:
            self._drop_placeholder()
            self._has_newer = page.next_cursor is not None
            self._exhausted = True  # nothing is older than the oldest page
            if page.entries:
                self.beginInsertRows(QModelIndex(), 0, len(page.entries) - 1)
                self._entries = list(page.entries)
                self.endInsertRows()
        finally:
            self._applying = False
        self.page_loaded.emit(len(page.entries))
        self.jumped.emit(True)

    def entry_at(self, row: int) -> TimelineEntry | None:
        return self._entries[row] if 0 <= row < len(self._entries) else None

    # --- paging -------------------------------------------------------------------------------

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008 - Qt signature
        return (
            not parent.isValid()
            and not self._exhausted
            and not self._loading
            and not self._refreshing
            and not self._applying
        )

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent) or self._customer is None:
            return
        placeholder_row = len(self._entries)
        self.beginInsertRows(QModelIndex(), placeholder_row, placeholder_row)
        self._loading = True
        self.endInsertRows()
        generation = self._generation
        self._bridge.submit(
            self._fetch,
            self._customer,
            self._filter,
            self._cursor,
            self._page_size,
            on_done=lambda page: self._on_page(generation, page),
            on_error=lambda exc: self._on_error(generation, exc),
        )

    def _drop_placeholder(self) -> None:
        row = len(self._entries)
        self.beginRemoveRows(QModelIndex(), row, row)
        self._loading = False
        self.endRemoveRows()

    def _on_page(self, generation: int, page: TimelinePage) -> None:
        if generation != self._generation:
            return  # an answer for a filter or customer no longer shown
        self._applying = True
        try:
            self._cursor = page.next_cursor
            self._exhausted = page.next_cursor is None
            self._drop_placeholder()
            if page.entries:
                first = len(self._entries)
                self.beginInsertRows(QModelIndex(), first, first + len(page.entries) - 1)
                self._entries.extend(page.entries)
                self.endInsertRows()
            dropped = self._trim_top() if self._fetch_newer is not None else 0
        finally:
            self._applying = False
        if dropped:
            self.rows_shifted.emit(-dropped)
        self.page_loaded.emit(len(page.entries))
        if self._jump_pending:
            self._jump_pending = False
            self.jumped.emit(False)
        self._run_wanted_refresh()

    def _trim_top(self) -> int:
        excess = len(self._entries) - self._max_rows
        if excess <= 0:
            return 0
        self.beginRemoveRows(QModelIndex(), 0, excess - 1)
        del self._entries[:excess]
        self._has_newer = True
        self.endRemoveRows()
        return excess

    def _trim_bottom(self) -> None:
        excess = len(self._entries) - self._max_rows
        if excess <= 0:
            return
        first = len(self._entries) - excess
        self.beginRemoveRows(QModelIndex(), first, len(self._entries) - 1)
        del self._entries[first:]
        self._cursor = self._entries[-1].cursor
        self._exhausted = False
        self.endRemoveRows()

    def fetch_newer(self) -> bool:
        """Load the page just above the window; False when there is nothing to do."""
        if (
            not self._has_newer
            or self._loading
            or self._refreshing
            or self._fetch_newer is None
            or self._customer is None
            or not self._entries
        ):
            return False
        self._loading = True  # no placeholder row at the top: the view keeps its position
        generation = self._generation
        self._bridge.submit(
            self._fetch_newer,
            self._customer,
            self._filter,
            self._entries[0].cursor,
            self._page_size,
            on_done=lambda page: self._on_newer(generation, page),
            on_error=lambda exc: self._on_error(generation, exc),
        )
        return True

    def _on_newer(self, generation: int, page: TimelinePage) -> None:
        if generation != self._generation:
            return
        self._applying = True
        try:
            self._loading = False
            self._has_newer = page.next_cursor is not None
            if page.entries:
                self.beginInsertRows(QModelIndex(), 0, len(page.entries) - 1)
                self._entries[:0] = page.entries
                self.endInsertRows()
            self._trim_bottom()
        finally:
            self._applying = False
        self.rows_shifted.emit(len(page.entries))
        self.page_loaded.emit(len(page.entries))

    def _on_error(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        self._exhausted = True  # stop asking; the view offers a retry
        if self.rowCount() > len(self._entries):
            self._drop_placeholder()
        self._loading = False
        self.load_failed.emit(f"Could not load the timeline: {exc}")

    # --- Qt interface -------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries) + self._loading

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < self.rowCount():
            return None
        entry = self.entry_at(index.row())
        if role == PLACEHOLDER_ROLE:
            return entry is None
        if role == ENTRY_ROLE:
            return entry
        if entry is None:
            return (
                "Loading…"
                if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole)
                else None
            )
        if role == Qt.ItemDataRole.DisplayRole:
            return fmt.display_text(entry.summary)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return accessible_text(entry)
        if role == Qt.ItemDataRole.ToolTipRole:
            return fmt.rich_tooltip(entry.notes_preview or entry.summary)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if self.entry_at(index.row()) is None:
            return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemNeverHasChildren
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemNeverHasChildren
        )


def accessible_text(entry: TimelineEntry) -> str:
    """What a screen reader says for one entry."""
    parts = [
        entry.at.strftime("%d %b %Y %H:%M"),
        entry.channel,
        entry.direction or "",
        entry.summary,
        f"agent {entry.agent}" if entry.agent else "",
        fmt.label("disposition", entry.disposition),
        entry.notes_preview,
    ]
    return ", ".join(p for p in parts if p)
