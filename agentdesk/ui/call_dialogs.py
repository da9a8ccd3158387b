"""Small dialogs for call control: transfer (blind or attended) and dial a number."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from agentdesk.services.desk.pbx_actions import ActionInputError, dialable
from agentdesk.ui import format as fmt
from agentdesk.ui.row_model import Column, RowTableModel


class TransferDialog(QDialog):
    """Pick a queue or type an extension; ``target`` holds the result when accepted."""

    def __init__(
        self, queues: Sequence[str], *, attended: bool, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Consult and transfer" if attended else "Blind transfer")
        self.attended = attended
        self.target = ""
        self.queues = RowTableModel[str]([Column("Queue", lambda q: q)], tuple(queues), self)
        layout = QVBoxLayout(self)
        intro = (
            "You talk to the target first, then complete the transfer."
            if attended
            else "The caller goes straight to the target; you are free at once."
        )
        layout.addWidget(QLabel(intro, self))
        form = QFormLayout()
        self.destination = QComboBox(self)
        self.destination.setEditable(True)
        self.destination.setModel(self.queues)
        self.destination.setCurrentIndex(-1)
        editor = self.destination.lineEdit()
        if editor is not None:
            editor.setPlaceholderText("Extension or transfer code")
        form.addRow("&To", self.destination)
        layout.addLayout(form)
        self.error = fmt.plain(QLabel(self))
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(
            "&Consult" if attended else "&Transfer"
        )
        buttons.accepted.connect(self._on_accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _on_accept(self) -> None:
        text = self.destination.currentText().strip()
        try:
            self.target = dialable(text)
        except ActionInputError as exc:
            self.error.setText(str(exc))
            return
        self.accept()


class DialDialog(QDialog):
    """Click-to-dial with a typed number."""

    def __init__(self, number: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Dial")
        self.number = ""
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.field = QLineEdit(number, self)
        self.field.setPlaceholderText("+44 20 7946 0000")
        form.addRow("&Number", self.field)
        layout.addLayout(form)
        self.error = fmt.plain(QLabel(self))
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("&Call")
        buttons.accepted.connect(self._on_accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _on_accept(self) -> None:
        try:
            self.number = dialable(self.field.text())
        except ActionInputError as exc:
            self.error.setText(str(exc))
            return
        self.accept()
