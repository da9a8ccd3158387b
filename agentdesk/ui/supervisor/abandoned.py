"""The supervisors' abandoned-call worklist: who hung up waiting, and a callback task for them.

One table of callers (number, known customer, queue, wait, how often, first
and last time, IVR intent) over a :class:`~agentdesk.ui.row_model.RowTableModel`
for the chosen day, computed on the server from its queue records
(``/api/v1/supervisor/abandoned``): repeat callers are one row, and callers
answered or called back since are not listed. "Call back…" asks who calls
(an agent: a reminder on their desk; or a team: a ticket routed to it) and
creates the task on the server, which refuses customers who asked not to be
phoned; the refusal is shown in words. Such a caller is marked on the list
("Asked not to be phoned") and "Call back…" is off for them, with the reason
beside it. Who holds an open callback task comes from the server with each
load (the reminders and tickets themselves), so it survives a restart. Every
call runs on the bridge's central lane; answers come back on the GUI thread.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import QDate, QItemSelection, QSize, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QPushButton,
    QRadioButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from agentdesk.client.abandoned import Targets
from agentdesk.services.supervisor.abandoned import AbandonedRow, Worklist
from agentdesk.services.supervisor.abandoned_callback import CallbackCreated
from agentdesk.ui import format as fmt
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.row_model import Column, RowTableModel
from agentdesk.ui.supervisor.panels import place_on_screen


class AbandonedSource(Protocol):
    """What the view needs (``client.abandoned.ServerAbandoned`` over the server)."""

    def worklist(self, start: dt.date | dt.datetime, end: dt.date | dt.datetime) -> Worklist: ...

    def targets(self) -> Targets: ...

    def callback(
        self,
        row: AbandonedRow,
        *,
        agent_id: uuid.UUID | None = None,
        team_id: uuid.UUID | None = None,
    ) -> CallbackCreated: ...


def _customer(row: AbandonedRow) -> str:
    if row.customer is None:
        return "Not a customer on file"
    if row.customer.name:
        return fmt.display_text(row.customer.name)
    return f"{row.customer.matches} customers share this number"


def _time(value: dt.datetime) -> str:
    return value.astimezone().strftime("%H:%M")


def _times(row: AbandonedRow) -> str:
    if row.count == 1:
        return f"once, {_time(row.last_at)}"
    return f"{row.count} times, {_time(row.first_at)}–{_time(row.last_at)}"


def _queues(row: AbandonedRow) -> str:
    return ", ".join(row.queues)


COLUMNS: tuple[Column[AbandonedRow], ...] = (
    Column("Caller", lambda r: r.display),
    Column("Customer", _customer),
    Column("Queue", lambda r: r.queue, tooltip=lambda r: f"Abandoned in: {_queues(r)}"),
    Column("Waited", lambda r: fmt.duration(r.wait_s), align_right=True,
           tooltip=lambda r: f"Longest wait {fmt.duration(r.longest_wait_s)}"),
    Column("Hung up", _times),
    Column("IVR intent", lambda r: fmt.words(r.intent) if r.intent else "Not recorded"),
)  # fmt: skip


OPTED_OUT = "Asked not to be phoned"


def why_not(row: AbandonedRow) -> str:
    """Why this caller cannot be called back ("" when they can)."""
    if not row.opted_out:
        return ""
    customer = row.customer
    who = "A customer with this number"
    if customer is not None and customer.name:
        who = fmt.display_text(customer.name)
    return f"{who} asked not to be phoned: no callback can be made."


class CallbackDialog(QDialog):
    """Who calls back: an agent (a reminder on their desk) or a team (a ticket for it)."""

    def __init__(self, row: AbandonedRow, targets: Targets, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("callback_dialog")
        self.setWindowTitle("Call back")
        layout = QVBoxLayout(self)
        what = f"Call back {row.display} ({_customer(row)}), abandoned in {row.queue}"
        heading = fmt.plain(QLabel(fmt.display_text(what)))
        heading.setWordWrap(True)
        layout.addWidget(heading)
        form = QFormLayout()
        self.to_agent = QRadioButton("An agent")
        self.to_team = QRadioButton("A team")
        group = QButtonGroup(self)
        group.addButton(self.to_agent)
        group.addButton(self.to_team)
        self.agent = QComboBox()
        self.agent.setObjectName("callback_agent")
        for agent_id, name in targets.agents:
            self.agent.addItem(fmt.display_text(name), agent_id)
        self.team = QComboBox()
        self.team.setObjectName("callback_team")
        for team_id, name in targets.teams:
            self.team.addItem(fmt.display_text(name), team_id)
        # The queue's own team first, where a team is named like the queue ("cards" → Cards).
        for n, (_, name) in enumerate(targets.teams):
            if name.casefold() == row.queue.casefold():
                self.team.setCurrentIndex(n)
        form.addRow(self.to_agent, self.agent)
        form.addRow(self.to_team, self.team)
        layout.addLayout(form)
        hint = fmt.plain(
            QLabel("An agent gets a reminder on their desk now; a team gets a ticket in its queue.")
        )
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #546e7a;")
        layout.addWidget(hint)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create callback task")
        layout.addWidget(self.buttons)
        self.to_team.setChecked(True)
        self._connect_signals()
        self._update()

    def _connect_signals(self) -> None:
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.to_agent.toggled.connect(self._update)

    def _update(self, *_: Any) -> None:
        self.agent.setEnabled(self.to_agent.isChecked())
        self.team.setEnabled(self.to_team.isChecked())
        combo = self.agent if self.to_agent.isChecked() else self.team
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(combo.count() > 0)

    def choice(self) -> tuple[uuid.UUID | None, uuid.UUID | None]:
        """(agent_id, team_id): exactly one is set."""
        if self.to_agent.isChecked():
            return self.agent.currentData(), None
        return None, self.team.currentData()


class AbandonedWindow(QMainWindow):
    """The day's abandoned callers not reached since, and callback tasks for them."""

    loaded = Signal(int)  # rows on the list after a (re)load
    acted = Signal(str)  # a callback task was created: its message
    failed = Signal(str)  # a call was refused or failed: the reason

    def __init__(
        self,
        source: AbandonedSource,
        bridge: Bridge,
        parent: QWidget | None = None,
        *,
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("abandoned_window")
        self.setWindowTitle("Abandoned calls")
        self._source, self._bridge = source, bridge
        # number -> who has the task, set here since the last load (the server names the
        # tasks on every load; this only bridges the moment until the next one).
        self._tasks: dict[str, str] = {}
        self._targets: Targets | None = None
        self.dialog: CallbackDialog | None = None
        self.model: RowTableModel[AbandonedRow] = RowTableModel(self._columns(), parent=self)
        self._build(today())
        self._connect_signals()
        self._update_actions()
        place_on_screen(self, QSize(1100, 640))

    def _columns(self) -> tuple[Column[AbandonedRow], ...]:
        task = Column[AbandonedRow]("Callback", self._task_text, tooltip=why_not)
        return (*COLUMNS, task)

    def _task_text(self, row: AbandonedRow) -> str:
        if row.opted_out:
            return OPTED_OUT
        mine = self._tasks.get(row.number)
        return mine or (f"Task for {fmt.display_text(row.task)}" if row.task else "")

    def _build(self, today: dt.date) -> None:
        central = QWidget()
        layout = QVBoxLayout(central)
        top = QHBoxLayout()
        top.addWidget(fmt.plain(QLabel("Day")))
        self.day = QDateEdit(QDate(today.year, today.month, today.day))
        self.day.setObjectName("abandoned_day")
        self.day.setCalendarPopup(True)
        self.day.setDisplayFormat("dd MMM yyyy")
        self.day.setMaximumDate(QDate(today.year, today.month, today.day))
        top.addWidget(self.day)
        self.reload_button = QPushButton("Reload")
        top.addWidget(self.reload_button)
        self.summary = fmt.plain(QLabel("Loading…"))
        self.summary.setWordWrap(True)
        top.addWidget(self.summary, 1)
        self.callback_button = QPushButton("Call back…")
        self.callback_button.setObjectName("callback_button")
        self.callback_button.setToolTip("Create a callback task for an agent or a team")
        top.addWidget(self.callback_button)
        layout.addLayout(top)
        self.table = QTableView()
        self.table.setObjectName("abandoned_table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for col, width in enumerate((150, 210, 90, 70, 170, 130)):
            self.table.setColumnWidth(col, width)
        layout.addWidget(self.table, 1)
        self.message = fmt.plain(QLabel(""))
        self.message.setObjectName("abandoned_message")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.setCentralWidget(central)

    def _connect_signals(self) -> None:
        self.table.selectionModel().selectionChanged.connect(self._on_table_selection_changed)
        self.model.modelReset.connect(self._update_actions)
        self.reload_button.clicked.connect(self.reload)
        self.day.dateChanged.connect(self.reload)
        self.callback_button.clicked.connect(self._on_callback_clicked)
        self.table.doubleClicked.connect(self._on_callback_clicked)

    def selected(self) -> AbandonedRow | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def _update_actions(self, *_: Any) -> None:
        row = self.selected()
        self.callback_button.setEnabled(row is not None and not row.opted_out)
        reason = why_not(row) if row is not None else ""
        if reason:
            self.message.setStyleSheet("color: #6d4c41;")
            self.message.setText(reason)
        elif self.message.text().endswith("no callback can be made."):
            self.message.setText("")

    def _on_table_selection_changed(self, _new: QItemSelection, _old: QItemSelection) -> None:
        self._update_actions()

    # --- calls ------------------------------------------------------------------------------

    def reload(self, *_: Any) -> None:
        day = self.day.date().toPython()
        assert isinstance(day, dt.date)
        self.summary.setText("Loading…")
        self._call(self._source.worklist, day, day + dt.timedelta(days=1), on_done=self._on_loaded)

    def _on_loaded(self, work: Worklist) -> None:
        kept = self.selected()
        self._tasks.clear()  # the server names every open task now
        self.model.set_rows(work.rows)
        if kept is not None:
            for n, row in enumerate(work.rows):
                if row.number == kept.number:
                    self.table.selectRow(n)
        parts = [
            fmt.count(len(work.rows), "caller", "callers") + " to call back"
            if work.rows
            else "Nobody to call back"
        ]
        if work.abandoned:
            parts.append(f"{fmt.count(work.abandoned, 'abandoned call')} that day")
        if work.settled:
            parts.append(f"{work.settled} reached since")
        if work.withheld:
            parts.append(f"{work.withheld} with no number")
        if work.truncated:
            parts.append(f"{work.truncated} more not shown")
        self.summary.setText(" · ".join(parts))
        self.loaded.emit(len(work.rows))

    def _on_callback_clicked(self, *_: Any) -> None:
        row = self.selected()
        if row is None or row.opted_out:
            return
        if self._targets is None:
            self._call(self._source.targets, on_done=lambda t: self._got_targets(t, row))
        else:
            self._ask(row, self._targets)

    def _got_targets(self, targets: Targets, row: AbandonedRow) -> None:
        self._targets = targets
        self._ask(row, targets)

    def _ask(self, row: AbandonedRow, targets: Targets) -> None:
        self.dialog = CallbackDialog(row, targets, self)
        self.dialog.accepted.connect(lambda: self._create(row))
        self.dialog.open()

    def _create(self, row: AbandonedRow) -> None:
        if self.dialog is None:
            return
        agent_id, team_id = self.dialog.choice()

        def call() -> CallbackCreated:
            return self._source.callback(row, agent_id=agent_id, team_id=team_id)

        def done(made: CallbackCreated) -> None:
            self._tasks[row.number] = f"Task for {made.assigned_to}"
            text = f"Callback task for {made.assigned_to}: {made.text}."
            self.message.setStyleSheet("color: #2e7d32;")
            self.message.setText(fmt.display_text(text))
            last = self.model.columnCount() - 1
            top, bottom = (
                self.model.index(0, last),
                self.model.index(self.model.rowCount() - 1, last),
            )
            self.model.dataChanged.emit(top, bottom)
            self.acted.emit(text)

        self._call(call, on_done=done)

    def _call(self, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None]) -> None:
        def error(exc: BaseException) -> None:
            text = str(exc) or type(exc).__name__
            if self.summary.text() == "Loading…":
                self.summary.setText("The list could not be loaded.")
            self.message.setStyleSheet("color: #c62828;")
            self.message.setText(fmt.display_text(text))
            self.failed.emit(text)

        self._bridge.submit(fn, *args, on_done=on_done, on_error=error, lane="central")


def open_abandoned(source: AbandonedSource, bridge: Bridge) -> AbandonedWindow:
    """Build the worklist window and start loading today's list."""
    window = AbandonedWindow(source, bridge)
    window.reload()
    return window
