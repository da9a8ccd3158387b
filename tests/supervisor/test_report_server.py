"""The desktop's Reports window, signed in to a server: the server's queue records, one source.

alice (supervisor) builds the day's report from the window; the figures are the
ones the server computes from ``queue_record`` (what the wallboard counted), the
queue_log file picker is gone, and the CSV export carries the same figures.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QDate
from pytestqt.qtbot import QtBot

from agentdesk.client.queue_reports import ServerReports
from agentdesk.server.cti.queue_store import report_from_db
from agentdesk.services.supervisor import SupervisorService, load_settings
from agentdesk.services.supervisor.reports import GroupBy, Interval
from agentdesk.store.writer import LocalWriter
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.supervisor.report_view import BuiltReport, ReportWindow
from tests.server.conftest import Desktop, RunningServer, desktop, server  # noqa: F401
from tests.server.test_abandoned_api import DAY, staff, store  # noqa: F401
from tests.supervisor.conftest import FakeSession

pytestmark = pytest.mark.gui


@pytest.fixture
def bridge(qapp: object) -> Iterator[Bridge]:
    bridge = Bridge()
    yield bridge
    bridge.shutdown(wait=True)


@pytest.mark.parametrize("central", ["sqlite"], indirect=True)
def test_the_report_window_shows_the_servers_figures_for_the_day(
    qtbot: QtBot,
    bridge: Bridge,
    server: RunningServer,  # noqa: F811
    desktop: Callable[..., Desktop],  # noqa: F811
    staff: None,  # noqa: F811
    supervisor: FakeSession,
    audit: LocalWriter,
    tmp_path: Path,
) -> None:
    store(server)
    settings = load_settings()
    service = SupervisorService(supervisor, settings, audit=audit, queue_log=None)
    reports = ServerReports(desktop("alice", fill=False).api)
    window = ReportWindow(service, bridge, server=reports)
    qtbot.addWidget(window)
    assert window.path.isHidden() and window.browse.isHidden()  # no file to pick
    assert "server's queue records" in window.status.text()
    day = QDate(DAY.year, DAY.month, DAY.day)
    window.date_from.setDate(day)
    window.date_to.setDate(day)
    window.group.setCurrentIndex(window.group.findData(GroupBy.QUEUE))
    with qtbot.waitSignal(window.report_ready, timeout=15_000) as ready:
        window.build.click()
    built = ready.args[0]
    assert isinstance(built, BuiltReport)

    tz = settings.metrics.tz
    start = dt.datetime.combine(DAY.date(), dt.time.min, tzinfo=tz)
    expected = report_from_db(
        server.engine, settings.metrics, ["lab"], start, start + dt.timedelta(days=1),
        interval=Interval.MIN30, group_by=GroupBy.QUEUE,
    )  # fmt: skip
    got = built.report
    assert got.grand_total.row == expected.grand_total.row  # the server's figures, exactly
    assert [ln.row for ln in got.lines] == [ln.row for ln in expected.lines]
    assert got.grand_total.row.offered == 5 and got.grand_total.row.abandoned == 4
    assert got.parse is None and "wallboard" in window.status.text()
    assert window.table.source.rowCount() == len(got.lines) + len(got.totals) + 1
    assert built.chart is not None and built.chart.today is not None
    assert sum(p.offered for p in built.chart.today.points) == 5

    out = tmp_path / "day.csv"
    with qtbot.waitSignal(window.exported, timeout=10_000):
        window.export_csv(out)
    with out.open() as handle:
        rows = list(csv.reader(handle))
    assert rows[-1][0] == "grand total" and int(rows[-1][4]) == 5


@pytest.mark.parametrize("central", ["sqlite"], indirect=True)
def test_a_server_refusal_is_shown_in_words(
    qtbot: QtBot,
    bridge: Bridge,
    server: RunningServer,  # noqa: F811
    desktop: Callable[..., Desktop],  # noqa: F811
    supervisor: FakeSession,
    audit: LocalWriter,
) -> None:
    # bob is an agent: the server refuses him reports whatever the desktop thinks.
    service = SupervisorService(supervisor, load_settings(), audit=audit)
    window = ReportWindow(service, bridge, server=ServerReports(desktop("bob", fill=False).api))
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.failed, timeout=15_000) as failed:
        window.build.click()
    assert failed.args[0].startswith("Could not build the report:")
    assert window.build.isEnabled()
