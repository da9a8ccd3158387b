"""Idle lock (PCI DSS 8.2.8): data hidden after a spell without input, password to unlock.

The idle timer is fired by emitting its ``timeout`` signal, so no test sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QLineEdit, QMainWindow
from pytestqt.qtbot import QtBot

from agentdesk.services.desk.agent_state import AgentState
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.idle_lock import IdleLock, install_idle_lock

PASSWORD = "correct horse"


def _verify(password: str) -> bool | str:
    if password == "locked-out":
        return "Too many attempts: your account is locked for 5 minutes."
    return password == PASSWORD


@pytest.fixture
def bridge(qapp: object) -> Iterator[Bridge]:
    bridge = Bridge()
    yield bridge
    bridge.shutdown(wait=True)


class Window(QMainWindow):
    """A stand-in main window: a customer name in the centre, a call dock, F2 to answer."""

    def __init__(self) -> None:
        super().__init__()
        self.name = QLabel("Amelia Okafor")
        self.setCentralWidget(self.name)
        self.dock = QDockWidget("Call", self)
        self.notes = QLineEdit()
        self.dock.setWidget(self.notes)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.statusBar().showMessage("Call from +44 7700 900123")
        self.answered = 0
        answer = QAction("Answer", self)
        answer.setShortcut(QKeySequence("F2"))
        answer.triggered.connect(self._on_answer)
        self.addAction(answer)

    def _on_answer(self) -> None:
        self.answered += 1


@pytest.fixture
def locked_window(qtbot: QtBot, bridge: Bridge) -> tuple[Window, IdleLock]:
    window = Window()
    qtbot.addWidget(window)
    window.resize(1000, 700)
    window.show()
    qtbot.waitExposed(window)
    lock = install_idle_lock(window, bridge, _verify, timeout_s=60, user_label="Alice Agent")
    assert lock.watcher.timer.isActive() and not lock.is_locked
    with qtbot.waitSignal(lock.locked):
        lock.watcher.timer.timeout.emit()  # the fake clock: sixty idle seconds have passed
    return window, lock


def _unlock_with(qtbot: QtBot, lock: IdleLock, password: str) -> None:
    lock.screen.password.setText(password)
    lock.screen.unlock.click()
    assert not lock.screen.unlock.isEnabled()  # busy while the check runs off the GUI thread
    qtbot.waitUntil(lambda: lock.screen.unlock.isEnabled(), timeout=5000)


def test_lock_hides_customer_data_and_covers_the_window(
    qtbot: QtBot, locked_window: tuple[Window, IdleLock]
) -> None:
    window, lock = locked_window
    assert lock.is_locked and lock.screen.isVisible()
    assert not window.name.isVisible() and not window.dock.isVisible()
    assert not window.statusBar().isVisible()
    assert lock.screen.geometry() == window.rect()
    assert "Alice Agent" in lock.screen.user.text()
    assert not lock.watcher.timer.isActive()  # no second lock while locked


def test_input_behind_the_lock_screen_is_swallowed(
    qtbot: QtBot, locked_window: tuple[Window, IdleLock]
) -> None:
    window, _lock = locked_window
    qtbot.keyClick(window, Qt.Key.Key_F2)
    qtbot.keyClicks(window.notes, "typed while locked")
    assert window.answered == 0 and window.notes.text() == ""


def test_wrong_password_is_refused_with_a_clear_message(
    qtbot: QtBot, locked_window: tuple[Window, IdleLock]
) -> None:
    window, lock = locked_window
    _unlock_with(qtbot, lock, "wrong")
    assert lock.is_locked and not window.name.isVisible()
    assert lock.screen.message.text() == "Wrong password. Try again."
    assert lock.screen.password.text() == ""  # not left in the field
    _unlock_with(qtbot, lock, "locked-out")
    assert lock.is_locked and "account is locked" in lock.screen.message.text()


def test_right_password_unlocks_and_restarts_the_idle_timer(
    qtbot: QtBot, locked_window: tuple[Window, IdleLock]
) -> None:
    window, lock = locked_window
    unlocked: list[bool] = []
    lock.unlocked.connect(lambda: unlocked.append(True))
    lock.screen.password.setText(PASSWORD)
    qtbot.keyClick(lock.screen.password, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool(unlocked), timeout=5000)
    assert not lock.is_locked and not lock.screen.isVisible()
    assert window.name.isVisible() and window.dock.isVisible()
    assert lock.watcher.timer.isActive()
    qtbot.keyClick(window, Qt.Key.Key_F2)
    assert window.answered == 1


def test_input_restarts_the_idle_timer(qtbot: QtBot, bridge: Bridge) -> None:
    window = Window()
    qtbot.addWidget(window)
    window.show()
    lock = install_idle_lock(window, bridge, _verify, timeout_s=60)
    lock.watcher.timer.stop()
    qtbot.keyClick(window.notes, Qt.Key.Key_A)
    assert lock.watcher.timer.isActive() and not lock.is_locked


def test_a_call_ringing_while_locked_shows_only_an_unlock_to_answer_notice(
    desk: Any, bridge: Bridge
) -> None:
    window = desk.window
    lock = install_idle_lock(window, bridge, _verify, timeout_s=60, user_label="Alice Agent")
    lock.lock()
    placed = desk.call("+447700900124")
    desk.qtbot.waitUntil(lambda: lock.screen.call_notice.isVisible(), timeout=10_000)
    assert lock.screen.call_notice.text() == "Incoming call — unlock to answer"
    assert not window.call_dock.isVisible() and not window.pop.isVisible()
    assert window.tray.private
    desk.qtbot.keyClick(window, Qt.Key.Key_F2)  # the answer shortcut does nothing while locked
    assert desk.controller.current_call().phase.value == "ringing"
    lock.screen.password.setText(PASSWORD)
    lock.screen.unlock.click()
    desk.qtbot.waitUntil(lambda: not lock.is_locked, timeout=5000)
    assert window.call_dock.isVisible() and window.pop.content.linkedid == placed.linkedid
    window.actions_by_id["answer"].trigger()
    desk.wait_state(AgentState.ON_CALL)
