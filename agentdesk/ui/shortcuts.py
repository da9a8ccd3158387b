"""Every keyboard shortcut of the desktop, defined once: actions, tooltips and the help dialog.

Function keys are used for call control because they reach the window while
the agent is typing in any text field (a text box does not consume them), so
the agent can answer without moving focus.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from agentdesk.ui.row_model import Column, RowTableModel


@dataclass(frozen=True)
class ShortcutSpec:
    id: str
    label: str
    key: str
    description: str


SHORTCUTS: tuple[ShortcutSpec, ...] = (
    ShortcutSpec("answer", "Answer", "F2", "Answer the ringing call"),
    ShortcutSpec("hold", "Hold", "F3", "Put the call on hold, or take it off hold"),
    ShortcutSpec("hangup", "Hang up", "F4", "End the call (or reject it while it rings)"),
    ShortcutSpec("transfer", "Transfer", "F6", "Blind transfer to a queue or extension"),
    ShortcutSpec("consult", "Consult", "Shift+F6", "Attended transfer: talk to the target first"),
    ShortcutSpec("focus_pop", "Go to pop", "F7", "Move the keyboard focus to the screen pop"),
    ShortcutSpec("dial", "Dial", "F8", "Call a number (click-to-dial)"),
    ShortcutSpec("wrapup", "Save wrap-up", "F9", "Save the wrap-up and go back to Available"),
    ShortcutSpec("available", "Available", "Ctrl+Shift+A", "Ready for calls"),
    ShortcutSpec("go_available", "Go available", "F5", "After a missed call: ready again"),
    ShortcutSpec("not_ready", "Not ready", "Ctrl+Shift+N", "Pause with a reason"),
    ShortcutSpec("shortcuts", "Shortcuts", "F1", "Show this list"),
)


def spec(action_id: str) -> ShortcutSpec:
    return next(s for s in SHORTCUTS if s.id == action_id)


def build_actions(parent: QObject) -> dict[str, QAction]:
    """One QAction per shortcut, with the key shown in its tooltip."""
    built: dict[str, QAction] = {}
    for s in SHORTCUTS:
        action = QAction(s.label, parent)
        action.setObjectName(f"action_{s.id}")
        action.setShortcut(QKeySequence(s.key))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(f"{s.description} ({s.key})")
        action.setStatusTip(s.description)
        built[s.id] = action
    return built


class ShortcutsDialog(QDialog):
    """Lists the shortcuts (F1)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.model: RowTableModel[ShortcutSpec] = RowTableModel(
            [
                Column("Key", lambda s: s.key),
                Column("Action", lambda s: s.label),
                Column("What it does", lambda s: s.description),
            ],
            SHORTCUTS,
            self,
        )
        view = QTableView(self)
        view.setModel(self.model)
        view.verticalHeader().hide()
        view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        view.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(view)
        layout.addWidget(buttons)
        self.resize(560, 400)
