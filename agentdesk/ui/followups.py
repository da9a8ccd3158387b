"""Reminders and escalation alerts on the desk: set a follow-up, see it come due, deal with it.

* **Remind me…** (Ctrl+Shift+L) on the customer tab in front: "call the customer back
  Thursday 10:00", about that customer and the ticket open in its Tickets tab, if any.
* **Reminders** (Ctrl+Shift+M) opens the list: due ones (with Done and Snooze), upcoming
  ones, and the escalation alerts addressed to this person (Mark read).
* A reminder comes due on the server (its scheduler); the row reaches this desk's cache
  through sync, the change bus says "reminder changed", and the list reloads: no polling.
  A reminder newly due is announced in the tray (when the window is not in front) and in
  the status bar; at sign-in the ones that came due while the agent was away open the list.

All reads and writes run on the bridge's local lane (``DeskFollowUps``, Qt-free); the
GUI thread only shows rows. Notes and names are shown as plain text.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QDateTime, QObject, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from agentdesk.services.tickets.escalation import AlertView, EscalationView
from agentdesk.services.tickets.reminders import DeskFollowUps, FollowUps, ReminderView
from agentdesk.ui import format as fmt
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.change_bus import Changes
from agentdesk.ui.row_model import Column, RowTableModel

log = logging.getLogger(__name__)

MAX_NOTE = 500
EMPTY = "Nothing to follow up. Set a reminder from a customer's tab (Ctrl+Shift+L)."
WORKDAY_START = 9  # "Tomorrow 09:00"
Now = Callable[[], dt.datetime]


def _local_now() -> dt.datetime:
    return dt.datetime.now().astimezone()


def tomorrow_morning(now: dt.datetime) -> dt.datetime:
    """09:00 local on the next day."""
    local = now.astimezone()
    return (local + dt.timedelta(days=1)).replace(
        hour=WORKDAY_START, minute=0, second=0, microsecond=0
    )


def in_an_hour(now: dt.datetime) -> dt.datetime:
    """An hour from now, on the next quarter hour."""
    later = now.astimezone() + dt.timedelta(hours=1)
    extra = (15 - later.minute % 15) % 15
    return (later + dt.timedelta(minutes=extra)).replace(second=0, microsecond=0)


def _qt_time(when: dt.datetime) -> QDateTime:
    """An aware instant as Qt's local date-time (to the minute)."""
    return QDateTime.fromSecsSinceEpoch(int(when.replace(second=0, microsecond=0).timestamp()))


def _about(row: ReminderView, names: Mapping[uuid.UUID, str]) -> str:
    parts = []
    if row.customer_id is not None:
        parts.append(fmt.display_text(names.get(row.customer_id, "a customer")))
    if row.ticket_id is not None:
        parts.append("ticket " + names.get(row.ticket_id, "(not on this desk)"))
    return " · ".join(parts)


REMINDER_COLUMNS: tuple[Column[ReminderView], ...] = (
    Column("When", lambda r: fmt.when(r.due_at)),
    Column("Note", lambda r: fmt.display_text(r.note or "(no note)")),
)
ESCALATED_COLUMNS: tuple[Column[EscalationView], ...] = (
    Column("Level", lambda e: f"{e.escalation_level} · {fmt.words(e.level_name)}"),
    Column("Ticket", lambda e: e.number),
    Column("Team", lambda e: fmt.display_text(e.team or "No team")),
    Column("Priority", lambda e: fmt.words(e.priority)),
    Column("Due", lambda e: fmt.when(e.sla_next_due) if e.sla_next_due else "Clock stopped"),
    Column("Title", lambda e: fmt.display_text(e.title)),
)
ALERT_COLUMNS: tuple[Column[AlertView], ...] = (
    Column("Since", lambda a: fmt.when(a.created_at)),
    Column("Ticket", lambda a: a.number),
    Column("Level", lambda a: fmt.words(a.level_name)),
    Column("Title", lambda a: fmt.display_text(a.title)),
)


def _table(model: RowTableModel[Any], parent: QWidget) -> QTableView:
    table = QTableView(parent)
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().hide()
    table.setWordWrap(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
    return table


def _selected(table: QTableView, model: RowTableModel[Any]) -> Any:
    rows = table.selectionModel().selectedRows()
    if rows:
        return model.row_at(rows[0].row())
    return model.row_at(0) if model.rowCount() == 1 else None


class ReminderDialog(QDialog):
    """ "Remind me…": when, and a note; what it is about is fixed by where it was opened."""

    submitted = Signal(object, str)  # due_at (aware datetime), note

    def __init__(self, about: str, now: dt.datetime, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Set a reminder")
        self.setObjectName("reminderDialog")
        self._now = now
        layout = QVBoxLayout(self)
        self.about = fmt.plain(QLabel(f"About: {about}", self))
        self.about.setWordWrap(True)
        layout.addWidget(self.about)
        row = QHBoxLayout()
        self.when = QDateTimeEdit(self)
        self.when.setCalendarPopup(True)
        self.when.setDisplayFormat("ddd dd MMM yyyy HH:mm")
        self.when.setMinimumDateTime(_qt_time(now))
        self.when.setDateTime(_qt_time(in_an_hour(now)))
        when_label = QLabel("&When", self)
        when_label.setBuddy(self.when)
        row.addWidget(when_label)
        row.addWidget(self.when, 1)
        self.in_hour = QPushButton("In 1 hour", self)
        self.tomorrow = QPushButton("Tomorrow 09:00", self)
        self.in_hour.clicked.connect(lambda: self._pick(in_an_hour(self._now)))
        self.tomorrow.clicked.connect(lambda: self._pick(tomorrow_morning(self._now)))
        row.addWidget(self.in_hour)
        row.addWidget(self.tomorrow)
        layout.addLayout(row)
        self.when_error = fmt.plain(QLabel("", self))
        self.when_error.setObjectName("fieldError")
        self.when_error.hide()
        layout.addWidget(self.when_error)
        self.note = QLineEdit(self)
        self.note.setMaxLength(MAX_NOTE)
        self.note.setPlaceholderText("e.g. Call back about the replacement card")
        note_label = QLabel("&Note", self)
        note_label.setBuddy(self.note)
        layout.addWidget(note_label)
        layout.addWidget(self.note)
        self.error = fmt.plain(QLabel("", self))
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        buttons.accepted.connect(self._submit)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(520, self.sizeHint().height())

    def due_at(self) -> dt.datetime:
        """The chosen instant (shown in the desk's local time), aware, in UTC."""
        return dt.datetime.fromtimestamp(self.when.dateTime().toSecsSinceEpoch(), dt.UTC)

    def _pick(self, when: dt.datetime) -> None:
        self.when.setDateTime(_qt_time(when))

    def _submit(self) -> None:
        self.when_error.hide()
        self.error.hide()
        self.save_button.setEnabled(False)
        self.submitted.emit(self.due_at(), self.note.text())

    def refused(self, message: str, field: str | None) -> None:
        """The service refused: say why beside the field, keep what was typed."""
        self.save_button.setEnabled(True)
        target = self.when_error if field == "due_at" else self.error
        target.setText(fmt.display_text(message).capitalize() + ".")
        target.show()


class FollowUpsWindow(QWidget):
    """The Reminders list: due, upcoming, and escalation alerts, each with its actions."""

    done_requested = Signal(object)  # ReminderView
    cancel_requested = Signal(object)  # ReminderView (not due yet)
    snooze_requested = Signal(object, object)  # ReminderView, until
    read_requested = Signal(object)  # AlertView
    open_requested = Signal(object, object)  # customer id | None, ticket id | None

    def __init__(
        self, now: Now = _local_now, parent: QWidget | None = None, *, supervisor: bool = False
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("followUpsWindow")
        self.setWindowTitle("Reminders")
        self._now = now
        self.names: Mapping[uuid.UUID, str] = {}
        columns = (*REMINDER_COLUMNS, Column("About", self._about))
        self.due = RowTableModel(columns, (), self)
        self.upcoming = RowTableModel(columns, (), self)
        self.alerts = RowTableModel(ALERT_COLUMNS, (), self)
        self.escalated = RowTableModel(ESCALATED_COLUMNS, (), self)
        self.supervisor = supervisor
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget(self)
        layout.addWidget(self.tabs)
        self.due_table = _table(self.due, self)
        self.upcoming_table = _table(self.upcoming, self)
        self.alerts_table = _table(self.alerts, self)
        self.done_button = QPushButton("&Done", self)
        self.snooze_15 = QPushButton("Snooze &15 min", self)
        self.snooze_hour = QPushButton("Snooze 1 &hour", self)
        self.snooze_tomorrow = QPushButton("&Tomorrow 09:00", self)
        self.open_button = QPushButton("&Open customer", self)
        self.cancel_button = QPushButton("&Cancel reminder", self)
        self.read_button = QPushButton("&Mark read", self)
        self.open_ticket_button = QPushButton("Open &ticket", self)
        due_page = self._page(
            self.due_table,
            (self.done_button, self.snooze_15, self.snooze_hour, self.snooze_tomorrow),
            self.open_button,
        )
        self.upcoming_open = QPushButton("Open customer", self)
        upcoming_page = self._page(self.upcoming_table, (self.cancel_button,), self.upcoming_open)
        alerts_page = self._page(self.alerts_table, (self.read_button,), self.open_ticket_button)
        self.tabs.addTab(due_page, "Due")
        self.tabs.addTab(upcoming_page, "Upcoming")
        self.tabs.addTab(alerts_page, "Escalation alerts")
        self.escalated_table = _table(self.escalated, self)
        self.escalated_open = QPushButton("Open ticket", self)
        if supervisor:  # the supervisor's escalation list: their teams' escalated tickets
            page = self._page(self.escalated_table, (), self.escalated_open)
            self.tabs.addTab(page, "Escalated tickets")
        else:
            self.escalated_table.hide()
            self.escalated_open.hide()
        self.status = fmt.plain(QLabel("", self))
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self._connect_signals()
        self.resize(760, 420)
        self.set_lists(FollowUps((), (), ()))

    def _page(
        self, table: QTableView, actions: tuple[QPushButton, ...], open_button: QPushButton
    ) -> QWidget:
        page = QWidget(self)
        box = QVBoxLayout(page)
        box.addWidget(table, 1)
        row = QHBoxLayout()
        for button in actions:
            row.addWidget(button)
        row.addStretch(1)
        row.addWidget(open_button)
        box.addLayout(row)
        return page

    def _connect_signals(self) -> None:
        self.done_button.clicked.connect(lambda: self._on_reminder(self.done_requested.emit))
        self.cancel_button.clicked.connect(
            lambda: self._emit_for(self.upcoming_table, self.upcoming, self.cancel_requested.emit)
        )
        self.snooze_15.clicked.connect(lambda: self._snooze(dt.timedelta(minutes=15)))
        self.snooze_hour.clicked.connect(lambda: self._snooze(dt.timedelta(hours=1)))
        self.snooze_tomorrow.clicked.connect(lambda: self._snooze(None))
        self.read_button.clicked.connect(
            lambda: self._emit_for(self.alerts_table, self.alerts, self.read_requested.emit)
        )
        self.open_button.clicked.connect(lambda: self._open(self.due_table, self.due))
        self.upcoming_open.clicked.connect(lambda: self._open(self.upcoming_table, self.upcoming))
        self.open_ticket_button.clicked.connect(self._open_alert)
        self.escalated_open.clicked.connect(
            lambda: self._emit_for(
                self.escalated_table,
                self.escalated,
                lambda e: self.open_requested.emit(None, e.ticket_id),
            )
        )

    # --- rows ---------------------------------------------------------------------------------

    def _about(self, row: ReminderView) -> str:
        return _about(row, self.names)

    def set_lists(self, lists: FollowUps) -> None:
        self.names = lists.names
        self.due.set_rows(lists.due)
        self.upcoming.set_rows(lists.upcoming)
        self.alerts.set_rows(lists.alerts)
        self.escalated.set_rows(lists.escalated)
        if self.supervisor:
            count = len(lists.escalated)
            self.tabs.setTabText(
                3, f"Escalated tickets ({count})" if count else "Escalated tickets"
            )
        self.escalated_open.setEnabled(bool(lists.escalated))
        self.tabs.setTabText(0, f"Due ({len(lists.due)})" if lists.due else "Due")
        self.tabs.setTabText(1, f"Upcoming ({len(lists.upcoming)})")
        self.tabs.setTabText(
            2, f"Escalation alerts ({len(lists.alerts)})" if lists.alerts else "Escalation alerts"
        )
        for button in (self.done_button, self.snooze_15, self.snooze_hour, self.snooze_tomorrow):
            button.setEnabled(bool(lists.due))
        self.open_button.setEnabled(bool(lists.due))
        self.cancel_button.setEnabled(bool(lists.upcoming))
        self.upcoming_open.setEnabled(bool(lists.upcoming))
        self.read_button.setEnabled(bool(lists.alerts))
        self.open_ticket_button.setEnabled(bool(lists.alerts))
        if not (lists.due or lists.upcoming or lists.alerts or lists.escalated):
            self.status.setText(EMPTY)
        elif self.status.text() == EMPTY:
            self.status.setText("")  # a "Done." or "Snoozed to …" just shown stays

    # --- actions ------------------------------------------------------------------------------

    def _emit_for(
        self, table: QTableView, model: RowTableModel[Any], emit: Callable[[Any], None]
    ) -> None:
        row = _selected(table, model)
        if row is None:
            self.status.setText("Pick a row first.")
            return
        emit(row)

    def _on_reminder(self, emit: Callable[[Any], None]) -> None:
        self._emit_for(self.due_table, self.due, emit)

    def _snooze(self, by: dt.timedelta | None) -> None:
        now = self._now()
        until = tomorrow_morning(now) if by is None else now + by
        self._on_reminder(lambda row: self.snooze_requested.emit(row, until))

    def _open(self, table: QTableView, model: RowTableModel[ReminderView]) -> None:
        self._emit_for(
            table, model, lambda row: self.open_requested.emit(row.customer_id, row.ticket_id)
        )

    def _open_alert(self) -> None:
        self._emit_for(
            self.alerts_table,
            self.alerts,
            lambda alert: self.open_requested.emit(None, alert.ticket_id),
        )

    def show_message(self, text: str) -> None:
        self.status.setText(fmt.display_text(text))


class FollowUpsDesk(QObject):
    """Keeps the Reminders list and button in step with the cache; announces newly due ones."""

    loaded = Signal(object)  # FollowUps, after each reload
    announced = Signal(str, str)  # title, text of a notification shown

    def __init__(
        self,
        window: Any,
        bridge: Bridge,
        service: DeskFollowUps,
        *,
        now: Now = _local_now,
    ) -> None:
        super().__init__(window)
        self._window = window
        self._bridge = bridge
        self._service = service
        self._now = now
        self.lists = FollowUps((), (), ())
        self._started = now()  # sign-in: what came due before it was missed while away
        self._known_due: set[uuid.UUID] = set()  # announced already (or missed, shown)
        self._known_alerts: set[uuid.UUID] = set()
        self.view = FollowUpsWindow(now, supervisor=service.supervisor)
        self.view.setAttribute(Qt.WidgetAttribute.WA_QuitOnClose, False)
        self.open_action = QAction("Reminders", window)
        self.open_action.setObjectName("action_reminders")
        self.open_action.setShortcut(QKeySequence("Ctrl+Shift+M"))
        self.open_action.setToolTip("Your reminders and escalation alerts (Ctrl+Shift+M)")
        self.remind_action = QAction("Remind me…", window)
        self.remind_action.setIconText("Remind me…")
        self.remind_action.setObjectName("action_remind_me")
        self.remind_action.setShortcut(QKeySequence("Ctrl+Shift+L"))
        self.remind_action.setToolTip(
            "Set a follow-up reminder on the customer (and ticket) in front (Ctrl+Shift+L)"
        )
        self.dialog: ReminderDialog | None = None
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.open_action.triggered.connect(self.show_list)
        self.remind_action.triggered.connect(self.remind_me)
        v = self.view
        v.done_requested.connect(lambda row: self._write(self._service.done, row.id, "Done."))
        v.cancel_requested.connect(
            lambda row: self._write(self._service.cancel, row.id, "Reminder cancelled.")
        )
        v.snooze_requested.connect(self._on_snooze_requested)
        v.read_requested.connect(
            lambda alert: self._write(self._service.read_alert, alert.id, "Marked read.")
        )
        v.open_requested.connect(self._on_open_requested)

    # --- loading ------------------------------------------------------------------------------

    def refresh(self) -> None:
        self._bridge.submit(self._service.load, on_done=self._on_loaded, on_error=self._on_failed)

    def apply_changes(self, changes: Changes) -> None:
        """Change-bus slot: reload when a reminder or an alert changed (or everything did);
        for a supervisor also when a ticket did (the escalated list)."""
        kinds: tuple[str, ...] = ("reminder", "ticket_alert")
        if self._service.supervisor:
            kinds += ("ticket",)
        if changes.touches(*kinds):
            self.refresh()

    def _on_loaded(self, lists: FollowUps) -> None:
        new = [r for r in lists.due if r.id not in self._known_due]
        new_alerts = [a for a in lists.alerts if a.id not in self._known_alerts]
        self._known_due = {r.id for r in lists.due}
        self._known_alerts = {a.id for a in lists.alerts}
        self.lists = lists
        self.view.set_lists(lists)
        count = len(lists.due) + len(lists.alerts)
        self.open_action.setText(f"Reminders ({count})" if count else "Reminders")
        # Due before this session began: missed while the agent was away (shown at sign-in,
        # whether the cache held them already or its first fill brings them).
        missed = [r for r in new if r.due_at < self._started]
        live = [r for r in new if r.due_at >= self._started]
        if missed:
            text = fmt.count(len(missed), "reminder") + " came due while you were away."
            self._announce("Reminders", text)
            self.show_list()
        if live:
            note = live[0].note or "A follow-up is due."
            more = f" (and {len(live) - 1} more)" if len(live) > 1 else ""
            self._announce("Reminder due", note + more)
        fresh_alerts = [a for a in new_alerts if a.created_at >= self._started]
        if fresh_alerts:
            alert = fresh_alerts[0]
            self._announce(
                "Escalation", f"{alert.number}: {fmt.words(alert.level_name)} — {alert.title}"
            )
        self.loaded.emit(lists)

    def _announce(self, title: str, text: str) -> None:
        tray = getattr(self._window, "tray", None)
        if tray is not None:
            tray.notify_if_hidden(title, text)
        status = getattr(self._window, "statusBar", None)
        if callable(status):
            status().showMessage(fmt.display_text(f"{title}: {text}"), 15_000)
        self.announced.emit(title, text)
        log.info("follow-up announced: %s", title)  # the note itself is not logged

    def _on_failed(self, exc: BaseException) -> None:
        log.warning("reminders: could not read the cache (%s)", type(exc).__name__)
        self.view.show_message(f"Could not read your reminders: {exc}")

    # --- actions ------------------------------------------------------------------------------

    def show_list(self) -> None:
        self.view.show()
        if QGuiApplication.platformName() != "offscreen":  # it cannot stack windows
            self.view.raise_()
        self.view.activateWindow()

    def _write(self, fn: Callable[..., None], arg: Any, done: str, *more: Any) -> None:
        def finished(_result: object) -> None:
            self.view.show_message(done)

        self._bridge.submit(
            fn,
            arg,
            *more,
            on_done=finished,
            on_error=lambda exc: self.view.show_message(f"Not saved: {exc}"),
        )

    def _on_snooze_requested(self, row: ReminderView, until: dt.datetime) -> None:
        self._write(self._service.snooze, row, f"Snoozed to {fmt.when(until)}.", until)

    def _on_open_requested(
        self, customer_id: uuid.UUID | None, ticket_id: uuid.UUID | None
    ) -> None:
        if customer_id is None and ticket_id is not None:
            self._bridge.submit(
                self._service.customer_of,
                ticket_id,
                on_done=lambda cid: self._open(cid, ticket_id),
                on_error=self._on_failed,
            )
            return
        self._open(customer_id, ticket_id)

    def _open(self, customer_id: uuid.UUID | None, ticket_id: uuid.UUID | None) -> None:
        """The customer's tab in the main window, on the ticket when there is one."""
        if customer_id is None:
            self.view.show_message("That ticket has no customer on this desk.")
            return
        workspace = self._window.open_customer(customer_id)
        self._window.showNormal()
        self._window.activateWindow()
        tabs, pane = getattr(workspace, "activity_tabs", None), getattr(workspace, "tickets", None)
        if ticket_id is not None and tabs is not None and pane is not None:
            tabs.setCurrentWidget(pane)
            pane.select_ticket(ticket_id)

    def context(self) -> tuple[uuid.UUID | None, uuid.UUID | None, str]:
        """(customer, ticket, words) of the customer tab in front, from the main window."""
        tabs = getattr(self._window, "workspace_tabs", None)
        widget = tabs.currentWidget() if tabs is not None else None
        customer_id = getattr(widget, "customer_id", None)
        if not isinstance(customer_id, uuid.UUID):
            return None, None, ""
        title = tabs.tabText(tabs.currentIndex()).lstrip("☎ ") if tabs is not None else ""
        ticket_id, words = None, title or "this customer"
        pane = getattr(widget, "tickets", None)
        loaded = getattr(getattr(pane, "detail", None), "loaded", None)
        if loaded is not None and getattr(loaded, "customer_id", None) == customer_id:
            ticket_id = loaded.id
            words += f" · ticket {loaded.number}"
        return customer_id, ticket_id, words

    def remind_me(self) -> ReminderDialog | None:
        customer_id, ticket_id, words = self.context()
        if customer_id is None:
            status = getattr(self._window, "statusBar", None)
            if callable(status):
                status().showMessage("Open a customer's tab to set a reminder about them.", 8000)
            return None
        dialog = ReminderDialog(words, self._now(), self._window)
        self.dialog = dialog

        def submit(due_at: dt.datetime, note: str) -> None:
            def job() -> uuid.UUID:
                return self._service.set(
                    due_at, ticket_id=ticket_id, customer_id=customer_id, note=note
                )

            def saved(_rid: uuid.UUID) -> None:
                dialog.accept()
                status = getattr(self._window, "statusBar", None)
                if callable(status):
                    status().showMessage(f"Reminder set for {fmt.when(due_at)}.", 8000)

            def refused(exc: BaseException) -> None:
                dialog.refused(str(exc), getattr(exc, "field", None))

            self._bridge.submit(job, on_done=saved, on_error=refused)

        dialog.submitted.connect(submit)
        dialog.open()
        return dialog

    def shutdown(self) -> None:
        self.view.close()


def install_followups(
    window: Any, bridge: Bridge, service: DeskFollowUps, changes: Any, *, now: Now = _local_now
) -> FollowUpsDesk:
    """Add Reminders and Remind me… to ``window``'s toolbar, follow the change bus, and load
    the list once (the sign-in check for reminders that came due while away)."""
    desk = FollowUpsDesk(window, bridge, service, now=now)
    # The right-hand strip beside the panes (no width taken from the call toolbar, which is
    # full at 1366 px); the agent toolbar when a window has no strip.
    bar = getattr(window, "utility", None) or getattr(window, "toolbar", None)
    if bar is not None:
        bar.addSeparator()
    for action in (desk.open_action, desk.remind_action):
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        window.addAction(action)
        if bar is not None:
            bar.addAction(action)
    desk.view.addAction(desk.open_action)
    if changes is not None:
        changes.changed.connect(desk.apply_changes)
    desk.refresh()
    return desk
