"""The timeline's whole history (issue 14 item 8): a row for every entry, so the scrollbar
covers a 100 000-entry history; Ctrl+End shows the real oldest entry once its page is in, a
date selects that day's latest entry, Ctrl+Home returns; a change-bus refresh keeps the
selected entry selected."""

from __future__ import annotations

import datetime as dt
import time

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from agentdesk.ui.timeline.view import TimelineView
from agentdesk.ui.workspace.context import WorkspaceContext
from tests.ui_workspace.builders import (
    BASE_TIME,
    Org,
    add_customer,
    add_interactions,
    add_interactions_sql,
)

WAIT_MS = 10_000
COUNT = 100_000


def _view(qtbot: QtBot, context: WorkspaceContext, page_size: int = 200) -> TimelineView:
    view = TimelineView(context.bridge, context.timeline, context.agent_id, page_size=page_size)
    qtbot.addWidget(view)
    view.resize(700, 600)
    view.show()
    return view


def _current(view: TimelineView) -> tuple[int, str]:
    row = view.list.currentIndex().row()
    entry = view.model.entry_at(row)
    return row, entry.summary if entry is not None else ""


def test_the_scrollbar_stands_for_the_whole_history(
    qtbot: QtBot, engine: Engine, context: WorkspaceContext
) -> None:
    cid = add_customer(engine)
    add_interactions_sql(engine, cid, COUNT)
    view = _view(qtbot, context)
    started = time.perf_counter()
    with qtbot.wait_signal(view.model.counted, timeout=WAIT_MS):
        view.show_customer(cid)
    assert view.model.rowCount() == COUNT and view.status.text() == "100,000 entries"
    assert view.model.entry_at(0).summary.startswith(f"Contact #{COUNT} ")
    bar, height = view.list.verticalScrollBar(), view.list.sizeHintForRow(0)
    full = COUNT * height - view.list.viewport().height()
    qtbot.wait_until(lambda: bar.maximum() == full, timeout=WAIT_MS)  # laid out after the rows
    open_s = time.perf_counter() - started
    assert view.model.entry_at(COUNT // 2) is None  # a placeholder until it is scrolled to
    # Dragging the scrollbar to the middle loads the pages shown there, at their positions.
    with qtbot.wait_signal(view.model.page_loaded, timeout=WAIT_MS):
        bar.setValue(bar.maximum() // 2)
    qtbot.wait_until(
        lambda: view.model.entry_at(view.list.indexAt(view.list.rect().center()).row()) is not None,
        timeout=WAIT_MS,
    )
    row = view.list.indexAt(view.list.viewport().rect().center()).row()
    assert abs(row - COUNT // 2) < 200
    qtbot.wait_until(lambda: view.model.entry_at(row) is not None, timeout=WAIT_MS)
    assert view.model.entry_at(row).summary.startswith(f"Contact #{COUNT - row} ")
    assert view.model.loaded_count() <= 12 * 200  # a bounded number of pages is held
    assert open_s < 1.0, open_s


def test_ctrl_end_shows_the_oldest_entry_and_ctrl_home_the_newest(
    qtbot: QtBot, engine: Engine, context: WorkspaceContext
) -> None:
    cid = add_customer(engine)
    add_interactions_sql(engine, cid, COUNT)
    view = _view(qtbot, context)
    with qtbot.wait_signal(view.model.counted, timeout=WAIT_MS):
        view.show_customer(cid)
    view.list.setFocus()
    started = time.perf_counter()
    with qtbot.wait_signal(view.jumped, timeout=WAIT_MS) as jumped:
        QTest.keyClick(view.list, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    jump_s = time.perf_counter() - started
    assert jumped.args == [COUNT - 1]
    row, summary = _current(view)
    assert row == COUNT - 1 and summary.startswith("Contact #1 ")  # the very first contact
    bar = view.list.verticalScrollBar()
    assert bar.value() == bar.maximum()
    assert jump_s < 1.0, jump_s  # one page from the oldest end, not 100 000 rows
    # The rows above the oldest page come in as the agent scrolls up, in order.
    with qtbot.wait_signal(view.model.page_loaded, timeout=WAIT_MS):
        bar.setValue(bar.value() - 300 * view.list.sizeHintForRow(0))
    qtbot.wait_until(lambda: view.model.entry_at(COUNT - 301) is not None, timeout=WAIT_MS)
    assert view.model.entry_at(COUNT - 301).summary.startswith("Contact #301 ")
    with qtbot.wait_signal(view.jumped, timeout=WAIT_MS):
        QTest.keyClick(view.list, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    assert _current(view)[1].startswith(f"Contact #{COUNT} ") and bar.value() == 0


def test_go_to_a_date_selects_that_days_latest_entry(
    qtbot: QtBot, engine: Engine, context: WorkspaceContext
) -> None:
    cid = add_customer(engine)
    add_interactions_sql(engine, cid, 20_000)  # one every 7 minutes: ~97 days back
    view = _view(qtbot, context)
    with qtbot.wait_signal(view.model.counted, timeout=WAIT_MS):
        view.show_customer(cid)
    day = (BASE_TIME - dt.timedelta(days=30)).astimezone().date()
    with qtbot.wait_signal(view.jumped, timeout=WAIT_MS) as jumped:
        view.jump_to_date(day)
    row = jumped.args[0]
    first = view.model.entry_at(row)
    assert first is not None and first.at.astimezone().date() == day
    assert view.list.currentIndex().row() == row
    # The entry above it is the day after's earliest, loaded as the agent reads on.
    qtbot.wait_until(lambda: view.model.entry_at(row - 1) is not None, timeout=WAIT_MS)
    assert view.model.entry_at(row - 1).at.astimezone().date() > day


def test_a_refresh_keeps_the_selected_entry_selected(
    qtbot: QtBot, engine: Engine, context: WorkspaceContext, org: Org
) -> None:
    cid = add_customer(engine)
    add_interactions(engine, cid, 600, [org.agent_id])
    view = _view(qtbot, context, page_size=100)
    with qtbot.wait_signal(view.model.counted, timeout=WAIT_MS):
        view.show_customer(cid)
    with qtbot.wait_signal(view.jumped, timeout=WAIT_MS):
        view.jump_to_oldest()
    view.list.setCurrentIndex(view.model.index(590))
    row, selected = _current(view)
    assert row == 590 and selected.startswith("Contact #10 ")
    bar = view.list.verticalScrollBar()
    before = bar.value()
    # A note saved (here, or a colleague's change the bus brings): one entry more on top.
    context.timeline.add_note(cid, "Asked for paper statements", org.agent_id)
    with qtbot.wait_signal(view.model.refreshed, timeout=WAIT_MS):
        view.refresh()
    assert view.model.rowCount() == 601 and _current(view) == (591, selected)
    assert bar.value() == before + view.list.sizeHintForRow(0)  # what the agent reads stays
    with qtbot.wait_signal(view.jumped, timeout=WAIT_MS):
        view.jump_to_newest()
    assert _current(view) == (0, "Note")


def test_go_to_menu_offers_the_jumps(qtbot: QtBot, context: WorkspaceContext) -> None:
    view = _view(qtbot, context)
    texts = [a.text() for a in view.go_to.menu().actions()]
    assert texts == ["Newest entry (Ctrl+Home)", "Oldest entry (Ctrl+End)", "A date…"]
