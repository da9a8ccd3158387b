"""First start with fresh settings at 1366×768: the whole window, frame included, fits the
screen (issue 14, seen in the demo: the client area was sized 1366×768 and the title bar
pushed the status bar below the bottom edge)."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QMargins, QRect, QSize
from PySide6.QtGui import QExposeEvent, QGuiApplication, QRegion
from PySide6.QtWidgets import QMainWindow
from pytestqt.qtbot import QtBot

from agentdesk.ui.layout_memory import (
    TYPICAL_FRAME,
    centre_on_primary,
    fitted_frame,
    frame_margins,
    refit_when_framed,
)
from tests.ui.test_layout_fit import _call_on_screen

pytestmark = pytest.mark.gui

SCREEN = QRect(0, 0, 1366, 768)
OPENBOX = QMargins(1, 20, 1, 5)  # measured: _NET_FRAME_EXTENTS under openbox on Xvfb


def _frame_of(window: Any, margins: QMargins) -> QRect:
    return window.geometry().marginsAdded(margins)


def test_the_window_and_its_frame_fit_a_1366x768_screen(desk: Any) -> None:
    window = desk.window
    window.hide()
    centre_on_primary(window, area=SCREEN, margins=OPENBOX)
    frame = _frame_of(window, OPENBOX)
    assert SCREEN.contains(frame), frame  # the status bar is on the screen
    assert frame.size() == SCREEN.size()  # and nothing of the screen is wasted


def test_a_frame_not_known_yet_is_assumed_rather_than_ignored(qtbot: QtBot) -> None:
    window = QMainWindow()  # never shown: the window manager's frame is unknown
    qtbot.addWidget(window)
    assert frame_margins(window) == TYPICAL_FRAME
    centre_on_primary(window, area=SCREEN)
    assert SCREEN.contains(_frame_of(window, TYPICAL_FRAME))


def test_the_minimum_size_fits_1366x768_with_a_call_and_its_wrap_up(desk_factory: Any) -> None:
    desk = _call_on_screen(desk_factory)
    window = desk.window
    window.actions_by_id["hangup"].trigger()
    desk.qtbot.waitUntil(lambda: bool(desk.controller.wrapups.pending()), timeout=10_000)
    minimum = window.minimumSizeHint().expandedTo(window.minimumSize())
    with_frame = minimum + QSize(
        TYPICAL_FRAME.left() + TYPICAL_FRAME.right(), TYPICAL_FRAME.top() + TYPICAL_FRAME.bottom()
    )
    assert with_frame.width() <= 1366 and with_frame.height() <= 768, minimum


def test_a_window_smaller_than_its_minimum_still_shows_its_title_bar() -> None:
    frame = fitted_frame(QRect(0, 0, 800, 600), OPENBOX, QSize(900, 700))
    assert frame.topLeft().x() >= 0 and frame.topLeft().y() >= 0
    assert frame.size() == QSize(902, 725)


def test_once_framed_the_window_is_fitted_with_its_real_frame(desk: Any, qtbot: QtBot) -> None:
    """At the first expose the window is refitted with the frame the platform reports (the
    offscreen platform's is not the typical one assumed before the window was shown)."""
    window = desk.window
    qtbot.waitExposed(window)
    handle = window.windowHandle()
    margins = handle.frameMargins()
    assert margins != TYPICAL_FRAME
    window.setGeometry(QRect(300, 300, 600, 500))
    refit_when_framed(window)
    QCoreApplication.sendEvent(handle, QExposeEvent(QRegion(window.rect())))
    area = QGuiApplication.primaryScreen().availableGeometry()
    minimum = window.minimumSizeHint().expandedTo(window.minimumSize())
    assert window.geometry() == fitted_frame(area, margins, minimum).marginsRemoved(margins)
