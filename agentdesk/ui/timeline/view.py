"""The timeline pane: filter bar, paged list with the entry delegate, and a detail panel."""

from __future__ import annotations

import datetime as dt
import uuid

from PySide6.QtCore import QDate, QModelIndex, Qt, QTimer, Signal
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
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
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


class TimelineListView(QListView):
    """A list whose Enter/Space toggle the detail of the current entry; Ctrl+Home/Ctrl+End
    go to the newest and the oldest entry of the whole history, not only the loaded rows."""

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
    """One customer's timeline with channel, date-range and text filters."""

    ticket_activated = Signal(uuid.UUID)
    status_changed = Signal(str)

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
        self.model = TimelineModel(
            bridge, service.page, page_size, self, fetch_newer=service.page_newer
        )
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
        self.list.setUniformItemSizes(True)
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
        self.model.jumped.connect(self._on_jumped)
        self.list.doubleClicked.connect(self._on_expand_requested)
        self.model.page_loaded.connect(self._on_page_loaded)
        self.model.load_failed.connect(self._on_load_failed)
        self.model.rows_shifted.connect(self._on_rows_shifted)
        self.model.top_inserted.connect(self._on_top_inserted)
        self.list.verticalScrollBar().valueChanged.connect(self._on_scrolled)
        self.add_note.clicked.connect(lambda: self._on_log_clicked(note_only=True))
        self.log_contact.clicked.connect(lambda: self._on_log_clicked(note_only=False))

    # --- public -------------------------------------------------------------------------------

    def show_customer(self, customer_id: uuid.UUID | None) -> None:
        self._customer = customer_id
        self.detail.setVisible(False)
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
        """Show the oldest entries (the end of the history), scrolled to the very last."""
        if self._customer is not None:
            self.detail.setVisible(False)
            self.model.jump_to_oldest()

    def jump_to_newest(self) -> None:
        if self._customer is None:
            return
        self.detail.setVisible(False)
        if self.model.has_newer:
            self.model.reload()  # the window is elsewhere in the history: start at the top
        else:
            self.list.scrollToTop()
            self._select_row(0)

    def jump_to_date(self, day: dt.date) -> None:
        """Show the entries of ``day`` (local time) and older, that day's latest on top."""
        if self._customer is not None:
            self.detail.setVisible(False)
            self.model.jump_before(_day_start(QDate(day.year, day.month, day.day))
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

    def _on_jumped(self, oldest: bool) -> None:
        if oldest:
            self.list.scrollToBottom()
            self._select_row(self.model.entry_count() - 1)
        else:
            self.list.scrollToTop()
            self._select_row(0)

    def _select_row(self, row: int) -> None:
        if 0 <= row < self.model.entry_count():
            index = self.model.index(row)
            self.list.setCurrentIndex(index)
            self.list.scrollTo(index)

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
            self.model.set_filter(self.current_filter())

    def _on_page_loaded(self, _added: int) -> None:
        count = self.model.entry_count()
        more = "" if self.model.exhausted else " (scroll for older)"
        if self.model.has_newer:
            more += " — scroll up for newer"
        shown = fmt.count(count, "entry", "entries")
        text = f"{shown} shown{more}" if count else "No entries match these filters"
        self.status.setText(text)
        self.status_changed.emit(text)

    def _on_scrolled(self, value: int) -> None:
        if value <= self.list.verticalScrollBar().minimum() and self.model.has_newer:
            self.model.fetch_newer()

    def _on_rows_shifted(self, count: int) -> None:
        # Rows came or went above the viewport: move by as many pixels so the entries the
        # agent is reading stay where they are (all rows share one height).
        height = self.list.sizeHintForRow(0) if self.model.rowCount() else 0
        bar = self.list.verticalScrollBar()
        bar.setValue(bar.value() + count * height)

    def _on_top_inserted(self, count: int) -> None:
        # At the top the agent sees the new entries arrive; scrolled down, what they are
        # reading stays where it is.
        bar = self.list.verticalScrollBar()
        if bar.value() > bar.minimum():
            self._on_rows_shifted(count)

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
