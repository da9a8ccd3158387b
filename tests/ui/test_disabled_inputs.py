"""Disabled inputs look disabled in both desk schemes: the timeline's "Dates" fields are
disabled until the box is ticked, and in the dark sheet they looked exactly like enabled
ones (the sheet gave every input the same light text and background in every state)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QDate, QDateTime
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDateEdit,
    QDateTimeEdit,
    QHBoxLayout,
    QLineEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from agentdesk.ui import desk_theme

pytestmark = pytest.mark.gui


def _image(widget: QWidget) -> QImage:
    return widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)


def _lightness(colour: QColor) -> float:
    return 0.2126 * colour.red() + 0.7152 * colour.green() + 0.0722 * colour.blue()


def _background_and_text(image: QImage) -> tuple[QColor, QColor]:
    """The field's most common colour (its background) and the colour furthest from it in
    lightness (its text), over the text part of the field, inside the frame."""
    counts: dict[int, int] = {}
    width, height = image.width(), image.height()
    pixels = [image.pixel(x, y) for x in range(4, int(width * 0.6)) for y in range(4, height - 4)]
    for rgb in pixels:
        counts[rgb] = counts.get(rgb, 0) + 1
    background = QColor(max(counts, key=lambda k: counts[k]))
    base = _lightness(background)
    text = max((QColor(p) for p in counts), key=lambda c: abs(_lightness(c) - base))
    return background, text


def _contrast(image: QImage) -> float:
    background, text = _background_and_text(image)
    return abs(_lightness(text) - _lightness(background))


def _pair(qtbot: QtBot, make: type[QWidget]) -> tuple[QWidget, QWidget, QWidget]:
    box = QWidget()
    qtbot.addWidget(box)
    desk_theme.follow_system_scheme(box)
    row = QHBoxLayout(box)
    fields = []
    for enabled in (True, False):
        field = make(box)
        if isinstance(field, QDateTimeEdit):
            field.setDateTime(QDateTime(QDate(2026, 12, 3), field.time()))
            field.setDisplayFormat("dd MMM yyyy")
        elif isinstance(field, QComboBox):
            field.addItem("All channels")
        elif isinstance(field, QLineEdit):
            field.setText("03 Dec 2026")
        field.setEnabled(enabled)
        field.setFixedSize(160, 28)
        row.addWidget(field)
        fields.append(field)
    box.show()
    qtbot.waitExposed(box)
    return box, fields[0], fields[1]


@pytest.mark.parametrize("scheme", ["dark", "light"])
@pytest.mark.parametrize("make", [QDateEdit, QDateTimeEdit, QLineEdit, QComboBox])
def test_a_disabled_input_has_dimmer_text_than_an_enabled_one(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, scheme: str, make: type[QWidget]
) -> None:
    monkeypatch.setenv(desk_theme.SCHEME_ENV, scheme)
    _box, enabled, disabled = _pair(qtbot, make)
    on, off = _contrast(_image(enabled)), _contrast(_image(disabled))
    # The disabled text stands out from its field markedly less than the enabled text does.
    assert off < 0.7 * on, f"{make.__name__} ({scheme}): contrast {off:.0f} vs enabled {on:.0f}"


def test_a_disabled_date_field_in_the_dark_has_its_own_background(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(desk_theme.SCHEME_ENV, "dark")
    _box, enabled, disabled = _pair(qtbot, QDateEdit)
    assert isinstance(disabled, QAbstractSpinBox)
    on, _ = _background_and_text(_image(enabled))
    off, _ = _background_and_text(_image(disabled))
    assert on != off, f"both {on.name()}"
