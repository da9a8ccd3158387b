"""Dialog to add a note or log a contact that did not come through the PBX."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QWidget,
)

from agentdesk.services.crm.timeline import MANUAL_CHANNELS
from agentdesk.ui.forms import error_label, ok_cancel
from agentdesk.ui.named import named

NOTE = "note"
MAX_NOTES = 1_000_000


class LogContactDialog(QDialog):
    """Collects channel, direction, subject, duration and notes; validates before accepting."""

    def __init__(self, parent: QWidget | None = None, note_only: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a note" if note_only else "Log a contact")
        self.setAccessibleName(self.windowTitle())
        form = QFormLayout(self)
        self.kind = named(QComboBox(), "Kind of entry")
        self.kind.addItem("Internal note", NOTE)
        if not note_only:
            for channel in MANUAL_CHANNELS:
                self.kind.addItem(channel.title(), channel)
        self.direction = named(QComboBox(), "Direction")
        self.direction.addItem("Inbound (customer contacted us)", "inbound")
        self.direction.addItem("Outbound (we contacted the customer)", "outbound")
        self.subject = named(QLineEdit(maxLength=300), "Subject")
        self.minutes = named(QSpinBox(maximum=24 * 60), "Duration in minutes")
        self.notes = named(QPlainTextEdit(), "Notes")
        self.error = error_label()
        form.addRow("&Kind", self.kind)
        form.addRow("&Direction", self.direction)
        form.addRow("&Subject", self.subject)
        form.addRow("D&uration (min)", self.minutes)
        form.addRow("&Notes", self.notes)
        form.addRow(self.error)
        form.addRow(ok_cancel(self, self._on_save, ok=QDialogButtonBox.StandardButton.Save))
        self.kind.currentIndexChanged.connect(self._on_kind_changed)
        self._on_kind_changed()

    def _on_kind_changed(self) -> None:
        contact = self.kind.currentData() != NOTE
        self.direction.setEnabled(contact)
        self.minutes.setEnabled(contact)

    def _on_save(self) -> None:
        text = self.notes.toPlainText()
        if self.kind.currentData() == NOTE and not text.strip():
            self.error.setText("A note needs some text.")
            return
        if len(text) > MAX_NOTES:
            self.error.setText(f"Notes are {len(text):,} characters; the limit is {MAX_NOTES:,}.")
            return
        self.accept()

    def values(self) -> dict[str, object]:
        return {
            "kind": self.kind.currentData(),
            "direction": self.direction.currentData(),
            "subject": self.subject.text(),
            "minutes": self.minutes.value(),
            "notes": self.notes.toPlainText(),
        }
