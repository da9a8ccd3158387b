"""Timeline jumps (issue 14 item 8): Ctrl+End reaches the real oldest entry of a 100 000-entry
history, not the end of the loaded rows; a date shows that day and older; Ctrl+Home returns."""

from __future__ import annotations

import datetime as dt
import time

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from agentdesk.ui.timeline.view import TimelineView
from agentdesk.ui.workspace.context import WorkspaceContext
from tests.ui_workspace.builders import BASE_TIME, add_customer, add_interactions_sql

WAIT_MS = 10_000
COUNT = 100_000


def _view(qtbot: QtBot, context: WorkspaceContext) -> TimelineView:
    view = TimelineView(context.bridge, context.timeline, context.agent_id, page_size=200)
    qtbot.addWidget(view)
    view.resize(700, 600)
    view.show()
    return view


def _summaries(view: TimelineView) -> list[str]:
    return [e.summary for r in range(view.model.entry_count()) if (e := view.model.entry_at(r))]


def test_ctrl_end_reaches_the_oldest_entry_and_ctrl_home_the_newest(
    qtbot: QtBot, engine: Engine, context: WorkspaceContext
) -> None:
    cid = add_customer(engine)
    add_interactions_sql(engine, cid, COUNT)
    view = _view(qtbot, context)
    with qtbot.wait_signal(view.model.page_loaded, timeout=WAIT_MS):
        view.show_customer(cid)
    assert _summaries(view)[0].startswith(f"Contact #{COUNT} ")
    view.list.setFocus()
    started = time.perf_counter()
    with qtbot.wait_signal(view.model.jumped, timeout=WAIT_MS):
        QTest.keyClick(view.list, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    jump_s = time.perf_counter() - started
    rows = _summaries(view)
    assert rows[-1].startswith("Contact #1 ")  # the very first contact, at the bottom
    assert view.model.exhausted and view.model.has_newer
    assert view.list.currentIndex().row() == view.model.entry_count() - 1
    bar = view.list.verticalScrollBar()
    assert bar.value() == bar.maximum()
    assert jump_s < 1.0, jump_s  # one keyset page, not 100 000 rows
    # Scrolling up from the oldest end brings the newer pages above, in order.
    with qtbot.wait_signal(view.model.rows_shifted, timeout=WAIT_MS):
        view.list.scrollToTop()
    rows = _summaries(view)
    assert rows[0].startswith("Contact #400 ") and rows[-1].startswith("Contact #1 ")
    with qtbot.wait_signal(view.model.page_loaded, timeout=WAIT_MS):
        QTest.keyClick(view.list, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    assert _summaries(view)[0].startswith(f"Contact #{COUNT} ") and not view.model.has_newer


def test_go_to_a_date_shows_that_day_and_older(
    qtbot: QtBot, engine: Engine, context: WorkspaceContext
) -> None:
    cid = add_customer(engine)
    add_interactions_sql(engine, cid, 20_000)  # one every 7 minutes: ~97 days back
    view = _view(qtbot, context)
    with qtbot.wait_signal(view.model.page_loaded, timeout=WAIT_MS):
        view.show_customer(cid)
    day = (BASE_TIME - dt.timedelta(days=30)).astimezone().date()
    with qtbot.wait_signal(view.model.jumped, timeout=WAIT_MS):
        view.jump_to_date(day)
    first = view.model.entry_at(0)
    assert first is not None and first.at.astimezone().date() == day
    assert (first.at + dt.timedelta(minutes=7)).astimezone().date() > day  # that day's latest
    assert view.model.has_newer and view.list.currentIndex().row() == 0
    # The newer entries come back above when the agent scrolls up.
    with qtbot.wait_signal(view.model.rows_shifted, timeout=WAIT_MS):
        view.model.fetch_newer()
    newer = view.model.entry_at(0)
    assert newer is not None and newer.at > first.at


def test_go_to_menu_offers_the_jumps(qtbot: QtBot, context: WorkspaceContext) -> None:
    view = _view(qtbot, context)
    texts = [a.text() for a in view.go_to.menu().actions()]
    assert texts == ["Newest entry (Ctrl+Home)", "Oldest entry (Ctrl+End)", "A date…"]
