"""The ticket detail panel: fields, status along the workflow, comments, links, full history."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from agentdesk.services.labels import shipped_labels
from agentdesk.services.tickets.service import TicketService
from agentdesk.services.tickets.sla import format_countdown
from agentdesk.services.tickets.views import (
    WORKFLOW,
    ChangeView,
    CommentView,
    LinkedInteraction,
    TicketConflict,
    TicketDetail,
    TicketRow,
)
from agentdesk.ui import format as fmt
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.named import named
from agentdesk.ui.row_model import Column, RowTableModel
from agentdesk.ui.tickets.dialogs import PRIORITIES, SEVERITIES

COMMENT_COLUMNS = (
    Column[CommentView]("When", lambda c: f"{c.created_at.astimezone():%d %b %H:%M}"),
    Column[CommentView]("Author", lambda c: c.author),
    Column[CommentView](
        "Comment", lambda c: " ".join(c.body[:300].split()), tooltip=lambda c: c.body[:2000]
    ),
)
HISTORY_COLUMNS = (
    Column[ChangeView]("When", lambda h: f"{h.changed_at.astimezone():%d %b %H:%M}"),
    Column[ChangeView]("By", lambda h: h.by_name or shipped_labels().actor(h.changed_by)),
    Column[ChangeView]("Field", lambda h: h.field.replace("_", " ")),
    Column[ChangeView]("From", lambda h: (h.old_value or "—")[:80]),
    Column[ChangeView]("To", lambda h: (h.new_value or "—")[:80]),
)
LINK_COLUMNS = (
    Column[LinkedInteraction]("When", lambda i: f"{i.at.astimezone():%d %b %Y %H:%M}"),
    Column[LinkedInteraction]("Channel", lambda i: i.channel),
    Column[LinkedInteraction]("Summary", lambda i: i.summary),
)


def _plain(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _uuid(value: object) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None


def due_text(due: dt.datetime, now: dt.datetime) -> str:
    """A due time in local time; with the year when it is not this year's."""
    local = due.astimezone()
    same_year = local.year == now.astimezone().year
    return f"{local:%d %b %H:%M}" if same_year else f"{local:%d %b %Y %H:%M}"


def _select(combo: QComboBox, value: uuid.UUID | None, name: str, missing: str) -> None:
    """Show ``value`` in ``combo``, adding it when the choices do not hold it (not loaded yet,
    an agent who has left): the form must show the ticket's real team and assignee."""
    if value is None:
        combo.setCurrentIndex(max(0, combo.findData(None)))
        return
    index = combo.findData(str(value))
    if index < 0:
        combo.addItem(name or missing, str(value))
        index = combo.count() - 1
    combo.setCurrentIndex(index)


def _table(model: RowTableModel[Any], name: str) -> QTableView:
    view = named(QTableView(), name)
    view.setModel(model)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.setWordWrap(False)
    return view


class TicketDetailPanel(QWidget):
    """Edits one ticket; a concurrent change shows a conflict banner instead of overwriting."""

    ticket_saved = Signal(uuid.UUID)
    ticket_loaded = Signal(object)  # the TicketRow shown now, or None when none is
    message_shown = Signal(str)

    def __init__(
        self,
        bridge: Bridge,
        service: TicketService,
        parent: QWidget | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._service = service
        self._clock = clock
        self._loaded: TicketRow | None = None
        self._pending: dict[str, object] = {}
        self._build()

    def _build(self) -> None:
        self.heading = named(QLabel(), "Ticket heading")
        # Rich text for the bold number only; every value in it goes through fmt.esc.
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.heading.setWordWrap(True)
        self.overdue = fmt.plain(named(QLabel(), "Overdue badge"))
        self.overdue.setStyleSheet(
            "background:#c62828;color:#ffffff;font-weight:bold;padding:2px 8px;border-radius:8px"
        )
        self.overdue.setVisible(False)
        self.title = named(QLineEdit(maxLength=300), "Ticket title")
        self.status = named(QComboBox(), "Ticket status")
        self.priority = named(QComboBox(), "Ticket priority")
        self.severity = named(QComboBox(), "Ticket severity")
        for combo, values in ((self.priority, PRIORITIES), (self.severity, SEVERITIES)):
            for value in values:
                combo.addItem(value.title(), value)
        self.team = named(QComboBox(), "Ticket team")
        self.assignee = named(QComboBox(), "Ticket assignee")
        self.save = named(QPushButton("&Save changes"), "Save ticket changes")
        self.conflict = fmt.plain(named(QLabel(wordWrap=True), "Conflict message"))
        self.conflict.setStyleSheet(
            "background:#fdecea;color:#8a1c1c;padding:6px;border-radius:4px"
        )
        self.apply_mine = named(QPushButton("Apply &mine anyway"), "Apply my changes anyway")
        self.discard = named(QPushButton("&Discard mine"), "Discard my changes and reload")
        form = QFormLayout()
        form.addRow("&Title", self.title)
        form.addRow("S&tatus", self.status)
        row = QHBoxLayout()
        for label, w in (("Priority", self.priority), ("Severity", self.severity)):
            row.addWidget(fmt.plain(QLabel(label)))
            row.addWidget(w)
        form.addRow(row)
        form.addRow("Te&am", self.team)
        form.addRow("Assi&gnee", self.assignee)
        self.comments_model = RowTableModel[CommentView](COMMENT_COLUMNS, parent=self)
        self.history_model = RowTableModel[ChangeView](HISTORY_COLUMNS, parent=self)
        self.links_model = RowTableModel[LinkedInteraction](LINK_COLUMNS, parent=self)
        self.new_comment = named(QPlainTextEdit(placeholderText="Add a comment…"), "New comment")
        self.new_comment.setMaximumHeight(70)
        self.add_comment = named(QPushButton("Add c&omment"), "Add comment")
        comments = QWidget()
        c_layout = QVBoxLayout(comments)
        c_layout.addWidget(_table(self.comments_model, "Ticket comments"))
        c_layout.addWidget(self.new_comment)
        c_layout.addWidget(self.add_comment)
        self.tabs = named(QTabWidget(), "Ticket detail sections")
        self.tabs.addTab(comments, "Comments")
        self.tabs.addTab(_table(self.history_model, "Ticket history"), "History")
        self.tabs.addTab(_table(self.links_model, "Linked interactions"), "Linked contacts")
        buttons = self._buttons = QHBoxLayout()
        buttons.addWidget(self.conflict, 1)
        buttons.addWidget(self.apply_mine)
        buttons.addWidget(self.discard)
        buttons.addWidget(self.save)
        header = QHBoxLayout()
        header.addWidget(self.heading, 1)
        header.addWidget(self.overdue, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.tabs, 1)
        self._show_conflict(None)
        self.save.clicked.connect(self._on_save_clicked)
        self.apply_mine.clicked.connect(self._on_apply_mine_clicked)
        self.discard.clicked.connect(self._on_discard_clicked)
        self.add_comment.clicked.connect(self._on_add_comment_clicked)
        self.setEnabled(False)

    # --- loading ------------------------------------------------------------------------------

    def set_choices(
        self, teams: list[tuple[uuid.UUID, str]], agents: list[tuple[uuid.UUID, str]]
    ) -> None:
        """Fill the team and assignee choices; a loaded ticket keeps showing its own."""
        self.team.clear()
        self.team.addItem("No team", None)
        # Ids travel as text: QComboBox.findData cannot match Python UUID objects.
        for team_id, name in teams:
            self.team.addItem(name, str(team_id))
        self.assignee.clear()
        self.assignee.addItem("Unassigned", None)
        for agent_id, name in agents:
            self.assignee.addItem(name, str(agent_id))
        if self._loaded is not None:
            self._show_team(self._loaded)

    def _show_team(self, row: TicketRow) -> None:
        if self.team.findData(None) < 0:
            self.team.insertItem(0, "No team", None)
        if self.assignee.findData(None) < 0:
            self.assignee.insertItem(0, "Unassigned", None)
        _select(self.team, row.team_id, row.team, "Unknown team")
        _select(self.assignee, row.assignee_id, row.assignee, "Unknown agent")

    def show_ticket(self, ticket_id: uuid.UUID | None) -> None:
        if ticket_id is None:
            self._loaded = None
            self.setEnabled(False)
            self.ticket_loaded.emit(None)
            return
        self._bridge.submit(
            self._service.detail,
            ticket_id,
            on_done=self._on_detail_loaded,
            on_error=lambda exc: self.message_shown.emit(str(exc)),
        )

    def add_action(self, button: QPushButton) -> None:
        """A button for the loaded ticket (e.g. "Call back"), first in the row beside Save."""
        self._buttons.insertWidget(0, button)

    @property
    def loaded(self) -> TicketRow | None:
        return self._loaded

    def _on_detail_loaded(self, detail: TicketDetail) -> None:
        row = self._loaded = detail.row
        self.setEnabled(True)
        self._show_conflict(None)
        now = self._clock()
        due = f" · SLA due {due_text(row.sla_due, now)}" if row.sla_due else ""
        if row.sla_paused_at is not None and row.is_open:
            due = " · SLA paused (waiting for the customer)"
        overdue = row.sla_due is not None and row.is_overdue(now)
        self.overdue.setVisible(overdue)
        if overdue and row.sla_due is not None:
            late = format_countdown(now - row.sla_due)
            self.overdue.setText(f"Overdue {late}")
            self.overdue.setAccessibleDescription(f"SLA overdue by {late}")
        customer = fmt.esc(row.customer_name) if row.customer_name else "no customer"
        self.heading.setText(
            f"<b>{fmt.esc(row.number)}</b> · {fmt.esc(row.reason_label)} · {customer}{due}"
        )
        self.title.setText(row.title)
        self.status.clear()
        self.status.addItem(row.status.title(), row.status)
        for nxt in WORKFLOW.get(row.status, ()):
            label = "Reopen" if nxt == "open" and row.status != "new" else nxt.title()
            self.status.addItem(f"→ {label}", nxt)
        self.priority.setCurrentIndex(max(0, self.priority.findData(row.priority)))
        self.severity.setCurrentIndex(max(0, self.severity.findData(row.severity)))
        self._show_team(row)
        self.comments_model.set_rows(detail.comments)
        self.history_model.set_rows(detail.history)
        self.links_model.set_rows(detail.interactions)
        self.ticket_loaded.emit(row)

    # --- saving -------------------------------------------------------------------------------

    def changed_values(self) -> dict[str, object]:
        """Only the fields the agent changed against the loaded ticket: a save must not write
        what it did not touch (an untouched form once cleared the team and assignee)."""
        loaded = self._loaded
        if loaded is None:
            return {}
        return {
            name: value
            for name, value in self.edited_values().items()
            if _plain(value) != _plain(loaded.value(name))
        }

    def edited_values(self) -> dict[str, object]:
        """Every value the form holds now."""
        return {
            "title": self.title.text().strip(),
            "status": self.status.currentData(),
            "priority": self.priority.currentData(),
            "severity": self.severity.currentData(),
            "team_id": _uuid(self.team.currentData()),
            "assignee_id": _uuid(self.assignee.currentData()),
        }

    def _on_save_clicked(self, _checked: bool = False, force: bool = False) -> None:
        loaded = self._loaded
        if loaded is None:
            return
        values = self._pending if force else self.changed_values()
        self._pending = values
        self._bridge.submit(
            lambda: self._service.update(loaded, values, force=force),
            on_done=self._on_saved,
            on_error=self._on_save_failed,
        )

    def _on_apply_mine_clicked(self) -> None:
        self._on_save_clicked(force=True)

    def _on_discard_clicked(self) -> None:
        self._pending = {}
        if self._loaded is not None:
            self.show_ticket(self._loaded.id)

    def _on_saved(self, row: TicketRow) -> None:
        self._pending = {}
        self.ticket_saved.emit(row.id)
        self.message_shown.emit(f"Ticket {row.number} saved")
        self.show_ticket(row.id)

    def _on_save_failed(self, exc: BaseException) -> None:
        if isinstance(exc, TicketConflict):
            self._loaded = exc.current  # a forced save applies on top of what is there now
            self._show_conflict(exc)
            return
        self.message_shown.emit(f"Not saved: {exc}")

    def _show_conflict(self, exc: TicketConflict | None) -> None:
        for w in (self.conflict, self.apply_mine, self.discard):
            w.setVisible(exc is not None)
        if exc is None:
            return
        lines = [
            f"{f.field.replace('_id', '').replace('_', ' ')}: "
            f"they saved “{fmt.display_text(f.theirs)}”, you chose “{fmt.display_text(f.yours)}” "
            f"(was “{fmt.display_text(f.base)}”)"
            for f in exc.fields
        ]
        self.conflict.setText(
            "Someone else changed this ticket while you were editing.\n" + "\n".join(lines)
        )

    def _on_add_comment_clicked(self) -> None:
        loaded, body = self._loaded, self.new_comment.toPlainText()
        if loaded is None or not body.strip():
            return
        self._bridge.submit(
            self._service.comment,
            loaded.id,
            body,
            on_done=lambda _id: self._on_comment_added(loaded.id),
            on_error=lambda exc: self.message_shown.emit(f"Not added: {exc}"),
        )

    def _on_comment_added(self, ticket_id: uuid.UUID) -> None:
        self.new_comment.clear()
        self.ticket_saved.emit(ticket_id)
        self.show_ticket(ticket_id)
