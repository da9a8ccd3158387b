"""Lock the desktop after a spell without input, and ask for the password again.

PCI DSS 4.0.1 §8.2.8: a session idle for more than 15 minutes must require
the user to re-authenticate. ``IdleWatcher`` is an application-wide event
filter that restarts one timer on every key press, click, wheel or touch in
any of the app's windows; when the timer runs out, ``IdleLock`` conceals the
main window's content (central widget, docks, tool and status bars and any
other open window) behind a ``LockScreen`` and swallows input aimed at
anything but that screen, so no shortcut answers a call or opens a record
from behind it.

The password goes to an injected ``verify(password) -> bool | str`` on the
bridge's ``central`` lane (it may be a network round trip to the server):
``True`` unlocks, ``False`` is a wrong password, a string is a message to
show (account locked, server unreachable…). While locked, a call that rings
shows only "Incoming call — unlock to answer": no number, no name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QStatusBar,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from agentdesk.ui import format as fmt
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.named import named

log = logging.getLogger(__name__)

Verify = Callable[[str], "bool | str"]

DEFAULT_TIMEOUT_S = 15 * 60

# Input that proves someone is at the keyboard. Mouse *moves* are left out on purpose:
# a jostled desk or a remote-desktop jitter must not keep a session open for ever.
_ACTIVITY = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonDblClick,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
    }
)
# What is swallowed while locked unless it is aimed at the lock screen itself.
_BLOCKED_WHILE_LOCKED = _ACTIVITY | {
    QEvent.Type.KeyRelease,
    QEvent.Type.Shortcut,
    QEvent.Type.ShortcutOverride,
    QEvent.Type.MouseButtonRelease,
    QEvent.Type.ContextMenu,
}


class IdleWatcher(QObject):
    """Restarts ``timer`` on any user input in the application; ``idle_reached`` on expiry."""

    idle_reached = Signal()

    def __init__(self, timeout_s: float, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(max(int(timeout_s * 1000), 1))
        self.timer.timeout.connect(self.idle_reached)
        # Decides, while locked, whether an event may pass; None when unlocked.
        self.gate: Callable[[QObject, QEvent.Type], bool] | None = None

    def start(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        self.timer.start()

    def stop(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self.timer.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if self.gate is not None:
            return kind in _BLOCKED_WHILE_LOCKED and not self.gate(watched, kind)
        if kind in _ACTIVITY:
            self.timer.start()  # restart: idle time counts from the last input
        return False


class LockScreen(QWidget):
    """Covers the main window while locked: who is signed in, a password field, messages."""

    unlock_requested = Signal(str)

    def __init__(self, parent: QWidget, user_label: str = "") -> None:
        super().__init__(parent)
        self.setObjectName("lockScreen")
        self.setAccessibleName("Desktop locked")
        self.setAutoFillBackground(True)  # opaque: nothing underneath shows through
        self.title = fmt.plain(named(QLabel("agentdesk is locked"), "Lock title"))
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.title.setFont(font)
        who = fmt.display_text(user_label)
        self.user = fmt.plain(named(QLabel(), "Signed-in user"))
        # Short lines, no word wrap: a wrapped label in a centred panel is given the height
        # of one line and clips the rest.
        self.user.setText(
            (f"Signed in as {who}.\n" if who else "")
            + "Customer data is hidden after a spell without input.\n"
            "Enter your password to carry on."
        )
        self.call_notice = fmt.plain(named(QLabel(), "Incoming call notice"))
        self.call_notice.setObjectName("lockCallNotice")
        self.call_notice.setStyleSheet(
            "background:#1565c0;color:white;padding:8px;border-radius:4px;font-weight:bold"
        )
        self.call_notice.setVisible(False)
        self.password = named(QLineEdit(), "Password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("Password")
        self.password.returnPressed.connect(self._on_unlock_clicked)
        self.unlock = named(QPushButton("&Unlock"), "Unlock")
        self.unlock.setDefault(True)
        self.unlock.clicked.connect(self._on_unlock_clicked)
        self.message = fmt.plain(named(QLabel(), "Unlock message"))
        self.message.setObjectName("lockMessage")
        self.message.setWordWrap(True)
        # Room for a three-line reason (lockout, server down) before the panel is laid out.
        self.message.setMinimumHeight(self.message.fontMetrics().lineSpacing() * 3)
        self._layout()

    def _layout(self) -> None:
        panel = QWidget(self)
        panel.setObjectName("lockPanel")
        # A fixed width lets the word-wrapped labels work out their height.
        panel.setFixedWidth(460)
        panel.setStyleSheet(
            "#lockPanel{background:palette(base);border:1px solid palette(mid);border-radius:8px}"
        )
        box = QVBoxLayout(panel)
        box.setContentsMargins(24, 20, 24, 20)
        box.setSpacing(10)
        for widget in (
            self.title,
            self.user,
            self.call_notice,
            self.password,
            self.unlock,
            self.message,
        ):
            box.addWidget(widget)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(panel, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(2)

    def set_busy(self, busy: bool) -> None:
        self.password.setEnabled(not busy)
        self.unlock.setEnabled(not busy)
        if busy:
            self.message.setText("Checking…")

    def show_message(self, text: str) -> None:
        self.message.setText(fmt.display_text(text))

    def _on_unlock_clicked(self) -> None:
        password = self.password.text()
        if not password:
            self.show_message("Enter your password.")
            return
        self.password.clear()  # not kept in the widget while it is checked
        self.unlock_requested.emit(password)


class IdleLock(QObject):
    """Locks ``window`` when ``watcher`` reports idle; unlocks on a verified password."""

    locked = Signal()
    unlocked = Signal()

    def __init__(
        self,
        window: QMainWindow,
        bridge: Bridge,
        verify: Verify,
        watcher: IdleWatcher,
        user_label: str = "",
    ) -> None:
        super().__init__(window)
        self._window, self._bridge, self._verify = window, bridge, verify
        self.watcher = watcher
        self.screen = LockScreen(window, user_label)
        self.screen.hide()
        self._hidden: list[QWidget] = []
        self._checking = False
        self.watcher.idle_reached.connect(self.lock)
        self.screen.unlock_requested.connect(self._on_screen_unlock_requested)
        window.installEventFilter(self)  # follow the window's size

    @property
    def is_locked(self) -> bool:
        return self.watcher.gate is not None

    def lock(self) -> None:
        """Hide everything with customer data and show the lock screen."""
        if self.is_locked:
            return
        self.watcher.timer.stop()
        self.watcher.gate = self._allowed
        self._conceal()
        self._set_tray_private(True)
        self.screen.setGeometry(self._window.rect())
        self.screen.show()
        self.screen.raise_()
        self.screen.show_message("")
        self.screen.password.setFocus()
        log.info("desktop locked after inactivity")
        self.locked.emit()

    def unlock(self) -> None:
        self.screen.hide()
        self.screen.call_notice.setVisible(False)
        for widget in self._hidden:
            widget.show()
        self._hidden.clear()
        self._set_tray_private(False)
        self.watcher.gate = None
        self.watcher.timer.start()
        log.info("desktop unlocked")
        self.unlocked.emit()

    def show_incoming_call(self, ringing: bool) -> None:
        """While locked, say a call is ringing without saying who it is."""
        if self.is_locked:
            self.screen.call_notice.setText("Incoming call — unlock to answer")
            self.screen.call_notice.setVisible(ringing)
            self._conceal()  # the pop may have re-shown its dock

    # --- internals ----------------------------------------------------------------------------

    def _conceal(self) -> None:
        """Hide the central widget, docks, bars and every other window (remembered for later)."""
        candidates: list[QWidget] = [
            w
            for w in self._window.findChildren(QWidget)
            if w.parentWidget() is self._window
            and isinstance(w, QDockWidget | QToolBar | QStatusBar)
        ]
        central = self._window.centralWidget()
        if central is not None:
            candidates.append(central)
        menu = self._window.menuWidget()
        if menu is not None:
            candidates.append(menu)
        candidates += [
            w
            for w in QApplication.topLevelWidgets()
            if w is not self._window and w.isWindow() and w.windowType() != Qt.WindowType.Popup
        ]
        for widget in candidates:
            if widget.isVisible():
                widget.hide()
                if widget not in self._hidden:
                    self._hidden.append(widget)

    def _allowed(self, target: QObject, kind: QEvent.Type) -> bool:
        """While locked, input into the main window may reach the lock screen only.

        Input first arrives at the native window (not a widget) and is passed on to the
        widget under the cursor or with the focus, where it is checked again; shortcut
        events go straight to their QAction, so those are refused when the action
        belongs to the locked window. Other windows were hidden by the lock.
        """
        if isinstance(target, QWidget):
            if target.window() is not self._window:
                return True
            return target is self.screen or self.screen.isAncestorOf(target)
        return kind != QEvent.Type.Shortcut or not _inside(target, self._window)

    def _set_tray_private(self, private: bool) -> None:
        tray = getattr(self._window, "tray", None)
        if tray is not None and hasattr(tray, "private"):
            tray.private = private

    def _on_screen_unlock_requested(self, password: str) -> None:
        if self._checking:
            return
        self._checking = True
        self.screen.set_busy(True)
        self._bridge.submit(
            self._verify,
            password,
            on_done=self._on_verified,
            on_error=self._on_verify_failed,
            lane="central",
        )

    def _on_verified(self, outcome: bool | str) -> None:
        self._checking = False
        self.screen.set_busy(False)
        if outcome is True:
            self.unlock()
            return
        self.screen.show_message(
            outcome if isinstance(outcome, str) and outcome else "Wrong password. Try again."
        )
        self.screen.password.setFocus()

    def _on_verify_failed(self, exc: BaseException) -> None:
        self._checking = False
        self.screen.set_busy(False)
        log.warning("unlock check failed: %s", type(exc).__name__)
        self.screen.show_message(
            f"Could not check the password ({type(exc).__name__}); try again in a moment."
        )

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._window:
            if event.type() == QEvent.Type.Resize and self.is_locked:
                self.screen.setGeometry(self._window.rect())
            elif event.type() == QEvent.Type.Close:
                self.watcher.stop()  # a closed window has nothing left to lock
        return False


def _inside(obj: QObject, ancestor: QObject) -> bool:
    parent: QObject | None = obj
    while parent is not None:
        if parent is ancestor:
            return True
        parent = parent.parent()
    return False


def install_idle_lock(
    window: QMainWindow,
    bridge: Bridge,
    verify: Verify,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    *,
    user_label: str = "",
) -> IdleLock:
    """Watch the application for input and lock ``window`` after ``timeout_s`` without any.

    If ``window`` has a desk ``controller`` (the agent desktop), a ringing call shows the
    "unlock to answer" notice on the lock screen and is cleared when the call is gone.
    """
    watcher = IdleWatcher(timeout_s, window)
    lock = IdleLock(window, bridge, verify, watcher, user_label)
    controller: Any = getattr(window, "controller", None)
    if controller is not None and hasattr(controller, "pop_shown"):
        controller.pop_shown.connect(lambda _pop: lock.show_incoming_call(_ringing(controller)))
        controller.call_changed.connect(
            lambda _change: lock.show_incoming_call(_ringing(controller))
        )
        controller.pop_dismissed.connect(lambda *_: lock.show_incoming_call(False))
    watcher.start()
    return lock


def _ringing(controller: Any) -> bool:
    call = controller.current_call()
    return call is not None and getattr(call.phase, "value", "") == "ringing"
