"""Timeline pane: model contract, filters, paging to the end of a 100 000-entry history."""

from __future__ import annotations

import logging

import pytest
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from agentdesk.services.crm.timeline import TimelineFilter
from agentdesk.ui.timeline.model import PLACEHOLDER_ROLE
from agentdesk.ui.timeline.view import TimelineView
from agentdesk.ui.workspace.context import WorkspaceContext
from tests.ui_workspace.builders import (
    Org,
    add_customer,
    add_interactions,
    add_interactions_sql,
)

WAIT_MS = 10_000


def _view(qtbot: QtBot, context: WorkspaceContext, page_size: int = 200) -> TimelineView:
    view = TimelineView(context.bridge, context.timeline, context.agent_id, page_size)
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    return view


def test_model_passes_the_model_tester_while_paging(
    qtbot: QtBot, qtmodeltester: ModelTester, engine: Engine, context: WorkspaceContext, org: Org
) -> None:
    cid = add_customer(engine)
    add_interactions(engine, cid, 450, [org.agent_id])
    view = _view(qtbot, context, page_size=100)
    with qtbot.wait_signal(view.model.counted, timeout=WAIT_MS):
        view.show_customer(cid)
    qtmodeltester.check(view.model)
    assert view.model.rowCount() == 450  # every entry has its row, loaded or not
    assert view.model.data(view.model.index(449), PLACEHOLDER_ROLE) is True
    with qtbot.wait_signal(view.model.page_loaded, timeout=WAIT_MS):
        view.list.scrollToBottom()  # the view asks for the pages it shows
    qtbot.wait_until(lambda: view.model.entry_at(449) is not None, timeout=WAIT_MS)
    qtmodeltester.check(view.model)
    assert view.model.data(view.model.index(449), PLACEHOLDER_ROLE) is False


def test_filter_by_channel_and_text(
    qtbot: QtBot, engine: Engine, context: WorkspaceContext, org: Org
) -> None:
    cid = add_customer(engine)
    add_interactions(engine, cid, 400, [org.agent_id])
    view = _view(qtbot, context)
    with qtbot.wait_signal(view.model.counted, timeout=WAIT_MS):
        view.show_customer(cid)
    with qtbot.wait_signal(view.model.counted, timeout=WAIT_MS):
        view.channel.setCurrentIndex(view.channel.findData("branch"))
    entries = [view.model.entry_at(r) for r in range(view.model.entry_count())]
    assert len(entries) == 50 and {e.channel for e in entries if e} == {"branch"}
    with qtbot.wait_signal(view.model.counted, timeout=WAIT_MS):
        view.text.setText("item 13.")  # debounced
    assert view.model.entry_count() == 0  # item 13 was an SMS, not a branch visit
    assert "No entries" in view.status.text()
    with qtbot.wait_signal(view.model.counted, timeout=WAIT_MS):
        view.channel.setCurrentIndex(0)
    assert view.model.entry_count() == 1
    assert view.current_filter() == TimelineFilter(text="item 13.")


def test_scroll_to_the_end_of_a_100k_history_page_by_page(
    qtbot: QtBot, engine: Engine, context: WorkspaceContext, caplog: pytest.LogCaptureFixture
) -> None:
    """Each screen scrolled to is filled (read by keyset from the page above it), and a
    bounded number of pages is held. On a failure the model's debug trace is in the report."""
    caplog.set_level(logging.DEBUG, logger="agentdesk.ui.timeline.model")
    cid = add_customer(engine)
    add_interactions_sql(engine, cid, 100_000)
    view = _view(qtbot, context, page_size=5000)
    failures: list[str] = []
    view.model.load_failed.connect(failures.append)
    with qtbot.wait_signal(view.model.counted, timeout=WAIT_MS):
        view.show_customer(cid)
    bar, height = view.list.verticalScrollBar(), view.list.sizeHintForRow(0)
    qtbot.wait_until(lambda: bar.maximum() > 99_000 * height, timeout=WAIT_MS)  # laid out
    for page in range(1, 20):  # a screen at the start of each page
        bar.setValue(page * 5000 * height)
        first = page * 5000
        qtbot.wait_until(
            lambda first=first: bool(failures) or view.model.entry_at(first) is not None,
            timeout=3 * WAIT_MS,
        )
        assert not failures
        assert view.model.entry_at(first + 4999) is not None  # the whole page came
        assert view.model.loaded_count() <= 12 * 5000  # a bounded number of pages is held
    last = view.model.entry_at(99_999)
    assert last is not None and last.summary.startswith("Contact #1 ")


def test_a_page_the_worker_skipped_is_asked_again_when_the_view_shows_it(
    qtbot: QtBot, engine: Engine, context: WorkspaceContext
) -> None:
    """The worker drops a page's read when, at its turn, the view shows other rows (it was
    scrolled past). If the view is back on that page when the empty answer lands, the page
    is asked again; before, its rows stayed "Loading…" until the next scroll (seen once in
    CI as a page_loaded that never came)."""
    cid = add_customer(engine)
    add_interactions_sql(engine, cid, 20_000)
    view = _view(qtbot, context, page_size=5000)
    with qtbot.wait_signal(view.model.counted, timeout=WAIT_MS):
        view.show_customer(cid)
    model = view.model
    model._wanted = (10_000, 10_020)  # what the view shows when the skipped answer lands
    with qtbot.wait_signal(model.page_loaded, timeout=WAIT_MS):
        model._on_page(model._generation, 2, None)
    assert model.entry_at(10_000) is not None


def test_expand_shows_full_detail_and_notes_can_be_added(
    qtbot: QtBot, engine: Engine, context: WorkspaceContext
) -> None:
    cid = add_customer(engine)
    add_interactions(engine, cid, 3)
    view = _view(qtbot, context)
    with qtbot.wait_signal(view.model.page_loaded, timeout=WAIT_MS):
        view.show_customer(cid)
    with qtbot.wait_signal(view.model.page_loaded, timeout=WAIT_MS):
        view.save_entry({"kind": "note", "notes": "Wants paper statements. " * 40_000})
    assert view.model.entry_count() == 4
    view.list.setCurrentIndex(view.model.index(0))
    view.list.expand_requested.emit(view.model.index(0))
    qtbot.wait_until(
        lambda: (
            "Wants paper statements." in view.detail.toPlainText()
            and "Loading" not in view.detail.toPlainText()
        ),
        timeout=WAIT_MS,
    )
    assert view.detail.isVisible()
