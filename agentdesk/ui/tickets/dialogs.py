"""Create-ticket dialog (from a call or the workspace)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from agentdesk.services.tickets.sla import SlaPolicy
from agentdesk.ui.forms import FieldErrors, error_label, ok_cancel
from agentdesk.ui.named import named

PRIORITIES = ("low", "normal", "high", "urgent")
SEVERITIES = ("minor", "major", "critical")


class TicketCreateDialog(QDialog):
    """Reason, title, description, priority, severity and team. Team and priority start as
    "Automatic": the routing rules decide (the team they would pick is shown)."""

    def __init__(
        self,
        policy: SlaPolicy,
        teams: list[tuple[uuid.UUID, str]],
        parent: QWidget | None = None,
        title: str = "",
        suggest: Callable[[str], str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("New ticket")
        self.setAccessibleName("New ticket")
        self._policy = policy
        self._suggest = suggest
        self.reason = named(QComboBox(), "Reason")
        for code, reason in policy.reasons.items():
            self.reason.addItem(reason.label, code)
        self.title = named(QLineEdit(title, maxLength=300), "Title")
        self.description = named(QPlainTextEdit(), "Description")
        self.priority = named(QComboBox(), "Priority")
        self.severity = named(QComboBox(), "Severity")
        self.priority.addItem("Automatic", None)
        for combo, values in ((self.priority, PRIORITIES), (self.severity, SEVERITIES)):
            for value in values:
                combo.addItem(value.title(), value)
        self.team = named(QComboBox(), "Team")
        self.team.addItem("Automatic", None)
        for team_id, name in teams:
            self.team.addItem(name, str(team_id))
        self.error = error_label()
        form = QFormLayout(self)
        form.addRow("&Reason", self.reason)
        form.addRow("&Title", self.title)
        form.addRow("&Description", self.description)
        form.addRow("&Priority", self.priority)
        form.addRow("S&everity", self.severity)
        form.addRow("Te&am", self.team)
        form.addRow(self.error)
        form.addRow(ok_cancel(self, self._on_accept))
        self.errors = FieldErrors(form, {"title": self.title}, self.error)  # under its field
        self.reason.currentIndexChanged.connect(self._on_reason_changed)
        self._on_reason_changed()

    def _on_reason_changed(self) -> None:
        team = self._suggest(self.reason.currentData()) if self._suggest else ""
        self.team.setItemText(0, f"Automatic ({team})" if team else "Automatic")

    def _on_accept(self) -> None:
        if not self.title.text().strip():
            self.errors.show("A ticket needs a title.", "title")
            return
        self.accept()

    def values(self) -> dict[str, object]:
        return {
            "reason": self.reason.currentData(),
            "title": self.title.text().strip(),
            "description": self.description.toPlainText(),
            "priority": self.priority.currentData(),
            "severity": self.severity.currentData(),
            "team_id": _uuid(self.team.currentData()),
        }


def _uuid(value: object) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None
