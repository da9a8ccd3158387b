"""Call keys that work with any dialog open (issue 14: with the shortcut list or "New
customer" open, F2 and F3 did nothing and a call was missed).

A window-modal dialog takes the keyboard from the main window, so the main window's
shortcuts never fire while one is up. Instead of making every dialog non-modal, the call
actions are also added to each dialog as it takes the focus: a window shortcut fires when
any widget holding the action is in the active window, so F2/F3/F4/F6 reach the same
actions (and the same checks) from inside the dialog.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QDialog, QWidget

# The keys an agent needs while a caller waits: answer, hold, hang up, transfer, consult.
CALL_KEYS = ("answer", "hold", "hangup", "transfer", "consult", "go_available")
_EQUIPPED = "agentdesk_call_keys"  # a dialog property: the call actions are on it


class CallKeyForwarder(QObject):
    """Adds the call actions to every dialog of ``window`` that takes the focus."""

    def __init__(self, window: QWidget, actions: Mapping[str, QAction]) -> None:
        super().__init__(window)
        self._window = window
        self._actions = [actions[key] for key in CALL_KEYS if key in actions]
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._on_app_focus_changed)

    def _on_app_focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        if new is None:
            return
        dialog = new.window()
        if isinstance(dialog, QDialog):
            self.equip(dialog)

    def equip(self, dialog: QDialog) -> None:
        """Give ``dialog`` the call keys (once), if it belongs to this window."""
        if dialog.property(_EQUIPPED) or not self._owns(dialog):
            return
        dialog.setProperty(_EQUIPPED, True)
        dialog.addActions(self._actions)

    def _owns(self, dialog: QDialog) -> bool:
        widget = dialog.parentWidget()
        for _ in range(64):  # a dialog opened from a dialog opened from … the window
            if widget is None:
                return False
            if widget is self._window:
                return True
            widget = widget.parentWidget()
        return False
