"""A list model whose rows stand for a customer's whole timeline, loaded by pages on demand.

The row count is the length of the whole timeline under the filter (``count`` on the
bridge's local lane), so the view's scrollbar stands for the whole history and Ctrl+End
reaches the oldest entry. A row whose page has not arrived is a placeholder ("Loading…");
the view asks ``ensure_rows`` for what it shows, and each missing page is read on the
bridge's worker: from a loaded neighbour's cursor (keyset, the usual scroll), from the oldest
end (the last page), or at its position (``page_at``: the scrollbar dragged far). Nothing
is read in ``data()``, and the GUI thread never waits.

At most ``max_pages`` pages are held: the page used longest ago turns back into
placeholders, so memory stays bounded for a 100 000-entry history. Changing the filter or the
customer starts a new *generation*: answers for an older one are dropped. ``refresh`` (the
change bus) re-counts and re-reads the top page, inserts what is new above the rows
already there (the selection stays on its entry) and re-reads what the view shows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from collections import OrderedDict
from typing import Any, Protocol

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
_LOWEST_KEY = str(uuid.UUID(int=0))
Index = QModelIndex | QPersistentModelIndex
log = logging.getLogger(__name__)


class TimelineSource(Protocol):
    """What the model reads, on the bridge's worker (``TimelineService`` in the desktop)."""

    def count(self, customer_id: uuid.UUID, flt: TimelineFilter) -> int: ...

    def page(
        self, customer_id: uuid.UUID, flt: TimelineFilter, cursor: TimelineCursor | None, limit: int
    ) -> TimelinePage: ...

    def page_newer(
        self, customer_id: uuid.UUID, flt: TimelineFilter, cursor: TimelineCursor, limit: int
    ) -> TimelinePage: ...

    def page_at(
        self, customer_id: uuid.UUID, flt: TimelineFilter, offset: int, limit: int
    ) -> TimelinePage: ...


@dataclasses.dataclass(frozen=True)
class _Opened:
    """The worker's answer to ``show`` and ``refresh``: the length and the newest page."""

    total: int
    top: tuple[TimelineEntry, ...]


class TimelineModel(QAbstractListModel):
    """One row per timeline entry (all of them); placeholders where a page is still to come."""

    counted = Signal(int)  # the length of the timeline is known (show, filter, refresh)
    page_loaded = Signal(int)  # rows filled (a page, or the length and top page)
    load_failed = Signal(str)
    located = Signal(int)  # the row of the first entry older than locate()'s instant
    top_inserted = Signal(int)  # newer entries a refresh put on top (the view decides on scroll)
    refreshed = Signal()  # an in-place refresh was applied

    def __init__(
        self,
        bridge: Bridge,
        source: TimelineSource,
        page_size: int = 200,
        parent: Any = None,
        max_pages: int = 12,
    ) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._source = source
        self._page_size = max(1, min(page_size, MAX_PAGE))
        self._max_pages = max(3, max_pages)
        self._customer: uuid.UUID | None = None
        self._filter = TimelineFilter()
        self._total: int | None = None  # None while counting
        self._shown = 1  # rows while counting: a placeholder, then the newest page and one
        self._rows: dict[int, TimelineEntry] = {}
        self._pages: OrderedDict[int, None] = OrderedDict()  # held pages, least recent first
        self._asked: set[int] = set()  # pages on their way
        self._wanted = (0, -1)  # the rows the view last asked for (read on the worker)
        self._refreshing = False
        self._refresh_wanted = False  # asked while counting or refreshing: run once it lands
        self._recounted = False  # a short page asked for one count again in this generation
        self._generation = 0

    # --- state --------------------------------------------------------------------------------

    @property
    def filter(self) -> TimelineFilter:
        return self._filter

    @property
    def page_size(self) -> int:
        return self._page_size

    @property
    def counting(self) -> bool:
        """True until the length of the timeline is known."""
        return self._customer is not None and self._total is None

    def entry_count(self) -> int:
        """How many entries the timeline has under the filter (0 while counting)."""
        return self._total or 0

    def loaded_count(self) -> int:
        return len(self._rows)

    def entry_at(self, row: int) -> TimelineEntry | None:
        return self._rows.get(row)

    def row_of(self, key: str) -> int:
        """The row of the loaded entry ``key``; -1 when it is not loaded."""
        return next((row for row, e in self._rows.items() if e.key == key), -1)

    # --- control ------------------------------------------------------------------------------

    def show(self, customer_id: uuid.UUID | None, flt: TimelineFilter | None = None) -> None:
        """Start over for ``customer_id`` with ``flt``: count, and read the newest page."""
        self.beginResetModel()
        self._generation += 1
        self._customer = customer_id
        self._filter = flt if flt is not None else self._filter
        self._total = None
        self._shown = 1
        self._rows.clear()
        self._pages.clear()
        self._asked.clear()
        self._refreshing = self._refresh_wanted = self._recounted = False
        self.endResetModel()
        if customer_id is None:
            return
        generation, flt = self._generation, self._filter
        # The newest page first (painted at once), then the length (the scrollbar's extent);
        # the lane runs them in this order.
        self._submit(
            generation, self._source.page, customer_id, flt, None, self._page_size,
            on_done=lambda page: self._on_head(generation, page),
            on_error=lambda exc: self._on_error(generation, exc),
        )  # fmt: skip
        self._submit(
            generation, self._source.count, customer_id, flt,
            on_done=lambda total: self._on_counted(generation, total),
            on_error=lambda exc: self._on_error(generation, exc),
        )  # fmt: skip

    def set_filter(self, flt: TimelineFilter) -> None:
        self.show(self._customer, flt)

    def reload(self) -> None:
        self.show(self._customer, self._filter)

    def _open(self, customer_id: uuid.UUID, flt: TimelineFilter) -> _Opened:
        """On the worker, for a refresh: the length, and the newest page."""
        total = self._source.count(customer_id, flt)
        top = self._source.page(customer_id, flt, None, self._page_size) if total else None
        return _Opened(total, top.entries[: min(total, self._page_size)] if top else ())

    def _submit(
        self, generation: int, fn: Any, *args: Any, still: Any = None, **callbacks: Any
    ) -> None:
        """Run ``fn(*args)`` on the bridge's local lane unless, by the time its turn comes,
        the generation has moved on or ``still()`` says it is no longer wanted (answer None):
        a customer left, or pages the scrollbar was dragged past, cost nothing."""

        def job() -> Any:
            if generation != self._generation or (still is not None and not still()):
                return None
            return fn(*args)

        self._bridge.submit(job, **callbacks)

    def _on_head(self, generation: int, page: TimelinePage) -> None:
        """The newest page, before the length is known: its rows and one placeholder after
        them while older entries may follow."""
        if generation != self._generation:
            return
        entries = page.entries
        if self._total is None:
            self._resize(len(entries) + (page.next_cursor is not None), final=False)
        else:
            entries = entries[: self._total]
        self._fill(0, entries)
        self.page_loaded.emit(len(entries))

    def _on_counted(self, generation: int, total: int) -> None:
        if generation != self._generation:
            return
        self._resize(total, final=True)
        self.counted.emit(total)
        self._run_wanted_refresh()

    def _resize(self, rows: int, final: bool) -> None:
        """Grow or shrink to ``rows`` rows at the bottom; ``final``: that is the length."""
        current = self.rowCount()

        def settle() -> None:
            if final:
                self._total = rows
            else:
                self._shown = rows

        if rows > current:
            self.beginInsertRows(QModelIndex(), current, rows - 1)
            settle()
            self.endInsertRows()
        elif rows < current:
            self.beginRemoveRows(QModelIndex(), rows, current - 1)
            settle()
            for row in [r for r in self._rows if r >= rows]:
                del self._rows[row]
            self.endRemoveRows()
        else:
            settle()

    def locate(self, at: dt.datetime) -> None:
        """Find the row of the first entry older than ``at``; ``located`` says which."""
        if self._customer is None:
            return
        flt = self._filter
        newer = dataclasses.replace(flt, since=max(flt.since, at) if flt.since else at)
        generation = self._generation
        self._submit(
            generation, self._source.count, self._customer, newer,
            on_done=lambda row: self._on_located(generation, row),
            on_error=lambda exc: self._on_error(generation, exc),
        )  # fmt: skip

    def _on_located(self, generation: int, row: int) -> None:
        if generation == self._generation:
            self.located.emit(min(row, max(self.entry_count() - 1, 0)))

    # --- pages --------------------------------------------------------------------------------

    def ensure_rows(self, first: int, last: int) -> None:
        """Ask for the pages that hold rows ``first``..``last`` and are neither here nor asked."""
        if self._customer is None or self._total is None or not self._total:
            return
        first, last = max(0, first), min(last, self._total - 1)
        if first > last:
            return
        self._wanted = (first, last)
        log.debug("rows %d-%d shown; pages asked %s, held %s", first, last,
                  sorted(self._asked), list(self._pages))  # fmt: skip
        for page in range(first // self._page_size, last // self._page_size + 1):
            if page in self._asked:
                continue
            if self._complete(page):
                self._pages.move_to_end(page, last=True)
                continue
            self._ask(page)

    def _page_rows(self, page: int) -> range:
        start = page * self._page_size
        return range(start, min(start + self._page_size, self._total or 0))

    def _complete(self, page: int) -> bool:
        return all(row in self._rows for row in self._page_rows(page))

    def _ask(self, page: int) -> None:
        assert self._customer is not None and self._total is not None
        rows = self._page_rows(page)
        customer, flt, wanted = self._customer, self._filter, len(rows)
        above, below = self._rows.get(rows.start - 1), self._rows.get(rows.stop)
        job: Any
        if above is not None:  # scrolling down: the page after a loaded one (keyset)
            how, job = "after", (self._source.page, customer, flt, above.cursor, wanted)
        elif below is not None:  # scrolling up: the page before a loaded one
            how, job = "before", (self._source.page_newer, customer, flt, below.cursor, wanted)
        elif rows.stop == self._total:  # the oldest page (Ctrl+End): from the start of time
            how, job = "oldest", (self._source.page_newer, customer, flt,
                                  TimelineCursor(_DAWN, 0, _LOWEST_KEY), wanted)  # fmt: skip
        else:  # far from any loaded row: at its position
            how, job = "at", (self._source.page_at, customer, flt, rows.start, wanted)
        log.debug("page %d asked (%s), rows %s shown", page, how, self._wanted)
        self._asked.add(page)
        generation = self._generation

        def still() -> bool:  # on the worker: the view still shows (or nears) this page
            first, last = self._wanted
            return rows.start <= last and rows.stop > first

        self._submit(
            generation,
            *job,
            still=still,
            on_done=lambda answer: self._on_page(generation, page, answer),
            on_error=lambda exc: self._on_page_failed(generation, page, exc),
        )

    def _on_page(self, generation: int, page: int, answer: TimelinePage | None) -> None:
        if generation != self._generation:
            log.debug("page %d answer dropped: generation %d is over", page, generation)
            return  # an answer for a filter, customer or layout no longer shown
        self._asked.discard(page)
        rows = self._page_rows(page)
        if answer is None:  # the worker found the view elsewhere when its turn came
            first, last = self._wanted
            log.debug("page %d skipped by the worker; rows %s shown now", page, self._wanted)
            if rows.start <= last and rows.stop > first:
                # ...but it shows the page now (it came back meanwhile): nothing else would
                # ask again until the next scroll, and the rows would stay "Loading…".
                self._ask(page)
            return
        entries = answer.entries[: len(rows)]
        log.debug("page %d answered: %d of %d rows", page, len(entries), len(rows))
        self._fill(rows.start, entries)
        if len(entries) < len(rows) and not self._recounted:  # the history changed: count again
            self._recounted = True
            self.refresh()
        self.page_loaded.emit(len(entries))

    def _on_page_failed(self, generation: int, page: int, exc: BaseException) -> None:
        log.warning("timeline page %d failed: %s", page, type(exc).__name__)
        if generation == self._generation:
            self._asked.discard(page)
            self.load_failed.emit(f"Could not load the timeline: {exc}")

    def _fill(self, start: int, entries: tuple[TimelineEntry, ...]) -> None:
        """Put ``entries`` at rows ``start``…, repaint them, and hold at most max_pages pages."""
        if not entries:
            return
        for n, entry in enumerate(entries):
            self._rows[start + n] = entry
        for page in range(
            start // self._page_size, (start + len(entries) - 1) // self._page_size + 1
        ):
            self._pages[page] = None
            self._pages.move_to_end(page, last=True)
        self.dataChanged.emit(self.index(start), self.index(start + len(entries) - 1))
        while len(self._pages) > self._max_pages:
            self._drop_page(next(iter(self._pages)))

    def _drop_page(self, page: int) -> None:
        del self._pages[page]
        rows = self._page_rows(page)
        for row in rows:
            self._rows.pop(row, None)
        if rows:
            self.dataChanged.emit(self.index(rows.start), self.index(rows.stop - 1))

    # --- refresh ------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Show what changed in place (a save here or elsewhere, a colleague's change).

        New entries on top are inserted above the rows already there, so the entry the agent
        had selected stays selected; changed newest entries are repainted; when the history
        changed elsewhere the rows below the top page are read again as the view shows them.
        """
        if self._customer is None:
            return
        if self._total is None or self._refreshing:
            self._refresh_wanted = True
            return
        self._refreshing = True
        generation = self._generation
        self._submit(
            generation, self._open, self._customer, self._filter,
            on_done=lambda opened: self._on_refreshed(generation, opened),
            on_error=lambda exc: self._on_refresh_failed(generation, exc),
        )  # fmt: skip

    def _on_refreshed(self, generation: int, opened: _Opened) -> None:
        if generation != self._generation or self._total is None:
            return
        self._refreshing = False
        old_total, first = self._total, self._rows.get(0)
        keys = [e.key for e in opened.top]
        if first is not None and first.key in keys:
            added = keys.index(first.key)
        else:  # the old top is gone from the first page: what grew, grew on top
            added = max(0, min(opened.total - old_total, len(keys)))
        if added:
            self._shift(added)
        rest = opened.total - (old_total + added)
        if rest > 0:
            self.beginInsertRows(QModelIndex(), old_total + added, opened.total - 1)
            self._total = opened.total
            self.endInsertRows()
        elif rest < 0:
            self.beginRemoveRows(QModelIndex(), opened.total, old_total + added - 1)
            self._total = opened.total
            self._forget(lambda row: row >= opened.total)
            self.endRemoveRows()
        if rest:  # changed below the top: the rows under it are no longer where they were
            top_rows = len(opened.top)
            self._forget(lambda row: row >= top_rows)
            if self._total:
                self.dataChanged.emit(self.index(0), self.index(self._total - 1))
        self._fill(0, opened.top)
        if added:
            self.top_inserted.emit(added)
        self.counted.emit(opened.total)
        self.refreshed.emit()
        self.page_loaded.emit(len(opened.top))
        self._run_wanted_refresh()

    def _shift(self, added: int) -> None:
        """Insert ``added`` placeholder rows on top; loaded rows move down with their entries."""
        assert self._total is not None
        self.beginInsertRows(QModelIndex(), 0, added - 1)
        self._rows = {row + added: entry for row, entry in self._rows.items()}
        self._total += added
        self._generation += 1  # pages on their way were asked at the old rows
        self._asked.clear()
        self._pages = OrderedDict(
            (page, None) for page in dict.fromkeys(row // self._page_size for row in self._rows)
        )
        self.endInsertRows()

    def _forget(self, gone: Any) -> None:
        for row in [r for r in self._rows if gone(r)]:
            del self._rows[row]
        self._generation += 1
        self._asked.clear()
        self._pages = OrderedDict(
            (page, None) for page in dict.fromkeys(row // self._page_size for row in self._rows)
        )

    def _on_refresh_failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        self._refreshing = False
        self.load_failed.emit(f"Could not refresh the timeline: {exc}")

    def _run_wanted_refresh(self) -> None:
        if self._refresh_wanted and self._total is not None and not self._refreshing:
            self._refresh_wanted = False
            self.refresh()

    def _on_error(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        if self._total is None:  # the count failed: no rows, the view says why
            self.beginResetModel()
            self._total = 0
            self.endResetModel()
        self.load_failed.emit(f"Could not load the timeline: {exc}")

    # --- Qt interface -------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() or self._customer is None:
            return 0
        return self._shown if self._total is None else self._total

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < self.rowCount():
            return None
        entry = self._rows.get(index.row())
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
        # Placeholders are selectable too: Ctrl+End selects the oldest row before it arrives.
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
