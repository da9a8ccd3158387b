"""Remembered layout (geometry, docks) and the light/dark desk stylesheets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QByteArray, QPoint, QRect, QSettings, Qt
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from agentdesk.ui import desk_theme
from agentdesk.ui.format import phone_link
from agentdesk.ui.layout_memory import (
    centre_on_primary,
    is_on_screen,
    layout_settings,
    restore_geometry,
)
from agentdesk.ui.main_window import MainWindow

pytestmark = pytest.mark.gui


def _second_window(desk: Any, qtbot: QtBot) -> MainWindow:
    window = MainWindow(desk.controller, desk.window._bridge, desk.desktop.recorder)
    qtbot.addWidget(window)
    return window


def test_settings_are_redirected_to_a_temporary_directory(layout_settings_dir: Path) -> None:
    path = Path(layout_settings().fileName())
    assert path.is_relative_to(layout_settings_dir)


def test_dock_position_and_size_survive_a_restart(desk: Any, qtbot: QtBot) -> None:
    window = desk.window
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, window.call_dock)
    window.resize(window.width(), 640)  # fits the offscreen platform's 800×800 screen
    size = window.size()
    assert size.height() == 640
    with qtbot.waitSignal(window.closed, timeout=5000):
        window.close()
    settings = layout_settings()
    assert isinstance(settings.value("main/geometry"), QByteArray)
    assert isinstance(settings.value("main/state"), QByteArray)
    # Only layout is stored: no customer, call or agent data.
    assert all(key.startswith("main/") for key in settings.allKeys()), settings.allKeys()

    again = _second_window(desk, qtbot)
    assert again.dockWidgetArea(again.call_dock) == Qt.DockWidgetArea.RightDockWidgetArea
    again.show()
    qtbot.waitExposed(again)
    assert again.dockWidgetArea(again.call_dock) == Qt.DockWidgetArea.LeftDockWidgetArea
    # The width is clamped to the 800 px offscreen screen (and this window's own minimum).
    assert again.height() == size.height()


def test_geometry_from_an_unplugged_monitor_falls_back_on_screen(desk: Any, qtbot: QtBot) -> None:
    window = desk.window
    window.hide()
    window.move(QPoint(40_000, 30_000))  # where a right-hand second monitor used to be
    assert not is_on_screen(window.frameGeometry())
    window.close()

    again = _second_window(desk, qtbot)
    again.show()
    qtbot.waitExposed(again)
    area = QGuiApplication.primaryScreen().availableGeometry()
    assert is_on_screen(again.frameGeometry())
    assert area.contains(again.frameGeometry().center())


def test_centre_on_primary_fits_and_centres(desk: Any) -> None:
    window = desk.window
    window.setGeometry(QRect(-9000, -9000, 1366, 768))
    centre_on_primary(window)
    area = QGuiApplication.primaryScreen().availableGeometry()
    frame = window.frameGeometry()
    assert area.contains(frame.topLeft())
    if frame.width() <= area.width():
        assert abs(frame.center().x() - area.center().x()) <= 1


def test_garbage_in_settings_is_ignored(desk: Any) -> None:
    settings = layout_settings()
    settings.setValue("main/geometry", QByteArray(b"\x00garbage\xff" * 3))
    settings.setValue("main/state", "not bytes at all")
    settings.sync()
    window = desk.window
    assert restore_geometry(window) is False
    assert is_on_screen(window.frameGeometry())


def test_stylesheet_follows_the_colour_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    light = desk_theme.load_stylesheet(Qt.ColorScheme.Light)
    dark = desk_theme.load_stylesheet(Qt.ColorScheme.Dark)
    assert "#f6f7f9" in light and "#16191f" in dark and light != dark
    assert desk_theme.load_stylesheet(Qt.ColorScheme.Unknown) == light
    monkeypatch.setattr(desk_theme, "system_scheme", lambda: Qt.ColorScheme.Dark)
    assert desk_theme.load_stylesheet() == dark


def test_window_restyles_live_when_the_system_turns_dark(desk: Any) -> None:
    window = desk.window
    hints = QGuiApplication.styleHints()
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert window.styleSheet() == desk_theme.load_stylesheet(Qt.ColorScheme.Dark)
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert window.styleSheet() == desk_theme.load_stylesheet(Qt.ColorScheme.Light)


def _selectors(sheet: str) -> set[str]:
    return {line.split("{")[0].strip() for line in sheet.splitlines() if "{" in line}


def test_dark_sheet_styles_every_selector_of_the_light_one() -> None:
    light = _selectors(desk_theme.load_stylesheet(Qt.ColorScheme.Light))
    dark = _selectors(desk_theme.load_stylesheet(Qt.ColorScheme.Dark))
    assert light <= dark, light - dark


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize(
    ("text", "background"),
    [
        ("#e3e6ec", "#16191f"),  # body text on the window
        ("#e3e6ec", "#1c2027"),  # body text on panes and tables
        ("#8d94a0", "#1f232b"),  # disabled toolbar buttons
        ("#aeb5c1", "#1c2027"),  # secondary text
        ("#ff8a80", "#1f232b"),  # errors
        ("#c3a8ff", "#1c2027"),  # wrap-up countdown
        ("#f5e6b8", "#3a3014"),  # notice banner
        ("#ffffff", "#2f4d7a"),  # selection
    ],
)
def test_dark_text_meets_wcag_aa(text: str, background: str) -> None:
    sheet = desk_theme.load_stylesheet(Qt.ColorScheme.Dark)
    assert text in sheet and background in sheet
    high, low = sorted((_luminance(text), _luminance(background)), reverse=True)
    assert (high + 0.05) / (low + 0.05) >= 4.5


def test_settings_class_is_ini_for_portable_redirection() -> None:
    assert layout_settings().format() == QSettings.Format.IniFormat


@pytest.mark.parametrize("name", ["good", "bad", "warn", "muted"])
def test_rich_text_tones_are_readable_in_both_schemes(name: str) -> None:
    for scheme, background in ((Qt.ColorScheme.Light, "#ffffff"), (Qt.ColorScheme.Dark, "#1c2027")):
        high, low = sorted(
            (_luminance(desk_theme.tone(name, scheme)), _luminance(background)), reverse=True
        )
        assert (high + 0.05) / (low + 0.05) >= 4.5, (name, scheme)


def test_dark_scheme_lightens_phone_links(monkeypatch: pytest.MonkeyPatch) -> None:
    light = phone_link("+441215550000", "0121 555 0000")
    assert "style" not in light
    monkeypatch.setattr(desk_theme, "system_scheme", lambda: Qt.ColorScheme.Dark)
    dark = phone_link("+441215550000", "0121 555 0000")
    assert 'href="tel:+441215550000"' in dark and "color:#8ab4f8" in dark
    high, low = sorted((_luminance("#8ab4f8"), _luminance("#1c2027")), reverse=True)
    assert (high + 0.05) / (low + 0.05) >= 4.5


def test_the_window_can_be_made_as_small_as_a_scaled_laptop_screen(desk: Any) -> None:
    # 1280×720 at 125 % scaling leaves 1024×576 logical pixels. The stacked ticket detail in
    # the docked ticket panes once set the window's minimum height to 659 px (no scrolling).
    hint = desk.window.minimumSizeHint()
    assert hint.width() <= 1024 and hint.height() <= 576, hint
