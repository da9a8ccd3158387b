"""Workspace dialogs: the reason for revealing PII, editing a customer, adding a contact point."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from agentdesk.models import ContactLabel
from agentdesk.services.crm.customer_views import CustomerCard
from agentdesk.services.crm.customers import MIN_REASON_CHARS
from agentdesk.ui import format as fmt
from agentdesk.ui.forms import error_label, ok_cancel
from agentdesk.ui.named import named

REVEAL_REASONS = (
    "Caller identification (ID&V)",
    "Confirming account for a payment",
    "Card replacement",
    "Fraud investigation",
)


class RevealDialog(QDialog):
    """Asks why the agent needs to see a masked value; the reason goes into the audit log."""

    def __init__(self, what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Reveal {what}")
        self.setAccessibleName(self.windowTitle())
        self.reason = named(QComboBox(editable=True), "Reason for revealing")
        self.reason.addItems(REVEAL_REASONS)
        self.reason.setCurrentText("")
        self.error = error_label()
        form = QFormLayout(self)
        form.addRow(
            QLabel(f"Viewing the full {what} is recorded in the audit log with your reason.")
        )
        form.addRow("&Reason", self.reason)
        form.addRow(self.error)
        form.addRow(ok_cancel(self, self._on_ok))

    def _on_ok(self) -> None:
        if len(self.reason.currentText().strip()) < MIN_REASON_CHARS:
            self.error.setText("Give a reason (at least 5 characters).")
            return
        self.accept()

    def reason_text(self) -> str:
        return self.reason.currentText().strip()


class EditCustomerDialog(QDialog):
    """Edits the customer's own fields; the service validates and keeps the history."""

    def __init__(self, card: CustomerCard, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Edit {fmt.display_text(card.display_name)}")
        self.setAccessibleName(self.windowTitle())
        self.given = named(QLineEdit(card.given_name or "", maxLength=200), "Given name")
        self.family = named(QLineEdit(card.family_name or "", maxLength=200), "Family name")
        self.dob = named(QLineEdit(placeholderText="unchanged (YYYY-MM-DD)"), "Date of birth")
        self.segment = named(QLineEdit(card.segment, maxLength=32), "Segment")
        self.language = named(QLineEdit(card.preferred_language, maxLength=16), "Language")
        self.opt_out = named(QCheckBox("Marketing opt-out"), "Marketing opt-out")
        self.opt_out.setChecked(card.marketing_opt_out)
        self.no_calls = named(QCheckBox("Do not phone (no calls or callbacks)"), "Do not phone")
        self.no_calls.setChecked(card.phone_opt_out)
        self.vulnerable = named(QCheckBox("Vulnerable customer"), "Vulnerable customer")
        self.vulnerable.setChecked(card.vulnerable)
        self.error = error_label()
        form = QFormLayout(self)
        for label, widget in (
            ("&Given name", self.given),
            ("&Family name", self.family),
            ("&Date of birth", self.dob),
            ("&Segment", self.segment),
            ("&Language", self.language),
        ):
            form.addRow(label, widget)
        form.addRow(self.opt_out)
        form.addRow(self.no_calls)
        form.addRow(self.vulnerable)
        form.addRow(self.error)
        form.addRow(ok_cancel(self, self.accept))

    def changes(self) -> dict[str, object]:
        values: dict[str, object] = {
            "given_name": self.given.text(),
            "family_name": self.family.text(),
            "segment": self.segment.text().strip(),
            "preferred_language": self.language.text().strip(),
            "marketing_opt_out": self.opt_out.isChecked(),
            "phone_opt_out": self.no_calls.isChecked(),
            "vulnerable": self.vulnerable.isChecked(),
        }
        if self.dob.text().strip():
            values["date_of_birth"] = self.dob.text().strip()
        return values


class AddContactDialog(QDialog):
    """A phone number or e-mail address with its label."""

    def __init__(self, kind: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.setWindowTitle("Add phone number" if kind == "phone" else "Add e-mail address")
        self.setAccessibleName(self.windowTitle())
        self.value = named(QLineEdit(), "Phone number" if kind == "phone" else "E-mail address")
        self.label = named(QComboBox(), "Label")
        for label in ContactLabel:
            self.label.addItem(label.value.title(), label.value)
        self.primary = named(QCheckBox("Primary"), "Make primary")
        self.error = error_label()
        form = QFormLayout(self)
        form.addRow("&Value", self.value)
        form.addRow("&Label", self.label)
        form.addRow(self.primary)
        form.addRow(self.error)
        form.addRow(ok_cancel(self, self.accept))
