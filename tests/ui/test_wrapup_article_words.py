"""The wrap-up's "Answered with" line says in words that no article is cited (it read
"None: cite one…", a raw-looking None beside the label), before and after one is removed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from PySide6.QtCore import Qt

from agentdesk.services.desk.screen_pop import ChangeKind
from tests.ui.data import add_customer

pytestmark = pytest.mark.gui


def _no_raw_none(text: str) -> bool:
    return re.search(r"\bNone\b", text) is None


def test_the_answered_with_line_says_no_article_in_words(desk_factory: Any) -> None:
    desk = desk_factory(seed=lambda central: add_customer(central, "Ada Lovelace", "+447700900123"))
    window, qtbot, actions = desk.window, desk.qtbot, desk.window.actions_by_id
    form = window.wrapup
    assert _no_raw_none(form.article.text()), form.article.text()
    placed = desk.call("+447700900123")
    desk.wait_pop(placed)
    with qtbot.waitSignal(
        desk.controller.wrapups.call_changed,
        check_params_cb=lambda c: c.kind is ChangeKind.CONNECTED,
        timeout=10_000,
    ):
        actions["answer"].trigger()
    empty = form.article.text()
    assert _no_raw_none(empty) and empty.startswith("No article"), empty
    assert not form.article_clear.isEnabled()

    assert form.cite_article("0190a0b0-0000-7000-8000-000000000001", 3, "Lost card")
    assert form.article.text() == "Lost card (version 3)"
    qtbot.mouseClick(form.article_clear, Qt.MouseButton.LeftButton)
    assert form.article.text() == empty  # removed: the same words again
    with qtbot.waitSignal(desk.controller.wrapups.started, timeout=10_000):
        actions["hangup"].trigger()
    assert form.article.text() == empty  # after-call work: still words, not "None"


def test_the_no_article_words_fit_on_one_line_beside_remove(desk_factory: Any) -> None:
    # Wrapped onto two lines the form row clipped the second one (seen at 1366x768).
    form = desk_factory().window.wrapup
    metrics = form.article.fontMetrics()
    assert metrics.horizontalAdvance(form.article.text()) <= 260, form.article.text()
