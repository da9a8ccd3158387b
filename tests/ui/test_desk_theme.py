"""AGENTDESK_COLOR_SCHEME forces the desk's light or dark scheme (the screenshots' virtual
screen reports none); anything else is said once and the system's scheme is followed."""

from __future__ import annotations

import logging

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from agentdesk.ui import desk_theme


def test_dark_forced_gives_the_dark_sheet_and_accents(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(desk_theme.SCHEME_ENV, "Dark")
    widget = QWidget()
    qtbot.addWidget(widget)
    desk_theme.follow_system_scheme(widget)
    assert desk_theme.system_scheme() == Qt.ColorScheme.Dark
    assert "#16191f" in widget.styleSheet()  # desk-dark.qss's window colour
    assert desk_theme.tone("bad") == "#ff8a80"


def test_light_forced_wins_over_a_dark_system(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(desk_theme.SCHEME_ENV, "light")
    assert not desk_theme.is_dark()
    assert desk_theme.tone("bad") == "#a32020"


def test_an_unknown_value_is_said_and_ignored(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(desk_theme.SCHEME_ENV, "solarized")
    with caplog.at_level(logging.WARNING):
        assert desk_theme.forced_scheme() is None
    assert "neither 'dark' nor 'light'" in caplog.text
    assert desk_theme.system_scheme() != Qt.ColorScheme.Dark
