"""The pop's customer chooser shows every column in the call pane at 1366×768 (seen in the
demo: the fourth column was scrolled out of sight behind a horizontal scroll bar)."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from tests.ui.data import add_customer
from tests.ui.test_layout_fit import SIZES, _settle, _view_problem, clipped_texts

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("size", list(SIZES))
def test_every_chooser_column_is_in_sight(desk_factory: Any, size: str) -> None:
    def seed(central: Any) -> None:
        for name in ("Evie Brown", "Grace Khan"):
            add_customer(central, name, "+447700900555")

    desk = desk_factory(seed=seed)
    _settle(desk, SIZES[size], Qt.ColorScheme.Light)
    desk.wait_pop(desk.call("+447700900555"))
    view = desk.window.pop.chooser_view
    desk.qtbot.waitUntil(view.isVisible, timeout=5000)
    assert _view_problem(view) is None
    assert view.horizontalScrollBar().maximum() == 0
    assert clipped_texts(desk.window.pop) == []
