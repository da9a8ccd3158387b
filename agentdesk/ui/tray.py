"""System-tray notifications for calls that ring while the window is not in front."""

from __future__ import annotations

import html
import logging
import sys

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QSystemTrayIcon, QWidget

from agentdesk.ui import format as fmt

log = logging.getLogger(__name__)


def _notification_body(text: str) -> str:
    """The balloon's body as the platform will read it.

    On Linux the balloon goes to the desktop's notification server, which reads the
    body as a subset of HTML (freedesktop "body-markup"); escaping keeps a caller's
    name from painting its own markup there. Windows and macOS show it verbatim.
    """
    return html.escape(text, quote=False) if sys.platform.startswith("linux") else text


def app_icon(colour: str = "#1f6feb") -> QIcon:
    """The desktop's icon, drawn (no image files to ship)."""
    pixmap = QPixmap(64, 64)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor(colour))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawRoundedRect(4, 4, 56, 56, 14, 14)
    painter.setPen(QColor("white"))
    font = painter.font()
    font.setBold(True)
    font.setPixelSize(30)
    painter.setFont(font)
    painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, "AD")
    painter.end()
    return QIcon(pixmap)


class TrayNotifier(QObject):
    """Shows a tray balloon (or flashes the taskbar entry when there is no tray)."""

    def __init__(self, window: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._window = window
        self.last_message: tuple[str, str] | None = None
        # Set while the desktop is locked: a notification then names no caller.
        self.private = False
        self.icon: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.icon = QSystemTrayIcon(app_icon(), self)
            self.icon.setToolTip("agentdesk")
            self.icon.activated.connect(self._on_icon_activated)
            self.icon.show()

    def notify_if_hidden(self, title: str, text: str) -> bool:
        """Notify when the window is not the active one; True if a notification went out."""
        if self._window.isActiveWindow() and not self._window.isMinimized():
            return False
        title, text = fmt.display_text(title), fmt.display_text(text)
        if self.private:
            text = "Unlock agentdesk to see who it is."
        self.last_message = (title, text)
        if self.icon is not None:
            self.icon.showMessage(
                title, _notification_body(text), QSystemTrayIcon.MessageIcon.Information, 8000
            )
        else:
            QApplication.alert(self._window, 0)
        # What was shown names the caller; the log only says that something was shown.
        log.info("notification shown: %s", title)
        log.debug("notification text: %s", text)
        return True

    def _on_icon_activated(self, _reason: QSystemTrayIcon.ActivationReason) -> None:
        self._window.showNormal()
        self._window.raise_()
        self._window.activateWindow()

    def hide(self) -> None:
        if self.icon is not None:
            self.icon.hide()
