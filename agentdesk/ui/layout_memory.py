"""Remembered window layout: geometry, dock/toolbar state and splitter positions.

Only layout goes into QSettings (organisation and application "agentdesk"); never data.
A saved geometry that no longer fits any connected screen (the second monitor was
unplugged, the resolution dropped) falls back to a window centred on the primary screen.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QRect, QSettings, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMainWindow, QSplitter, QWidget

ORGANISATION = "agentdesk"
APPLICATION = "agentdesk"
DEFAULT_SIZE = QSize(1366, 768)
# A window counts as "on screen" when at least this much of its title area is visible.
_MIN_VISIBLE = 80


def layout_settings() -> QSettings:
    """The per-user layout store; INI everywhere so tests can redirect it with setPath."""
    return QSettings(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION
    )


def _named_splitters(window: QWidget) -> list[QSplitter]:
    return [s for s in window.findChildren(QSplitter) if s.objectName()]


def save_layout(window: QMainWindow, prefix: str = "main") -> None:
    """Write the window's geometry, dock/toolbar state and named splitters."""
    settings = layout_settings()
    settings.setValue(f"{prefix}/geometry", window.saveGeometry())
    settings.setValue(f"{prefix}/state", window.saveState())
    for splitter in _named_splitters(window):
        settings.setValue(f"{prefix}/splitters/{splitter.objectName()}", splitter.saveState())
    settings.sync()


def _bytes(value: object) -> QByteArray | None:
    if isinstance(value, QByteArray) and not value.isEmpty():
        return value
    if isinstance(value, bytes | bytearray) and value:
        return QByteArray(bytes(value))
    return None


def restore_geometry(window: QMainWindow, prefix: str = "main") -> bool:
    """Restore the saved geometry (kept on a connected screen); False when none was saved."""
    saved = _bytes(layout_settings().value(f"{prefix}/geometry"))
    restored = saved is not None and window.restoreGeometry(saved)
    if not restored or not is_on_screen(window.frameGeometry()):
        centre_on_primary(window)
    return restored


def restore_state(window: QMainWindow, prefix: str = "main") -> bool:
    """Restore docks, toolbars and named splitters. Call once every dock has been added."""
    settings = layout_settings()
    saved = _bytes(settings.value(f"{prefix}/state"))
    restored = saved is not None and window.restoreState(saved)
    for splitter in _named_splitters(window):
        state = _bytes(settings.value(f"{prefix}/splitters/{splitter.objectName()}"))
        if state is not None:
            splitter.restoreState(state)
    return restored


def is_on_screen(frame: QRect) -> bool:
    """True when enough of the window's top strip lies on some connected screen to grab it."""
    title = QRect(frame.x(), frame.y(), frame.width(), min(frame.height(), 40))
    for screen in QGuiApplication.screens():
        visible = title.intersected(screen.availableGeometry())
        if visible.width() >= _MIN_VISIBLE and visible.height() > 0:
            return True
    return False


def centre_on_primary(window: QWidget) -> None:
    """Size the window to fit the primary screen (1366×768 at most) and centre it there."""
    screen = QGuiApplication.primaryScreen()
    if screen is None:
        window.resize(DEFAULT_SIZE)
        return
    area = screen.availableGeometry()
    size = DEFAULT_SIZE.boundedTo(area.size()).expandedTo(window.minimumSize())
    window.resize(size)
    frame = window.frameGeometry()
    frame.moveCenter(area.center())
    # Never let the title bar go above or left of the screen, even if the window is larger.
    window.move(max(frame.x(), area.x()), max(frame.y(), area.y()))
