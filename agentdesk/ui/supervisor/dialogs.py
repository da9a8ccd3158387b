"""Supervisor action dialogs: pause with a reason, add to a queue, log out of a queue.

Each dialog only collects the request; the window sends it through the
supervisor service, which checks the role, tells the PBX and writes the
audit entry. The dialogs are non-modal (``open()``), so the wallboard keeps
ticking behind them.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QWidget,
)

from agentdesk.services.desk.agent_state import ReasonCode
from agentdesk.services.supervisor import AgentRow
from agentdesk.ui import format as fmt

ALL_QUEUES = "All queues"


@dataclass(frozen=True)
class PauseRequest:
    """Pause this agent (in one queue, or all when ``queue`` is None) for ``reason``."""

    interface: str
    reason: str
    queue: str | None


@dataclass(frozen=True)
class QueueRequest:
    """Add the agent to, or log it out of, ``queue``."""

    interface: str
    name: str
    queue: str
    paused: bool = False


class _ActionDialog(QDialog):
    """A small form with OK/Cancel about one agent."""

    def __init__(self, title: str, agent: AgentRow, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.agent = agent
        self.form = QFormLayout(self)
        shown = fmt.display_text(f"{agent.name} ({agent.interface})")
        self.form.addRow("Agent", fmt.plain(QLabel(shown)))
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

    def finish_layout(self) -> None:
        self.form.addRow(self.buttons)


class PauseDialog(_ActionDialog):
    """Pick a reason (or type one) and whether to pause in one queue or all."""

    def __init__(
        self, agent: AgentRow, reasons: tuple[ReasonCode, ...], parent: QWidget | None = None
    ) -> None:
        super().__init__("Pause agent", agent, parent)
        self.reason = QComboBox(self)
        self.reason.setEditable(True)
        for code in reasons:
            self.reason.addItem(code.label, code.code)
        self.reason.setToolTip("the agent, reports and the audit log will show this reason")
        self.queue = QComboBox(self)
        self.queue.addItem(ALL_QUEUES, None)
        for queue in agent.queues:
            self.queue.addItem(queue, queue)
        self.form.addRow("Reason", self.reason)
        self.form.addRow("Queue", self.queue)
        self.finish_layout()
        self.reason.currentTextChanged.connect(self._on_reason_text_changed)
        self._on_reason_text_changed(self.reason.currentText())

    def _on_reason_text_changed(self, text: str) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(bool(text.strip()))

    def request(self) -> PauseRequest:
        index = self.reason.currentIndex()
        text = self.reason.currentText().strip()
        code = self.reason.itemData(index) if index >= 0 else None
        label = self.reason.itemText(index) if index >= 0 else ""
        # A listed reason goes to the PBX as its code; a typed one as typed.
        reason = str(code) if code is not None and text == label else text
        return PauseRequest(self.agent.interface, reason, self.queue.currentData())


class QueueDialog(_ActionDialog):
    """Pick a queue to add the agent to (optionally paused) or to log them out of."""

    def __init__(
        self, agent: AgentRow, queues: list[str], *, adding: bool, parent: QWidget | None = None
    ) -> None:
        super().__init__("Add to queue" if adding else "Log out of queue", agent, parent)
        self.adding = adding
        self.queue = QComboBox(self)
        for queue in queues:
            self.queue.addItem(queue)
        self.form.addRow("Queue", self.queue)
        self.paused = QCheckBox("start paused", self)
        if adding:
            self.form.addRow("", self.paused)
        self.finish_layout()
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(queues))

    def request(self) -> QueueRequest:
        return QueueRequest(
            self.agent.interface, self.agent.name, self.queue.currentText(),
            self.paused.isChecked() if self.adding else False,
        )  # fmt: skip
