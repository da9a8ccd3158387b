"""The timeline pane: filter bar, paged list with the entry delegate, and a detail panel."""

from __future__ import annotations

import datetime as dt
import uuid

from PySide6.QtCore import QDate, QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCalendarWidget,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QStyleOptionViewItem,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from agentdesk.services.crm.timeline import (
    CHANNELS,
    InteractionDetail,
    TimelineFilter,
    TimelineService,
)
from agentdesk.ui import format as fmt
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.forms import ok_cancel
from agentdesk.ui.named import named
from agentdesk.ui.timeline.delegate import TimelineDelegate, meta_line
from agentdesk.ui.timeline.dialogs import NOTE, LogContactDialog
from agentdesk.ui.timeline.model import TimelineModel

TEXT_DEBOUNCE_MS = 300


class TimelineListView(QTableView):
    """A one-column list whose Enter/Space toggle the detail of the current entry;
    Ctrl+Home/Ctrl+End go to the newest and the oldest entry of the whole history.

    A table, not a QListView: the list view lays out every row (asking the Python model
    for the row count several times per row: 0.8 s for 100,000 rows), while a table's
    fixed-height rows cost nothing until they are painted.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.horizontalHeader().hide()
        self.horizontalHeader().setStretchLastSection(True)
        self.verticalHeader().hide()
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def set_row_height_from_delegate(self) -> None:
        """Every row as tall as the delegate's entry (they all share one height)."""
        delegate = self.itemDelegate()
        option = QStyleOptionViewItem()
        option.initFrom(self)
        height = delegate.sizeHint(option, QModelIndex()).height()
        self.verticalHeader().setMinimumSectionSize(1)
        self.verticalHeader().setDefaultSectionSize(height)

    expand_requested = Signal(QModelIndex)
    ends_requested = Signal(bool)  # True: the oldest end (Ctrl+End), False: the newest

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.expand_requested.emit(self.currentIndex())
            return
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier and event.key() in (
            Qt.Key.Key_Home,
            Qt.Key.Key_End,
        ):
            self.ends_requested.emit(event.key() == Qt.Key.Key_End)
            return
        super().keyPressEvent(event)


class GoToDateDialog(QDialog):
    """Pick the day to jump to; the timeline then shows that day's entries and older."""

    def __init__(self, day: QDate, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Go to a date")
        layout = QVBoxLayout(self)
        self.calendar = named(QCalendarWidget(), "Date to go to")
        self.calendar.setSelectedDate(day)
        self.calendar.setMaximumDate(QDate.currentDate())
        self.calendar.activated.connect(lambda _d: self.accept())
        layout.addWidget(self.calendar)
        layout.addWidget(ok_cancel(self, self.accept, ok=QDialogButtonBox.StandardButton.Ok))


class TimelineView(QWidget):
    """One customer's timeline with channel, date-range and text filters.

    The list has a row for every entry of the history (placeholders until their page
    arrives), so its scrollbar covers the whole history; the pages the list shows are
    asked for as it scrolls. Ctrl+Home, Ctrl+End and Go to pick a row and select it;
    ``jumped`` says which once its entry is in.
    """

    ticket_activated = Signal(uuid.UUID)
    status_changed = Signal(str)
    jumped = Signal(int)  # the row a jump selected, once its entry has loaded

    def __init__(
        self,
        bridge: Bridge,
        service: TimelineService,
        agent_id: uuid.UUID | None = None,
        page_size: int = 200,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._service = service
        self._agent_id = agent_id
        self._customer: uuid.UUID | None = None
        self.model = TimelineModel(bridge, service, page_size, self)
        self._target: int | None = None  # the row a jump selected, until its entry is in
        self._end_wanted: bool | None = None  # Ctrl+End/Home pressed while counting
        self._build()
        self._connect_signals()

    def _build(self) -> None:
        self.channel = named(QComboBox(), "Channel filter")
        self.channel.addItem("All channels", "")
        for channel in CHANNELS:
            self.channel.addItem(fmt.label("channel", channel), channel)
        self.use_dates = named(QCheckBox("&Dates"), "Filter by date range")
        today = QDate.currentDate()
        self.since = named(QDateEdit(today.addMonths(-3)), "From date")
        self.until = named(QDateEdit(today), "To date")
        for edit in (self.since, self.until):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("dd MMM yyyy")
            edit.setEnabled(False)
        self.text = named(QLineEdit(placeholderText="Search notes…"), "Search the timeline text")
        self.text.setClearButtonEnabled(True)
        self.add_note = named(QPushButton("Add &note"), "Add a note")
        self.log_contact = named(QPushButton("&Log contact"), "Log a non-call contact")
        self.text.setMinimumWidth(self.text.fontMetrics().horizontalAdvance("Search notes…") + 40)
        self.go_to = named(QToolButton(), "Go to the newest, the oldest or a date")
        self.go_to.setText("&Go to")
        self.go_to.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.go_to)
        self.go_newest = menu.addAction("Newest entry (Ctrl+Home)", self.jump_to_newest)
        self.go_oldest = menu.addAction("Oldest entry (Ctrl+End)", self.jump_to_oldest)
        self.go_date = menu.addAction("A date…", self._on_go_to_date)
        self.go_to.setMenu(menu)
        # Two rows, so the bar fits the timeline's half of a 1366 px screen with a call up.
        bar = QVBoxLayout()
        top, bottom = QHBoxLayout(), QHBoxLayout()
        for wide in (self.channel, self.text, self.add_note, self.log_contact):
            top.addWidget(wide)
        top.setStretchFactor(self.text, 1)
        for dates in (self.use_dates, self.since, fmt.plain(QLabel("–")), self.until):
            bottom.addWidget(dates)
        bottom.addStretch(1)
        bottom.addWidget(self.go_to)
        bar.addLayout(top)
        bar.addLayout(bottom)
        self.list = named(TimelineListView(), "Timeline entries")
        self.list.setModel(self.model)
        self.list.setItemDelegate(TimelineDelegate(self.list))
        self.list.set_row_height_from_delegate()
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.detail = named(QPlainTextEdit(readOnly=True), "Timeline entry detail")
        self.detail.setVisible(False)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("timelineSplitter")
        self.splitter.addWidget(self.list)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.status = fmt.plain(named(QLabel(), "Timeline status"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.status)
        self._text_timer = QTimer(self, singleShot=True, interval=TEXT_DEBOUNCE_MS)
        # Scrolling, resizing and new rows all ask for the shown pages once, after the events.
        self._load_timer = QTimer(self, singleShot=True, interval=0)

    def _connect_signals(self) -> None:
        self.channel.currentIndexChanged.connect(self._on_filter_changed)
        self.use_dates.toggled.connect(self._on_use_dates_toggled)
        self.since.dateChanged.connect(self._on_filter_changed)
        self.until.dateChanged.connect(self._on_filter_changed)
        self.text.textChanged.connect(lambda _t: self._text_timer.start())
        self._text_timer.timeout.connect(self._on_filter_changed)
        self.list.expand_requested.connect(self._on_expand_requested)
        self.list.ends_requested.connect(
            lambda oldest: self.jump_to_oldest() if oldest else self.jump_to_newest()
        )
        self.list.doubleClicked.connect(self._on_expand_requested)
        self.model.counted.connect(self._on_counted)
        self.model.page_loaded.connect(self._on_page_loaded)
        self.model.load_failed.connect(self._on_load_failed)
        self.model.located.connect(lambda row: self._go_to_row(row, at_top=True))
        self.model.top_inserted.connect(self._on_top_inserted)
        self.model.refreshed.connect(self._schedule_load)
        self.model.modelReset.connect(self._schedule_load)
        bar = self.list.verticalScrollBar()
        # Not timer.start itself: it would take the scroll value for its interval.
        bar.valueChanged.connect(self._schedule_load)
        bar.rangeChanged.connect(self._schedule_load)
        self._load_timer.timeout.connect(self._load_shown)
        self.add_note.clicked.connect(lambda: self._on_log_clicked(note_only=True))
        self.log_contact.clicked.connect(lambda: self._on_log_clicked(note_only=False))

    # --- public -------------------------------------------------------------------------------

    def show_customer(self, customer_id: uuid.UUID | None) -> None:
        self._customer = customer_id
        self._target = self._end_wanted = None
        self.detail.setVisible(False)
        self.status.setText("Loading…" if customer_id is not None else "")
        self.model.show(customer_id, self.current_filter())

    def current_filter(self) -> TimelineFilter:
        channel = self.channel.currentData()
        since = until = None
        if self.use_dates.isChecked():
            since = _day_start(self.since.date())
            until = _day_start(self.until.date()) + dt.timedelta(days=1)
        return TimelineFilter(
            frozenset({channel}) if channel else frozenset(), since, until, self.text.text().strip()
        )

    def refresh(self) -> None:
        """Show what changed in place (a save here or elsewhere, a colleague's change)."""
        self.model.refresh()

    def jump_to_oldest(self) -> None:
        """Select the oldest entry (the end of the history), scrolled to the very bottom."""
        self._jump_to_end(oldest=True)

    def jump_to_newest(self) -> None:
        self._jump_to_end(oldest=False)

    def _jump_to_end(self, oldest: bool) -> None:
        if self._customer is None:
            return
        self.detail.setVisible(False)
        if self.model.counting:  # the length is not known yet: go there once it is
            self._end_wanted = oldest
            return
        if self.model.entry_count():
            self._go_to_row(self.model.entry_count() - 1 if oldest else 0)

    def jump_to_date(self, day: dt.date) -> None:
        """Select the latest entry of ``day`` (local time), or the first older one."""
        if self._customer is not None:
            self.detail.setVisible(False)
            self.model.locate(_day_start(QDate(day.year, day.month, day.day))
                              + dt.timedelta(days=1))  # fmt: skip

    def _on_go_to_date(self) -> None:
        first = self.model.entry_at(0)
        day = QDate.currentDate()
        if first is not None:
            at = first.at.astimezone()
            day = QDate(at.year, at.month, at.day)
        dialog = GoToDateDialog(day, self)
        dialog.accepted.connect(lambda: self.jump_to_date(_py_date(dialog.calendar.selectedDate())))
        dialog.open()
        self.go_to_dialog = dialog

    def _go_to_row(self, row: int, at_top: bool = False) -> None:
        """Select ``row`` and scroll to it; ``jumped`` follows once its entry is loaded."""
        if not 0 <= row < self.model.entry_count():
            return
        index = self.model.index(row)
        self.list.setCurrentIndex(index)
        hint = (
            QAbstractItemView.ScrollHint.PositionAtTop
            if at_top
            else QAbstractItemView.ScrollHint.EnsureVisible
        )
        self.list.scrollTo(index, hint)
        self._target = row
        self.model.ensure_rows(row, row)
        self._schedule_load()
        self._check_target()

    def _check_target(self) -> None:
        if self._target is not None and self.model.entry_at(self._target) is not None:
            row, self._target = self._target, None
            self.jumped.emit(row)

    def _schedule_load(self, *_args: object) -> None:
        self._load_timer.start(0)

    def _load_shown(self) -> None:
        """Ask for the pages of the rows in view, and half a screen either side."""
        total = self.model.entry_count()
        if not total:
            return
        viewport = self.list.viewport()
        top = self.list.indexAt(QPoint(1, 1)).row()
        bottom = self.list.indexAt(QPoint(1, max(1, viewport.height() - 2))).row()
        top = 0 if top < 0 else top
        bottom = total - 1 if bottom < 0 else bottom
        margin = max(1, (bottom - top) // 2)
        self.model.ensure_rows(top - margin, bottom + margin)

    def set_read_only(self, read_only: bool) -> None:
        self.add_note.setEnabled(not read_only)
        self.log_contact.setEnabled(not read_only)

    # --- slots --------------------------------------------------------------------------------

    def _on_use_dates_toggled(self, on: bool) -> None:
        self.since.setEnabled(on)
        self.until.setEnabled(on)
        self._on_filter_changed()

    def _on_filter_changed(self) -> None:
        if self._customer is not None:
            self.detail.setVisible(False)
            self._target = self._end_wanted = None
            self.model.set_filter(self.current_filter())

    def _on_counted(self, count: int) -> None:
        text = fmt.count(count, "entry", "entries") if count else "No entries match these filters"
        self.status.setText(text)
        self.status_changed.emit(text)
        self._schedule_load()
        if self._end_wanted is not None:
            oldest, self._end_wanted = self._end_wanted, None
            self._jump_to_end(oldest)

    def _on_page_loaded(self, _added: int) -> None:
        self._check_target()

    def _on_top_inserted(self, count: int) -> None:
        # At the top the agent sees the new entries arrive; scrolled down, what they are
        # reading stays where it is: move by as many pixels (all rows share one height).
        bar = self.list.verticalScrollBar()
        if bar.value() > bar.minimum():
            value = bar.value() + count * self.list.sizeHintForRow(0)
            self.list.executeDelayedItemsLayout()  # the range has grown before the move
            bar.setValue(value)

    def _on_load_failed(self, message: str) -> None:
        self.status.setText(message)
        self.status_changed.emit(message)

    def _on_expand_requested(self, index: QModelIndex) -> None:
        entry = self.model.entry_at(index.row()) if index.isValid() else None
        if entry is None:
            return
        if self.detail.isVisible() and self.detail.property("entry_key") == entry.key:
            self.detail.setVisible(False)  # Enter again collapses
            return
        self.detail.setProperty("entry_key", entry.key)
        self.detail.setVisible(True)
        header = f"{entry.summary}\n{meta_line(entry)}\n"
        if entry.kind != "interaction" or entry.source_id is None:
            self.detail.setPlainText(header + "\n" + entry.notes_preview)
            if entry.source_id is not None:
                self.ticket_activated.emit(entry.source_id)
            return
        self.detail.setPlainText(header + "\nLoading…")
        self._bridge.submit(
            self._service.detail,
            entry.source_id,
            on_done=lambda d: self._on_detail_loaded(entry.key, header, d),
            on_error=lambda exc: self.detail.setPlainText(f"{header}\n{exc}"),
        )

    def _on_detail_loaded(self, key: str, header: str, detail: InteractionDetail) -> None:
        if self.detail.property("entry_key") != key:
            return
        fields = "\n".join(f"{k}: {v}" for k, v in detail.fields)
        self.detail.setPlainText(f"{header}{fields}\n\n{detail.notes}")

    def _on_log_clicked(self, note_only: bool) -> None:
        if self._customer is None:
            return
        dialog = LogContactDialog(self, note_only=note_only)
        if dialog.exec() != LogContactDialog.DialogCode.Accepted:
            return
        self.save_entry(dialog.values())

    def save_entry(self, values: dict[str, object]) -> None:
        """Write a note or manual contact in the background, then reload the first page."""
        customer = self._customer
        if customer is None:
            return
        kind, notes = str(values["kind"]), str(values["notes"])
        if kind == NOTE:
            job = lambda: self._service.add_note(customer, notes, self._agent_id)  # noqa: E731
        else:
            minutes = int(str(values.get("minutes") or 0))
            job = lambda: self._service.log_contact(  # noqa: E731
                customer,
                kind,
                str(values["direction"]),
                notes,
                str(values.get("subject", "")),
                self._agent_id,
                duration_seconds=minutes * 60 or None,
            )
        self._bridge.submit(
            job,
            on_done=lambda _id: self.model.refresh(),
            on_error=lambda exc: self._on_load_failed(f"Not saved: {exc}"),
        )


def _py_date(day: QDate) -> dt.date:
    return dt.date(day.year(), day.month(), day.day())


def _day_start(day: QDate) -> dt.datetime:
    local = dt.datetime(day.year(), day.month(), day.day()).astimezone()
    return local.astimezone(dt.UTC)
