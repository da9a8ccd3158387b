"""The order dialog: the catalogue with the customer's eligibility, and placing an order.

Every product is listed with its verdict ("Not eligible: already holds a credit card"),
so the agent can tell the customer why. The caller's verification is shown first: an IVR
pass is enough, and so is the agent's check recorded in the call's script; otherwise the
agent says how they verified the customer (or, after a failed IVR ID&V or a failed check in
the script, cannot order on this call). Loading and placing run off the GUI thread.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from PySide6.QtCore import QEvent, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from agentdesk.services.desk.call_data import IvrData
from agentdesk.services.orders.eligibility import Verdict
from agentdesk.services.orders.service import OrderRow, OrderService, OrderStatus
from agentdesk.services.orders.verification import (
    AGENT_METHODS,
    NotVerified,
    Verification,
    VerifiedBy,
    verification_for,
)
from agentdesk.services.scripts.engine import IdvCheck
from agentdesk.ui import format as fmt
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.forms import error_label
from agentdesk.ui.named import named
from agentdesk.ui.orders.weak import weak_callback
from agentdesk.ui.row_model import Column, RowTableModel

OFFER_COLUMNS = (
    Column[Verdict]("Product", lambda v: v.product.name, lambda v: v.product.summary),
    Column[Verdict]("Eligibility", lambda v: v.describe(), lambda v: v.describe()),
)
ORDER_COLUMNS = (
    Column[OrderRow]("Order", lambda o: o.number),
    Column[OrderRow]("Product", lambda o: o.product_name),
    Column[OrderRow]("Status", lambda o: o.status.value.capitalize()),
    Column[OrderRow]("Placed", lambda o: f"{o.placed_at.astimezone():%d %b %Y %H:%M}"),
)
CHOOSE = "Choose how you verified the customer…"


def _table(model: RowTableModel[object], name: str) -> QTableView:
    view = named(QTableView(), name)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.setWordWrap(False)
    header = view.horizontalHeader()
    for section in range(model.columnCount() - 1):  # the last one takes what is left
        header.setSectionResizeMode(section, QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
    return view


class OrderDialog(QDialog):
    """Pick an eligible product and place the order for one customer."""

    order_placed = Signal(object)  # OrderRow
    order_changed = Signal(object)  # OrderRow, after the back office moved it along
    offers_loaded = Signal()

    def __init__(
        self,
        bridge: Bridge,
        orders: OrderService,
        customer_id: uuid.UUID,
        ivr: IvrData | None,
        *,
        preselect: str | None = None,
        script: IdvCheck | Callable[[], IdvCheck | None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """``script``: the agent's ID&V recorded in the call's script (or how to read it
        now: the agent may verify in the Script tab while this dialog is open)."""
        super().__init__(parent)
        self._script_check = script if callable(script) else (lambda: script)
        self._script: IdvCheck | None = None
        self._bridge = bridge
        self._orders = orders
        self._customer_id = customer_id
        self._ivr = ivr
        self._preselect = preselect
        self.setWindowTitle("Order a product")
        self.setAccessibleName(self.windowTitle())
        self.resize(820, 560)
        self._build()
        self._connect_signals()
        self._show_verification()
        self.reload()

    def _build(self) -> None:
        self.verification = fmt.plain(named(QLabel(wordWrap=True), "Caller verification"))
        self.method = named(QComboBox(), "How you verified the customer")
        self.method.addItem(CHOOSE, None)
        for code, text in AGENT_METHODS.items():
            self.method.addItem(text, code)
        # Parentless (kept by this object): the dialog's teardown must not delete a model before
        # its view, whose last selection change would reach the deleted model.
        self.offers = RowTableModel[Verdict](OFFER_COLUMNS)
        self.offers_view = _table(self.offers, "Products and eligibility")  # type: ignore[arg-type]
        self.history = RowTableModel[OrderRow](ORDER_COLUMNS)
        self.history_view = _table(self.history, "This customer's orders")  # type: ignore[arg-type]
        self.history_view.setMaximumHeight(120)
        # Every reason in full: a row grows to as many lines as its reasons need.
        self.offers_view.setWordWrap(True)
        self.offers_view.verticalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.start_button = named(QPushButton("In &fulfilment"), "Mark the order in fulfilment")
        self.fulfil_button = named(QPushButton("F&ulfilled"), "Mark the order fulfilled")
        self.reject_button = named(QPushButton("Re&ject"), "Reject the order")
        self.reject_reason = named(QLineEdit(maxLength=500), "Why the order is rejected")
        self.reject_reason.setPlaceholderText("Reason for rejecting (kept on the ticket)")
        self.work_result = fmt.plain(named(QLabel(), "What happened to the order"))
        self._workable: frozenset[uuid.UUID] = frozenset()
        self.note = named(QLineEdit(maxLength=500), "Note for the back office")
        self.note.setPlaceholderText("Optional, e.g. deliver the card to the branch")
        self.error = error_label()
        self.place_button = named(QPushButton("&Place order"), "Place the order")
        self.place_button.setDefault(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.place_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        form = self._form = QFormLayout()
        form.addRow("Verification", self.verification)
        form.addRow("&Verified by you", self.method)
        form.addRow("&Note", self.note)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.offers_view, 3)
        layout.addWidget(fmt.plain(QLabel("Orders already placed")))
        layout.addWidget(self.history_view, 1)
        work = QHBoxLayout()  # the back office's actions on the selected order
        for widget in (self.start_button, self.fulfil_button, self.reject_reason):
            work.addWidget(widget)
        work.addWidget(self.reject_button)
        work.addWidget(self.work_result)
        self.work_row = QWidget()
        self.work_row.setLayout(work)
        work.setContentsMargins(0, 0, 0, 0)
        self.work_row.setVisible(False)
        layout.addWidget(self.work_row)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def _connect_signals(self) -> None:
        self.place_button.clicked.connect(self._on_place_clicked)
        self.offers_view.selectionModel().selectionChanged.connect(self._update_button)
        self.method.currentIndexChanged.connect(self._update_button)
        self.history_view.selectionModel().selectionChanged.connect(self._update_work)
        self.start_button.clicked.connect(lambda: self._advance(OrderStatus.IN_FULFILMENT))
        self.fulfil_button.clicked.connect(lambda: self._advance(OrderStatus.FULFILLED))
        self.reject_button.clicked.connect(lambda: self._advance(OrderStatus.REJECTED))

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() is QEvent.Type.ActivationChange and self.isActiveWindow():
            self._show_verification()  # back from the Script tab: its check may be new

    def _show_verification(self) -> None:
        ivr, self._script = self._ivr, self._script_check()
        agent_picks = not (ivr is not None and ivr.verified) and self._script is None
        self.method.setVisible(agent_picks)
        self._form_label(self.method).setVisible(agent_picks)
        self.method.setEnabled(True)
        if ivr is not None and ivr.verified:
            done = Verification(VerifiedBy.IVR, ivr.idv_method or "ivr")
            self.verification.setText(f"✔ {done.describe()}")
        elif ivr is not None and ivr.idv_result == "failed":
            self.verification.setText(
                "✖ ID&V failed in the IVR: no order can be placed on this call. "
                "Ask the customer to call back or visit a branch."
            )
            self.method.setEnabled(False)
        elif self._script is not None:
            self._show_script_check(ivr, self._script)
        elif ivr is None:
            self.verification.setText(
                "No call in progress. Verify the customer yourself and say how."
            )
        else:
            where = (
                f"ID&V in the IVR: {ivr.describe_idv()}."
                if ivr.idv_result
                else "The IVR did not check the caller's identity."
            )
            self.verification.setText(
                f"{where} Verify the caller in the Script tab's identity check, "
                "or yourself and say how."
            )

    def _show_script_check(self, ivr: IvrData | None, check: IdvCheck) -> None:
        """The agent verified the caller in the script: that check is the order's."""
        try:
            done = verification_for(ivr, None, check)
        except NotVerified as exc:
            self.verification.setText(f"✖ {_sentence(str(exc))}.")
            return
        self.verification.setText(f"✔ {done.describe()}")

    def _form_label(self, field: QWidget) -> QWidget:
        label = self._form.labelForField(field)
        assert label is not None
        return label

    def reload(self) -> None:
        """Load the verdicts and the customer's orders off the GUI thread."""
        orders, cid = self._orders, self._customer_id

        def load() -> tuple[list[Verdict], list[OrderRow], frozenset[uuid.UUID]]:
            placed = orders.orders(cid)
            workable = frozenset(o.ticket_id for o in placed if orders.can_work(o))
            return orders.offers(cid), placed, workable

        self._bridge.submit(
            load,
            on_done=weak_callback(self._on_loaded),
            on_error=weak_callback(self._on_failed),
        )

    def _on_loaded(
        self, loaded: tuple[list[Verdict], list[OrderRow], frozenset[uuid.UUID]]
    ) -> None:
        offers, placed, self._workable = loaded
        self.offers.set_rows(offers)
        self.history.set_rows(placed)
        self.work_row.setVisible(bool(self._workable))
        for row, verdict in enumerate(offers):
            if verdict.product.code == self._preselect:
                self.offers_view.selectRow(row)
        self._update_button()
        self._update_work()
        self.offers_loaded.emit()

    def selected_order(self) -> OrderRow | None:
        rows = self.history_view.selectionModel().selectedRows()
        return self.history.row_at(rows[0].row()) if rows else None

    def _update_work(self) -> None:
        order = self.selected_order()
        workable = order is not None and order.ticket_id in self._workable
        status = order.status if order is not None else None
        self.start_button.setEnabled(workable and status is OrderStatus.PLACED)
        open_order = status in (OrderStatus.PLACED, OrderStatus.IN_FULFILMENT)
        self.fulfil_button.setEnabled(workable and open_order)
        self.reject_button.setEnabled(workable and open_order)
        self.reject_reason.setEnabled(workable and open_order)

    def _advance(self, to: OrderStatus) -> None:
        order = self.selected_order()
        if order is None:
            return
        orders, reason = self._orders, self.reject_reason.text()
        self.work_result.setText(f"Marking order {order.number} {to.value}…")
        self._bridge.submit(
            lambda: orders.advance(order, to, reason if to is OrderStatus.REJECTED else ""),
            on_done=weak_callback(self._on_advanced),
            on_error=weak_callback(self._on_advance_failed),
        )

    def _on_advance_failed(self, exc: BaseException) -> None:
        self.work_result.setText(str(exc))  # the refusal; what was typed stays

    def _on_advanced(self, order: OrderRow) -> None:
        self.work_result.setText(f"Order {order.number} is now {order.status.value}.")
        self.reject_reason.clear()
        self.order_changed.emit(order)
        self.reload()

    def _on_failed(self, exc: BaseException) -> None:
        self._update_button()
        self.error.setText(str(exc))  # the refusal's reason; nothing was written

    def selected(self) -> Verdict | None:
        rows = self.offers_view.selectionModel().selectedRows()
        return self.offers.row_at(rows[0].row()) if rows else None

    def _update_button(self) -> None:
        verdict = self.selected()
        self.place_button.setEnabled(verdict is not None and verdict.eligible)
        if verdict is not None and not verdict.eligible:
            self.error.setText(f"{verdict.product.name}: {verdict.describe()}")
        else:
            self.error.clear()

    def _on_place_clicked(self) -> None:
        verdict = self.selected()
        if verdict is None or not verdict.eligible:
            return
        self._show_verification()  # the script's check as it is now
        method = None if self._ivr is not None and self._ivr.verified else self.method.currentData()
        self.place_button.setEnabled(False)
        self.error.setText("Placing the order…")
        orders, cid, ivr, note = self._orders, self._customer_id, self._ivr, self.note.text()
        code, script = verdict.product.code, self._script
        self._bridge.submit(
            lambda: orders.place(cid, code, ivr=ivr, agent_method=method, note=note, script=script),
            on_done=weak_callback(self._on_placed),
            on_error=weak_callback(self._on_failed),
        )

    def _on_placed(self, order: OrderRow) -> None:
        self.error.clear()
        self.order_placed.emit(order)
        self.accept()


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
