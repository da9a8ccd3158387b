"""Ticket panes: "My tickets", "My team" and a customer's tickets: sortable table + detail."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial
from typing import Literal

from PySide6.QtCore import QItemSelection, Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from agentdesk.services.tickets.service import TicketService
from agentdesk.services.tickets.views import TicketRow
from agentdesk.ui import format as fmt
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.change_bus import Changes
from agentdesk.ui.named import named
from agentdesk.ui.tickets.detail import TicketDetailPanel
from agentdesk.ui.tickets.dialogs import TicketCreateDialog
from agentdesk.ui.tickets.model import (
    COLUMNS,
    SLA_COLUMN,
    TicketFilterProxy,
    TicketTableModel,
)

Scope = Literal["mine", "team", "customer"]
COUNTDOWN_MS = 30_000  # the countdown shows minutes; refresh twice a minute
TITLES = {"mine": "My tickets", "team": "My team's tickets", "customer": "Customer tickets"}
# Narrower than this (a docked pane at 1366×768 is ~470 px) the detail goes under the list:
# side by side the list got ~190 px and every column heading was cut ("umbe", "ustom").
NARROW_PX = 760
# …and these columns go (the detail under the list shows them for the selected ticket).
NARROW_HIDDEN = ("Status", "Team", "Assignee")


class TicketPane(QWidget):
    """A filterable, sortable ticket table with the detail panel beside it (under it when
    the pane is narrow)."""

    ticket_saved = Signal(uuid.UUID)
    customer_activated = Signal(uuid.UUID)
    status_changed = Signal(str)

    def __init__(
        self, bridge: Bridge, service: TicketService, scope: Scope, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._service = service
        self._scope = scope
        self._customer: uuid.UUID | None = None
        self._select_after_load: uuid.UUID | None = None
        self._teams: list[tuple[uuid.UUID, str]] = []
        self.setAccessibleName(TITLES[scope])
        self.model = TicketTableModel(service.policy.near_breach_fraction, self)
        self.proxy = TicketFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self._build()
        self._connect_signals()
        self._clock = QTimer(self, interval=COUNTDOWN_MS)
        self._clock.timeout.connect(lambda: self.model.tick())
        self._clock.start()
        self._bridge.submit(lambda: (service.teams(), service.agents()), on_done=self._on_choices)

    def _build(self) -> None:
        self.filter = named(
            QLineEdit(placeholderText="Filter tickets…"), f"Filter {TITLES[self._scope]}"
        )
        self.filter.setClearButtonEnabled(True)
        self.refresh_button = named(QPushButton("&Refresh"), "Refresh tickets")
        self.new_button = named(QPushButton("New &ticket"), "Create a ticket")
        self.new_button.setVisible(self._scope == "customer")
        self.table = named(QTableView(), TITLES[self._scope])
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(SLA_COLUMN, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.detail = TicketDetailPanel(self._bridge, self._service, self)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName(f"ticketSplitter_{self._scope}")
        self.splitter.addWidget(self.table)
        # The detail scrolls when the pane is short (stacked under the list in a docked pane):
        # its form and tabs must not set the whole window's minimum height.
        self.detail_scroll = QScrollArea()
        self.detail_scroll.setObjectName(f"ticketDetailScroll_{self._scope}")
        self.detail_scroll.setWidgetResizable(True)
        self.detail_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.detail_scroll.setWidget(self.detail)
        self.splitter.addWidget(self.detail_scroll)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([820, 540])  # the table needs room for its SLA column at 1366 px
        self.status = fmt.plain(named(QLabel(), "Ticket list status"))
        bar = QHBoxLayout()
        bar.addWidget(self.filter, 1)
        bar.addWidget(self.new_button)
        bar.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.status)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        narrow = self.width() < NARROW_PX
        wanted = Qt.Orientation.Vertical if narrow else Qt.Orientation.Horizontal
        if self.splitter.orientation() != wanted:
            self.splitter.setOrientation(wanted)
            room = self.splitter.height() if narrow else self.splitter.width()
            self.splitter.setSizes([room * 2 // 5, room - room * 2 // 5] if narrow else [820, 540])
            for column, (title, _text) in enumerate(COLUMNS):
                if title in NARROW_HIDDEN:
                    self.table.setColumnHidden(column, narrow)

    def _connect_signals(self) -> None:
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.refresh_button.clicked.connect(self.refresh)
        self.new_button.clicked.connect(self._on_new_clicked)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.detail.ticket_saved.connect(self._on_ticket_saved)
        self.detail.message_shown.connect(self._show_status)

    # --- public -------------------------------------------------------------------------------

    def show_customer(self, customer_id: uuid.UUID | None) -> None:
        self._customer = customer_id
        self.refresh()

    def refresh(self) -> None:
        service, scope, customer = self._service, self._scope, self._customer
        job: Callable[[], list[TicketRow]]
        if scope == "mine":
            job = service.my_tickets
        elif scope == "team":
            job = service.team_tickets
        elif customer is None:
            self.model.set_rows(())
            return
        else:
            job = partial(service.customer_tickets, customer)
        self._bridge.submit(
            job,
            on_done=self._on_rows_loaded,
            on_error=lambda exc: self._show_status(f"Could not load tickets: {exc}"),
        )

    def apply_changes(self, changes: Changes) -> None:
        """Refresh in place when a change can alter what this list shows (the change bus)."""
        if self._scope == "customer":
            if not changes.touches_customer(self._customer):
                return
        elif not changes.touches("ticket", "ticket_history", "ticket_comment", "customer"):
            return
        self.refresh()
        loaded = self.detail.loaded
        if loaded is None or self.detail.changed_values():
            return  # nothing shown, or the agent is editing: the save checks the version
        if (
            changes.everything
            or loaded.id in changes.ids("ticket")
            or (
                changes.touches("ticket_comment", "ticket_history")
                and changes.touches_customer(loaded.customer_id)
            )
        ):
            self.detail.show_ticket(loaded.id)  # nothing typed there: show the new state

    def create_ticket(
        self, values: dict[str, object], customer_id: uuid.UUID | None = None
    ) -> None:
        """Create in the background; the new ticket is selected when the list reloads."""
        service = self._service
        target = customer_id or self._customer

        def job() -> TicketRow:
            return service.create(customer_id=target, **values)  # type: ignore[arg-type]

        self._bridge.submit(
            job,
            on_done=self._on_created,
            on_error=lambda exc: self._show_status(f"Not created: {exc}"),
        )

    def select_ticket(self, ticket_id: uuid.UUID) -> None:
        row = self.model.find(ticket_id)
        if row < 0:
            self._select_after_load = ticket_id
            return
        self.table.selectRow(self.proxy.mapFromSource(self.model.index(row, 0)).row())

    # --- slots --------------------------------------------------------------------------------

    def _on_rows_loaded(self, rows: list[TicketRow]) -> None:
        selected = self.detail.loaded.id if self.detail.loaded else None
        self.model.set_rows(rows)
        self.model.tick()
        breached = sum(1 for r in rows if r.sla_due and self.model.state(r).value == "breached")
        count = f"{len(rows)} ticket" + ("" if len(rows) == 1 else "s")
        self._show_status(count + (f", {breached} overdue" if breached else ""))
        target = self._select_after_load or selected
        self._select_after_load = None
        if target is not None:
            self.select_ticket(target)

    def _on_selection_changed(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        indexes = selected.indexes()
        if not indexes:
            return
        row = self.model.row_at(self.proxy.mapToSource(indexes[0]).row())
        if row is not None and (self.detail.loaded is None or self.detail.loaded.id != row.id):
            self.detail.show_ticket(row.id)

    def _on_choices(
        self, choices: tuple[list[tuple[uuid.UUID, str]], list[tuple[uuid.UUID, str]]]
    ) -> None:
        self._teams = choices[0]
        self.detail.set_choices(*choices)

    def _on_new_clicked(self) -> None:
        dialog = TicketCreateDialog(
            self._service.policy, self._teams, self, suggest=self._service.suggested_team
        )
        if dialog.exec() == TicketCreateDialog.DialogCode.Accepted:
            self.create_ticket(dialog.values())

    def _on_created(self, row: TicketRow) -> None:
        self._select_after_load = row.id
        self.ticket_saved.emit(row.id)
        self._show_status(f"Ticket {row.number} created")
        self.refresh()

    def _on_ticket_saved(self, ticket_id: uuid.UUID) -> None:
        self.ticket_saved.emit(ticket_id)
        self.refresh()

    def _show_status(self, text: str) -> None:
        self.status.setText(text)
        self.status_changed.emit(text)
