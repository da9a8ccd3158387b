"""The customer 360 workspace: one tab per open customer.

Header (name, segment, language, verification, flags), contact points with
click-to-dial and copy, masked identity documents and products with an
audited reveal, the change history, the timeline and the customer's tickets.
Every load and write runs on the bridge; the widgets only show frozen cards.
"""

from __future__ import annotations

import uuid
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from agentdesk.services.crm.customer_views import (
    ContactPoint,
    CustomerCard,
    DocumentView,
    HistoryEntry,
    ProductView,
)
from agentdesk.services.crm.customers import CustomerNotFound, RevealedValue
from agentdesk.services.desk.callback_tasks import opt_out_reason
from agentdesk.ui import format as fmt
from agentdesk.ui.change_bus import Changes
from agentdesk.ui.named import named
from agentdesk.ui.orders import workspace as orders_ui
from agentdesk.ui.row_model import ROW_ROLE, Column, RowTableModel
from agentdesk.ui.shell_widgets import ElidedLabel, fit_columns
from agentdesk.ui.tickets.pane import TicketPane
from agentdesk.ui.timeline.view import TimelineView
from agentdesk.ui.workspace.context import WorkspaceContext
from agentdesk.ui.workspace.dialogs import AddContactDialog, EditCustomerDialog, RevealDialog
from agentdesk.ui.workspace.live_products import SOURCES as LIVE_SOURCES
from agentdesk.ui.workspace.live_products import LiveProductsPanel

CONTACT_COLUMNS = (
    Column[ContactPoint]("Type", lambda c: c.kind.title()),
    Column[ContactPoint]("Label", lambda c: c.label.title() + (" ★" if c.is_primary else "")),
    Column[ContactPoint]("Value", lambda c: c.value),
)
PRODUCT_COLUMNS = (
    Column[ProductView]("Product", lambda p: p.name),
    Column[ProductView]("Number", lambda p: p.masked_number),
    Column[ProductView]("Status", lambda p: p.status),
    Column[ProductView](
        "Balance",
        lambda p: "" if p.balance is None else f"{p.balance:,.2f} {p.currency}",
        align_right=True,
    ),
    Column[ProductView](
        "As of", lambda p: f"{p.as_of.astimezone():%d %b %H:%M} · {p.source_system}"
    ),
)
DOCUMENT_COLUMNS = (
    Column[DocumentView]("Document", lambda d: fmt.label("document", d.kind)),
    Column[DocumentView]("Number", lambda d: d.masked_number),
    Column[DocumentView]("Country", lambda d: d.issuing_country),
    Column[DocumentView]("Expires", lambda d: d.expires_on.isoformat() if d.expires_on else ""),
    Column[DocumentView]("Verified", lambda d: "yes" if d.verified else "no"),
)
HISTORY_COLUMNS = (
    Column[HistoryEntry]("When", lambda h: f"{h.changed_at.astimezone():%d %b %Y %H:%M}"),
    Column[HistoryEntry]("By", lambda h: h.by_name or h.changed_by),
    Column[HistoryEntry]("Field", lambda h: h.field.replace("_", " ")),
    Column[HistoryEntry]("Old value", lambda h: (h.old_value or "—")[:120]),
    Column[HistoryEntry]("New value", lambda h: (h.new_value or "—")[:120]),
)
MAX_HELD_CHANGES = 10_000  # a hidden tab holding more just refreshes everything when shown
DOCUMENT_STATUS = {
    "verified": "ID document on file",
    "partial": "ID document partly checked",
    "unverified": "No ID document checked",
}
CALL_CHIP = "Current caller"  # the accessible name of the "On call" chip
CHIP_STYLE = "border-radius:8px;padding:2px 8px;color:white;background:{}"


def _table(model: RowTableModel[Any], name: str) -> QTableView:
    view = named(QTableView(), name)
    view.setModel(model)
    view.verticalHeader().setVisible(False)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    view.horizontalHeader().setStretchLastSection(True)
    view.setWordWrap(False)
    return view


def _tombstone_text(card: CustomerCard) -> str:
    """The banner of a merged duplicate: which customer it became ("" when not merged)."""
    if card.merged_into is None:
        return ""
    into = card.merged_into_name or "another customer"
    return (
        f"This record was merged into {fmt.display_text(into)}, who now has its calls, "
        "tickets, contacts and products. What you see here is read-only."
    )


def _chip(text: str, colour: str, name: str) -> QLabel:
    chip = fmt.plain(named(QLabel(fmt.display_text(text)), name))
    chip.setStyleSheet(CHIP_STYLE.format(colour))
    return chip


class CustomerWorkspace(QWidget):
    """Everything about one customer; ``dial_requested`` goes to the call controls."""

    dial_requested = Signal(str)  # E.164 number
    card_loaded = Signal(object)  # CustomerCard
    revealed = Signal(str)  # the clear value (shown in the row until the tab closes)
    message_shown = Signal(str)
    customer_requested = Signal(object)  # a customer id to open: the survivor of a merge

    def __init__(
        self,
        context: WorkspaceContext,
        customer_id: uuid.UUID,
        caller: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._ctx = context
        self.customer_id = customer_id
        self.caller = caller
        self.card: CustomerCard | None = None
        self._stale: Changes | None = None  # changes that came while this tab was hidden
        self.setAccessibleName("Customer workspace")
        self._build()
        self._connect_signals()
        self.refresh()
        self.timeline.show_customer(customer_id)
        self.tickets.show_customer(customer_id)

    def _build(self) -> None:
        self.name = named(ElidedLabel("Loading…"), "Customer name")  # long names elide
        font = self.name.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.name.setFont(font)
        self.chips = QHBoxLayout()
        self.banner = fmt.plain(named(QLabel(wordWrap=True), "Customer status banner"))
        self.banner.setStyleSheet("background:#c62828;color:white;padding:6px;border-radius:4px")
        self.banner.setVisible(False)
        self.open_survivor = named(QPushButton("Open"), "Open the customer this one became")
        self.open_survivor.setVisible(False)
        self.contacts = RowTableModel[ContactPoint](CONTACT_COLUMNS, parent=self)
        self.products = RowTableModel[ProductView](PRODUCT_COLUMNS, parent=self)
        self.documents = RowTableModel[DocumentView](DOCUMENT_COLUMNS, parent=self)
        self.history = RowTableModel[HistoryEntry](HISTORY_COLUMNS, parent=self)
        self.contacts_view = _table(self.contacts, "Contact points")
        self.products_view = _table(self.products, "Products and accounts")
        self.live = LiveProductsPanel(self._ctx.bridge, self._ctx.live_products, _table)
        self.live.rows_ready.connect(self._on_live_rows)
        self.documents_view = _table(self.documents, "Identity documents")
        self.history_view = _table(self.history, "Change history")
        self.call_button = named(QPushButton("&Call"), "Call the selected number")
        self.copy_button = named(QPushButton("C&opy"), "Copy the selected contact point")
        self.add_phone = named(QPushButton("Add &phone"), "Add a phone number")
        self.add_email = named(QPushButton("Add &e-mail"), "Add an e-mail address")
        self.edit_button = named(QPushButton("&Edit…"), "Edit customer details")
        self.order_button = named(QPushButton("O&rder…"), "Order a product for this customer")
        self.order_button.setVisible(self._ctx.orders is not None)
        self.cross_sell = orders_ui.cross_sell_strip(self._ctx, self.customer_id, self._linkedid)
        self.reveal_product = named(QPushButton("&Reveal number…"), "Reveal the account number")
        self.reveal_document = named(QPushButton("Re&veal document…"), "Reveal the document number")
        self.dob = fmt.plain(named(QLabel(), "Date of birth (masked)"))
        self.reveal_dob = named(QPushButton("Reveal date of &birth…"), "Reveal the date of birth")
        self.revealed_value = fmt.plain(
            named(
                QLabel(textInteractionFlags=Qt.TextInteractionFlag.TextSelectableByMouse),
                "Revealed value",
            )
        )

        left = named(QTabWidget(), "Customer details")
        left.addTab(
            self._page(
                self.contacts_view,
                self.call_button,
                self.copy_button,
                self.add_phone,
                self.add_email,
            ),
            "Contact",
        )
        left.addTab(self._page(self.products_view, self.reveal_product, live=self.live), "Products")
        identity = self._page(self.documents_view, self.reveal_document)
        dob_row = QHBoxLayout()  # its own row: one row of both is wider than the pane
        dob_row.addWidget(self.dob)
        dob_row.addWidget(self.reveal_dob)
        dob_row.addStretch(1)
        identity_layout = identity.layout()
        assert isinstance(identity_layout, QVBoxLayout)
        identity_layout.addLayout(dob_row)
        left.addTab(identity, "Identity")
        left.addTab(self._page(self.history_view, self.edit_button), "History")
        self.detail_tabs = left
        self.timeline = TimelineView(
            self._ctx.bridge, self._ctx.timeline, self._ctx.agent_id, parent=self
        )
        self.tickets = TicketPane(self._ctx.bridge, self._ctx.tickets, "customer", self)
        right = named(QTabWidget(), "Customer activity")
        right.addTab(self.timeline, "Timeline")
        right.addTab(self.tickets, "Tickets")
        self.activity_tabs = right
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("workspaceSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setSizes([480, 820])
        self.splitter.setChildrenCollapsible(False)
        for view in (self.contacts_view, self.documents_view, self.history_view):
            fit_columns(view)  # every column in sight: wide cells elide, with their tooltip
        balance = next(i for i, c in enumerate(PRODUCT_COLUMNS) if c.title == "Balance")
        fit_columns(self.products_view, whole=(balance,))  # a cut balance misleads
        fit_columns(self.tickets.table)
        header = QHBoxLayout()
        header.addWidget(self.name)
        header.addLayout(self.chips)
        header.addStretch(1)
        header.addWidget(self.revealed_value)
        header.addWidget(self.order_button)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        if self.cross_sell is not None:
            layout.addWidget(self.cross_sell)
        status = QHBoxLayout()
        status.addWidget(self.banner, 1)
        status.addWidget(self.open_survivor)
        layout.addLayout(status)
        layout.addWidget(self.splitter, 1)

    @staticmethod
    def _page(table: QTableView, *widgets: QWidget, live: QWidget | None = None) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(table, 1)
        row = QHBoxLayout()
        for w in widgets:
            row.addWidget(w)
        row.addStretch(1)
        layout.addLayout(row)
        if live is not None:  # the products tab: freshness and recent transactions below
            layout.addWidget(live, 1)
        return page

    def _connect_signals(self) -> None:
        self.order_button.clicked.connect(lambda: self.open_order_dialog())
        if self.cross_sell is not None:
            self.cross_sell.answered.connect(self._on_cross_sell_answered)
        self.call_button.clicked.connect(self._on_call_clicked)
        self.open_survivor.clicked.connect(self._on_open_survivor_clicked)
        self.contacts_view.doubleClicked.connect(lambda _i: self._on_call_clicked())
        self.copy_button.clicked.connect(self._on_copy_clicked)
        self.edit_button.clicked.connect(self._on_edit_clicked)
        self.add_phone.clicked.connect(lambda: self._on_add_contact_clicked("phone"))
        self.add_email.clicked.connect(lambda: self._on_add_contact_clicked("email"))
        self.reveal_product.clicked.connect(lambda: self._on_reveal_clicked("product"))
        self.reveal_document.clicked.connect(lambda: self._on_reveal_clicked("document"))
        self.reveal_dob.clicked.connect(lambda: self._on_reveal_clicked("date_of_birth"))

    # --- live changes (the change bus) ---------------------------------------------------------

    def apply_changes(self, changes: Changes) -> None:
        """Refresh in place what ``changes`` alter here; a hidden tab waits until shown."""
        if not changes.touches_customer(self.customer_id):
            return
        if not self.isVisible():
            self._stale = changes if self._stale is None else _merged(self._stale, changes)
            return
        if (
            changes.everything
            or self.customer_id in changes.ids("customer")
            or changes.touches("customer_history")
        ):
            self.refresh()
        self.timeline.refresh()
        self.tickets.apply_changes(changes)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        stale, self._stale = self._stale, None
        if stale is not None:
            self.apply_changes(stale)

    # --- loading ------------------------------------------------------------------------------

    def refresh(self) -> None:
        self._ctx.bridge.submit(
            self._ctx.customers.load,
            self.customer_id,
            on_done=self._on_card_loaded,
            on_error=self._on_load_failed,
        )

    def _on_card_loaded(self, card: CustomerCard) -> None:
        self.card = card
        self.name.setText(fmt.display_text(card.display_name))
        while self.chips.count():
            item = self.chips.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        chips = [
            (fmt.label("segment", card.segment), "#455a64", "Segment"),
            (card.preferred_language.upper(), "#5d4037", "Language"),
            (  # the documents checked on file, not this call's ID&V (the pop's banner)
                DOCUMENT_STATUS.get(card.verification, f"ID document: {card.verification}"),
                "#2e7d32" if card.verification == "verified" else "#ef6c00",
                "ID document on file",
            ),
        ]
        chips += [
            (t, c, t)
            for flag, t, c in (
                (card.vulnerable, "Vulnerable", "#ad1457"),
                (card.marketing_opt_out, "No marketing", "#6d4c41"),
                (card.phone_opt_out, "Do not phone", "#4e342e"),
                (card.legal_hold, "Legal hold", "#b71c1c"),
            )
            if flag
        ]
        for text, colour, name in chips:
            self.chips.addWidget(_chip(text, colour, name))
        self._show_call_chip()
        self.call_button.setToolTip(
            f"{opt_out_reason(card.display_name)}: Call does not dial"
            if card.phone_opt_out
            else "Call the selected number"
        )
        self.contacts.set_rows(card.contacts)
        self.products.set_rows(card.products)
        self.products_view.setColumnHidden(len(PRODUCT_COLUMNS) - 1, False)
        self.live.load(card.id, card.products)
        self.documents.set_rows(card.documents)
        self.history.set_rows(card.history)
        masked = fmt.display_text(card.date_of_birth_masked)
        self.dob.setText(f"Born {masked}" if masked else "")
        self._set_deleted(card.deleted, _tombstone_text(card))
        self.open_survivor.setVisible(card.merged_into is not None)
        self.open_survivor.setText(
            fmt.tab_text(f"Open {card.merged_into_name}")
            if card.merged_into_name
            else "Open the customer it became"
        )
        self.card_loaded.emit(card)

    def _on_live_rows(self, rows: tuple[ProductView, ...]) -> None:
        """Live balances in; the "As of" column goes when the note under the table says it
        for every row (room for the balances in a narrow pane)."""
        self.products.set_rows(rows)
        one_time = bool(rows) and all(r.source_system in LIVE_SOURCES.values() for r in rows)
        self.products_view.setColumnHidden(len(PRODUCT_COLUMNS) - 1, one_time)

    # --- the call (chips, revealed values and markers belong to it) ----------------------------

    def set_on_call(self, on_call: bool) -> None:
        """This customer is (or no longer is) on the line. When the call ends the "On call"
        chip goes and a revealed value is masked again: both belonged to that call."""
        self.caller = on_call
        self._show_call_chip()
        if not on_call:
            self.revealed_value.clear()

    def _show_call_chip(self) -> None:
        shown = [
            w
            for i in range(self.chips.count())
            if (w := self.chips.itemAt(i).widget()) is not None  # type: ignore[union-attr]
            and w.accessibleName() == CALL_CHIP
        ]
        if self.caller and not shown and self.card is not None:
            self.chips.insertWidget(0, _chip("On call", "#1565c0", CALL_CHIP))
        elif not self.caller:
            for widget in shown:
                self.chips.removeWidget(widget)
                widget.deleteLater()

    def _linkedid(self) -> str | None:
        call = self._ctx.current_call() if self.caller and self._ctx.current_call else None
        return call.linkedid if call is not None else None

    def open_order_dialog(self, product_code: str | None = None) -> QDialog | None:
        """The order dialog for this customer, with the ID&V of the call if they are on it."""
        if not self.order_button.isEnabled():  # a merged or deleted record (a late Accept)
            self.message_shown.emit(self.order_button.toolTip())
            return None
        call = self._ctx.current_call() if self.caller and self._ctx.current_call else None
        dialog = orders_ui.order_dialog(self._ctx, self.customer_id, call, product_code, self)
        if dialog is not None:
            dialog.order_placed.connect(self._on_order_placed)
            dialog.open()
        return dialog

    def _on_order_placed(self, order: Any) -> None:
        self.message_shown.emit(f"Order {order.number} placed: {order.product_name}")
        if self.cross_sell is not None:
            self.cross_sell.reload()  # an ordered product is not suggested again

    def _on_cross_sell_answered(self, suggestion: Any, accepted: bool) -> None:
        if accepted:
            self.open_order_dialog(suggestion.product_code)

    def _on_load_failed(self, exc: BaseException) -> None:
        if isinstance(exc, CustomerNotFound):
            self._set_deleted(True, "This customer is no longer in the store (removed elsewhere).")
        else:
            self.message_shown.emit(f"Could not load the customer: {exc}")

    def _set_deleted(self, deleted: bool, text: str = "") -> None:
        self.banner.setText(
            text or "This customer was deleted elsewhere. What you see is read-only."
        )
        self.banner.setVisible(deleted)
        for w in (self.edit_button, self.add_phone, self.add_email, self.tickets.new_button):
            w.setEnabled(not deleted)
        self.timeline.set_read_only(deleted)
        self.order_button.setEnabled(not deleted)
        self.order_button.setToolTip(self._order_refusal() if deleted else "")
        if self.cross_sell is not None and deleted:
            self.cross_sell.hide()  # nothing is sold to a record that is gone

    def _order_refusal(self) -> str:
        """Why no order can be placed on this (merged or deleted) record."""
        card = self.card
        if card is not None and card.merged_into is not None:
            into = fmt.display_text(card.merged_into_name or "the customer it became")
            return f"No orders here: this record was merged into {into}. Open {into} to order."
        return "No orders here: this customer was deleted."

    def _on_open_survivor_clicked(self) -> None:
        if self.card is not None and self.card.merged_into is not None:
            self.customer_requested.emit(self.card.merged_into)

    # --- actions ------------------------------------------------------------------------------

    def _selected(self, view: QTableView) -> Any:
        index = view.currentIndex()
        # model().data, not index.data: see TimelineDelegate.paint (PySide6 None refcount bug).
        return self._model_of(view).data(index, ROW_ROLE) if index.isValid() else None

    @staticmethod
    def _model_of(view: QTableView) -> Any:
        return view.model()

    def _on_call_clicked(self) -> None:
        contact = self._selected(self.contacts_view)
        if not (isinstance(contact, ContactPoint) and contact.dial):
            self.message_shown.emit("Select a phone number to call")
        elif self.card is not None and self.card.phone_opt_out:
            # The customer's contact preference wins over a click (callbacks honour it too).
            self.message_shown.emit(f"Not called: {opt_out_reason(self.card.display_name)}.")
        else:
            self.dial_requested.emit(contact.dial)

    def _on_copy_clicked(self) -> None:
        contact = self._selected(self.contacts_view)
        if isinstance(contact, ContactPoint):
            QApplication.clipboard().setText(contact.dial or contact.value)
            self.message_shown.emit(f"Copied {contact.kind}")

    def _on_reveal_clicked(self, target: str) -> None:
        row = None
        if target != "date_of_birth":
            row = self._selected(self.products_view if target == "product" else self.documents_view)
            if row is None:
                self.message_shown.emit(f"Select a {target} first")
                return
        dialog = RevealDialog(target.replace("_", " "), self)
        if dialog.exec() == RevealDialog.DialogCode.Accepted:
            self.reveal(target, row.id if row is not None else None, dialog.reason_text())

    def reveal(self, target: str, target_id: uuid.UUID | None, reason: str) -> None:
        """Reveal in the background (writes the audit entry first), then show the value."""
        self._ctx.bridge.submit(
            self._ctx.customers.reveal,
            self.customer_id,
            target,
            target_id,
            reason,
            on_done=self._on_revealed,
            on_error=lambda exc: self.message_shown.emit(f"Not revealed: {exc}"),
        )

    def _on_revealed(self, value: RevealedValue) -> None:
        self.revealed_value.setText(f"Revealed: {fmt.display_text(value.value)}")
        self.revealed.emit(value.value)

    def _on_edit_clicked(self) -> None:
        card = self.card
        if card is None:
            return
        dialog = EditCustomerDialog(card, self)
        if dialog.exec() == EditCustomerDialog.DialogCode.Accepted:
            self.save_changes(dialog.changes())

    def save_changes(self, changes: dict[str, object]) -> None:
        card = self.card
        if card is None:
            return
        self._ctx.bridge.submit(
            self._ctx.customers.update,
            card,
            changes,
            on_done=lambda _o: self.refresh(),
            on_error=lambda exc: self.message_shown.emit(f"Not saved: {exc}"),
        )

    def _on_add_contact_clicked(self, kind: str) -> None:
        dialog = AddContactDialog(kind, self)
        if dialog.exec() != AddContactDialog.DialogCode.Accepted:
            return
        self.add_contact(
            kind, dialog.value.text(), dialog.label.currentData(), dialog.primary.isChecked()
        )

    def add_contact(self, kind: str, value: str, label: str, primary: bool = False) -> None:
        service, cid, region = self._ctx.customers, self.customer_id, self._ctx.home_region
        if kind == "phone":
            job = lambda: service.add_phone(cid, value, label, region, primary)  # noqa: E731
        else:
            job = lambda: service.add_email(cid, value, label, primary)  # noqa: E731
        self._ctx.bridge.submit(
            job,
            on_done=lambda _id: self.refresh(),
            on_error=lambda exc: self.message_shown.emit(f"Not added: {exc}"),
        )


def _merged(a: Changes, b: Changes) -> Changes:
    if len(a.entities) + len(b.entities) > MAX_HELD_CHANGES:
        return Changes(everything=True, origins=a.origins | b.origins)
    return Changes(
        a.entities | b.entities,
        a.customers | b.customers,
        a.origins | b.origins,
        a.everything or b.everything,
    )
