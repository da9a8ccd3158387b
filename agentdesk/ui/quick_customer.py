"""The screen pop's "new customer with this number" form (unknown callers)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from agentdesk.services.crm.quick_customer import QuickCustomer, QuickCustomerError
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.forms import FieldErrors, error_label, ok_cancel

Create = Callable[[QuickCustomer], uuid.UUID]


class QuickCustomerDialog(QDialog):
    """Name and number (pre-filled from the call); creates the customer off the GUI thread."""

    created = Signal(object)  # customer id

    def __init__(
        self, number: str, create: Create, bridge: Bridge, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("New customer")
        self._create, self._bridge = create, bridge
        self.customer_id: uuid.UUID | None = None
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.given = QLineEdit(self)
        self.family = QLineEdit(self)
        self.number = QLineEdit(number, self)
        form.addRow("&Given name", self.given)
        form.addRow("&Family name", self.family)
        form.addRow("&Phone", self.number)
        layout.addLayout(form)
        self.error = error_label(self, "wrapError")
        layout.addWidget(self.error)
        fields = {"given_name": self.given, "family_name": self.family, "phone": self.number}
        self.errors = FieldErrors(form, fields, self.error)  # each message under its field
        self.buttons = ok_cancel(self, self.submit, ok_text="&Create")
        layout.addWidget(self.buttons)
        self.setMinimumWidth(380)

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.given.text().strip(), self.family.text().strip()) if p)

    def submit(self) -> None:
        new = QuickCustomer(self.given.text(), self.family.text(), self.number.text())
        self.buttons.setEnabled(False)
        self._bridge.submit(
            self._create, new, lane="local", on_done=self._on_created, on_error=self._on_failed
        )

    def _on_created(self, customer_id: uuid.UUID) -> None:
        self.customer_id = customer_id
        self.created.emit(customer_id)
        self.accept()

    def _on_failed(self, exc: BaseException) -> None:
        self.buttons.setEnabled(True)
        if isinstance(exc, QuickCustomerError):
            self.errors.show(str(exc), exc.field)
        else:
            self.errors.show(f"Could not save the customer: {type(exc).__name__}: {exc}")
