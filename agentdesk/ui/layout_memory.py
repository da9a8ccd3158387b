"""Remembered window layout: geometry, dock/toolbar state and splitter positions.

Only layout goes into QSettings (organisation and application "agentdesk"); never data.
A saved geometry that no longer fits any connected screen (the second monitor was
unplugged, the resolution dropped) falls back to a window centred on the primary screen.
With none saved (a first start) the window fills the primary screen: fitted to it, frame
included, up to 1366×768, and maximised on a larger screen (a 1366×768 window left a third
of a 1920×1080 screen unused); restored down it is that centred 1366×768 window.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QByteArray,
    QEvent,
    QMargins,
    QObject,
    QPoint,
    QRect,
    QSettings,
    QSize,
    Qt,
)
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMainWindow, QSplitter, QWidget

ORGANISATION = "agentdesk"
APPLICATION = "agentdesk"
DEFAULT_SIZE = QSize(1366, 768)
# A window counts as "on screen" when at least this much of its title area is visible.
_MIN_VISIBLE = 80
# The window manager's frame is only known once it has framed the window (after the first
# expose); until then assume a title bar and thin borders (openbox: 1, 20, 1, 5; GNOME and
# Windows 10 title bars are about 30 px).
TYPICAL_FRAME = QMargins(4, 32, 4, 4)


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
    """Restore the saved geometry (kept on a connected screen). False when none was saved or
    it fits no connected screen: then the window was centred on the primary one (call
    :func:`refit_when_framed` after showing it)."""
    saved = _bytes(layout_settings().value(f"{prefix}/geometry"))
    restored = saved is not None and window.restoreGeometry(saved)
    if not restored or not is_on_screen(window.frameGeometry()):
        centre_on_primary(window)
        return False
    return True


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


def frame_margins(window: QWidget) -> QMargins:
    """The window manager's frame around ``window``: measured once framed, else typical."""
    handle = window.windowHandle()
    if handle is not None and handle.isExposed():
        return handle.frameMargins()
    return TYPICAL_FRAME


def fitted_frame(area: QRect, margins: QMargins, minimum: QSize) -> QRect:
    """Where a new window's frame goes: 1366×768 at most, frame included, inside ``area``
    and centred there; never smaller than ``minimum`` (client size) plus the frame, and then
    its title bar still starts on the screen."""
    frame_extra = QSize(margins.left() + margins.right(), margins.top() + margins.bottom())
    size = DEFAULT_SIZE.boundedTo(area.size()).expandedTo(minimum + frame_extra)
    frame = QRect(area.topLeft(), size)
    frame.moveCenter(area.center())
    frame.moveTopLeft(QPoint(max(frame.x(), area.x()), max(frame.y(), area.y())))
    return frame


def fills_screen(area: QRect) -> bool:
    """True when a first start on ``area`` opens maximised: it holds 1366×768 with room to
    spare (1920×1080, 1600×900); a smaller or narrower one (800×800, 1280×1024) gets the
    fitted window, which is already as large as it can be there."""
    fits = area.width() >= DEFAULT_SIZE.width() and area.height() >= DEFAULT_SIZE.height()
    return fits and area.size() != DEFAULT_SIZE


def centre_on_primary(
    window: QWidget, *, area: QRect | None = None, margins: QMargins | None = None
) -> None:
    """Size the window, frame included, to fit the primary screen's available area (1366×768
    at most) and centre it there; on a larger screen also maximise it (that size is what it
    restores down to). ``area`` and ``margins`` default to the primary screen's and the
    window manager's (see :func:`frame_margins`)."""
    if area is None:
        screen = QGuiApplication.primaryScreen()
        if screen is None:
            window.resize(DEFAULT_SIZE)
            return
        area = screen.availableGeometry()
    margins = frame_margins(window) if margins is None else margins
    minimum = window.minimumSizeHint().expandedTo(window.minimumSize())
    frame = fitted_frame(area, margins, minimum)
    # The client rectangle: move() means the frame or the client depending on whether the
    # platform knows the frame yet, setGeometry() always means the client.
    window.setGeometry(frame.marginsRemoved(margins))
    if fills_screen(area):
        window.setWindowState(window.windowState() | Qt.WindowState.WindowMaximized)


class _RefitWhenFramed(QObject):
    """Re-centres a window once, at its first expose, when the real frame is known."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Expose and self._window.windowHandle() is not None:
            handle = self._window.windowHandle()
            if handle.isExposed():
                handle.removeEventFilter(self)
                # A maximised window is the screen's size already: a new geometry would
                # take it out of the maximised state.
                if not self._window.isMaximized() and frame_margins(self._window) != TYPICAL_FRAME:
                    centre_on_primary(self._window)
                self.deleteLater()
        return False


def refit_when_framed(window: QWidget) -> None:
    """Call after the first ``show()`` of a window placed by :func:`centre_on_primary`: once
    the window manager has framed it, fit it again with the frame it really has."""
    handle = window.windowHandle()
    if handle is not None:
        handle.installEventFilter(_RefitWhenFramed(window))
