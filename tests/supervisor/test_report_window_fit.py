"""The report window on a 1366x768 screen: the lines' date and time on one line, every column
inside the table (a heading too narrow for its words says them in its tooltip), and nothing
selected in the date fields when the window opens (typing would replace the year)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from agentdesk.services.supervisor import SupervisorService
from agentdesk.services.supervisor.history import IntervalSeries
from agentdesk.services.supervisor.reports import GroupBy, Report
from agentdesk.store.writer import LocalWriter
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.supervisor.panels import _RefitOnFirstShow
from agentdesk.ui.supervisor.report_view import ReportWindow
from tests.supervisor.conftest import FakeSession
from tests.supervisor.history_log import TODAY, make_queue_log
from tests.supervisor.simfloor import settings

pytestmark = pytest.mark.gui


class _Unused:
    """A server source the test never asks (the window opens without building)."""

    def report(self, *_args: object, **_kwargs: object) -> Report:
        raise AssertionError("not asked")

    def series(self, *_args: object) -> IntervalSeries:
        raise AssertionError("not asked")


@pytest.fixture
def window(
    request: pytest.FixtureRequest,
    qtbot: QtBot,
    tmp_path: Path,
    supervisor: FakeSession,
    audit: LocalWriter,
) -> Iterator[ReportWindow]:
    queue_log = make_queue_log(tmp_path / "queue_log")
    service = SupervisorService(supervisor, settings(tz=dt.UTC), audit=audit, queue_log=queue_log)
    bridge = Bridge()
    # The server's window has no file field: the "from" date is the first field there.
    server = _Unused() if getattr(request, "param", "queue_log") == "server" else None
    try:
        window = ReportWindow(service, bridge, server=server)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        # After the window's own fit to the (800x600 offscreen) screen, once shown.
        qtbot.waitUntil(lambda: not window.findChildren(_RefitOnFirstShow))
        window.resize(1280, 740)  # what place_on_screen gives on a 1366x768 screen
        qtbot.waitUntil(lambda: window.table.viewport().width() > 1100)
        yield window
    finally:
        bridge.shutdown()


def _built(qtbot: QtBot, window: ReportWindow) -> None:
    window.date_from.setDate(TODAY)
    window.date_to.setDate(TODAY)
    window.group.setCurrentIndex(window.group.findData(GroupBy.QUEUE))
    with qtbot.waitSignal(window.report_ready, timeout=30_000):
        window.build.click()


def test_the_line_column_shows_date_and_time_on_one_line(
    qtbot: QtBot, window: ReportWindow
) -> None:
    _built(qtbot, window)
    table, model = window.table, window.table.model()
    qtbot.waitUntil(lambda: table.horizontalHeader().sectionSize(0) > 0)
    first = model.index(0, 0).data()
    assert len(first) == len("2026-12-04 09:00")  # an interval line, date and time
    room = table.horizontalHeader().sectionSize(0)
    needed = table.fontMetrics().horizontalAdvance(first)
    assert room >= needed + 2 * table.style().pixelMetric(
        table.style().PixelMetric.PM_FocusFrameHMargin
    )
    assert room >= table.sizeHintForColumn(0)
    # One text line per row: no row is taller than the table's single-line rows.
    single = table.verticalHeader().defaultSectionSize()
    assert all(table.rowHeight(r) <= single for r in range(model.rowCount()))


def test_every_column_is_inside_the_table_and_cut_headings_have_tooltips(
    qtbot: QtBot, window: ReportWindow
) -> None:
    _built(qtbot, window)
    table, header = window.table, window.table.horizontalHeader()
    model = table.model()
    qtbot.waitUntil(lambda: header.sectionSize(0) > 0)
    shown = [c for c in range(header.count()) if not header.isSectionHidden(c)]
    right = max(header.sectionViewportPosition(c) + header.sectionSize(c) for c in shown)
    assert right <= table.viewport().width(), "a column runs past the table's right edge"
    assert header.sectionViewportPosition(shown[0]) == 0  # not scrolled sideways
    horizontal, tooltip = Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole
    for c in shown:
        words = " ".join(model.headerData(c, horizontal).split())  # a heading may take 2 lines
        if header.sectionSize(c) < header.sectionSizeHint(c):
            tip = model.headerData(c, horizontal, tooltip)
            assert tip == words, f"heading {words!r} is cut and has no tooltip"
    exit_empty = next(c for c in shown if model.headerData(c, horizontal, tooltip) == "Exit empty")
    assert header.sectionViewportPosition(exit_empty) + header.sectionSize(exit_empty) <= (
        table.viewport().width()
    )


@pytest.mark.parametrize("window", ["queue_log", "server"], indirect=True)
def test_no_date_text_is_selected_when_the_window_opens(qtbot: QtBot, window: ReportWindow) -> None:
    window.activateWindow()
    qtbot.waitUntil(lambda: window.focusWidget() is not None)
    for edit in (window.date_from, window.date_to):
        assert edit.lineEdit().selectedText() == "", edit.lineEdit().selectedText()
        assert not edit.hasFocus()
