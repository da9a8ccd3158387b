"""Call keys work with any dialog open (issue 14: with the shortcut list or "New customer"
open, F2 and F3 did nothing and a call was missed)."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QLineEdit, QVBoxLayout, QWidget

from agentdesk.services.desk.screen_pop import CallPhase
from agentdesk.ui.call_dialogs import TransferDialog

pytestmark = pytest.mark.gui


def _phase(desk: Any) -> CallPhase | None:
    call = desk.controller.current_call()
    return None if call is None else call.phase


def _active(desk: Any, dialog: QWidget, focus: QWidget) -> None:
    dialog.activateWindow()
    focus.setFocus()
    desk.qtbot.waitUntil(lambda: dialog.isActiveWindow() and focus.hasFocus(), timeout=5000)


def test_answer_hold_and_hang_up_from_inside_the_shortcut_list(desk: Any) -> None:
    window = desk.window
    window.show_shortcuts()  # window-modal (open()): the main window gets no keys
    dialog = window.dialog
    desk.qtbot.waitExposed(dialog)
    assert dialog.isModal() or dialog.windowModality() != Qt.WindowModality.NonModal
    placed = desk.call("+447700900123")
    desk.wait_pop(placed)
    target = QApplication.focusWidget() or dialog
    _active(desk, dialog, target if dialog.isAncestorOf(target) else dialog)
    focus = QApplication.focusWidget()
    desk.qtbot.keyClick(focus, Qt.Key.Key_F2)
    desk.qtbot.waitUntil(lambda: _phase(desk) is CallPhase.CONNECTED, timeout=10_000)
    desk.qtbot.keyClick(focus, Qt.Key.Key_F3)
    desk.qtbot.waitUntil(lambda: _phase(desk) is CallPhase.ON_HOLD, timeout=10_000)
    desk.qtbot.keyClick(focus, Qt.Key.Key_F3)
    desk.qtbot.waitUntil(lambda: _phase(desk) is CallPhase.CONNECTED, timeout=10_000)
    desk.qtbot.keyClick(focus, Qt.Key.Key_F4)
    desk.qtbot.waitUntil(lambda: _phase(desk) in (None, CallPhase.ENDED), timeout=10_000)
    assert dialog.isVisible()  # the agent's dialog stays where it was


def test_f2_answers_while_typing_in_a_workspace_dialog(desk: Any) -> None:
    """A dialog opened from inside a pane (as the workspace's "New customer" is)."""
    window = desk.window
    pane = QWidget()
    window.workspace_tabs.addTab(pane, "Customer")
    dialog = QDialog(pane)
    field = QLineEdit(dialog)
    QVBoxLayout(dialog).addWidget(field)
    dialog.open()
    desk.qtbot.waitExposed(dialog)
    _active(desk, dialog, field)
    desk.qtbot.keyClicks(field, "Kofi")
    placed = desk.call("+447700900124")
    desk.wait_pop(placed)
    desk.qtbot.keyClick(field, Qt.Key.Key_F2)
    desk.qtbot.waitUntil(lambda: _phase(desk) is CallPhase.CONNECTED, timeout=10_000)
    assert field.text() == "Kofi" and field.hasFocus()  # nothing typed lost, focus kept
    dialog.reject()


def test_f6_opens_the_transfer_from_a_dialog(desk: Any) -> None:
    window = desk.window
    placed = desk.call("+447700900125")
    desk.wait_pop(placed)
    window.actions_by_id["answer"].trigger()
    desk.qtbot.waitUntil(lambda: _phase(desk) is CallPhase.CONNECTED, timeout=10_000)
    window.show_shortcuts()
    dialog = window.dialog
    desk.qtbot.waitExposed(dialog)
    _active(desk, dialog, dialog)
    desk.qtbot.keyClick(dialog, Qt.Key.Key_F6)
    desk.qtbot.waitUntil(lambda: isinstance(window.dialog, TransferDialog), timeout=5000)
    window.dialog.reject()
    dialog.reject()
