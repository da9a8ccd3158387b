"""Reports from the desktop and from `agentdesk report --pdf`: CSV and PDF with the chart."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pytest
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from agentdesk.cli import main
from agentdesk.models import Role
from agentdesk.services.platform.roles import PermissionDenied
from agentdesk.services.supervisor import SupervisorService
from agentdesk.services.supervisor.reports import COLUMNS as REPORT_COLUMNS
from agentdesk.services.supervisor.reports import GroupBy, Interval
from agentdesk.store.writer import LocalWriter
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.supervisor.live_model import LiveTableModel
from agentdesk.ui.supervisor.report_pdf import report_chart, write_report_pdf
from agentdesk.ui.supervisor.report_view import ReportRow, ReportWindow, _columns, _rows
from tests.supervisor.conftest import FakeSession
from tests.supervisor.history_log import LAST_WEEK, TODAY, make_queue_log
from tests.supervisor.simfloor import settings

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def queue_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_queue_log(tmp_path_factory.mktemp("ql") / "queue_log")


def pdf_pages(path: Path) -> int:
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    return len(re.findall(rb"/Type\s*/Page\b", data))


def test_cli_writes_csv_and_a_pdf_with_the_chart(
    queue_log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_pdf, out_csv = tmp_path / "report.pdf", tmp_path / "report.csv"
    args = ["report", "--queue-log", str(queue_log), "--from", f"{TODAY}", "--to", f"{TODAY}",
            "--tz", "UTC", "--csv", str(out_csv), "--pdf", str(out_pdf)]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    pages = int(re.search(r"wrote .*report\.pdf \((\d+) page", printed).group(1))  # type: ignore[union-attr]
    assert pages == pdf_pages(out_pdf) >= 1
    with out_csv.open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:3] == ["Line", "Interval start", "Interval end"]
    assert rows[-1][0] == "grand total" and int(rows[-1][4]) > 50  # offered over two hours


def test_report_chart_compares_the_last_day_with_a_week_before(
    queue_log: Path, supervisor: FakeSession, audit: LocalWriter
) -> None:
    config = settings(tz=dt.UTC).metrics
    svc_report = SupervisorService(supervisor, settings(tz=dt.UTC), audit=audit).report(
        queue_log, interval=Interval.MIN30, group_by=GroupBy.TOTAL,
        start=dt.datetime.combine(TODAY, dt.time.min, tzinfo=dt.UTC),
        end=dt.datetime.combine(TODAY + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC),
    )  # fmt: skip
    chart = report_chart(queue_log, svc_report, config)
    assert chart is not None and chart.today is not None and chart.reference is not None
    assert chart.today.day == TODAY and chart.reference.day == LAST_WEEK
    nine = chart.today.at(9 * 60)
    assert nine is not None and nine.offered > 0
    line = next(ln for ln in svc_report.lines if ln.row.start and ln.row.start.hour == 9
                and ln.row.start.minute == 0)  # fmt: skip
    assert nine.offered == line.row.offered  # the chart and the table are the same figures


def test_report_window_builds_and_exports(
    qtbot: QtBot,
    qtmodeltester: ModelTester,
    queue_log: Path,
    tmp_path: Path,
    supervisor: FakeSession,
    audit: LocalWriter,
) -> None:
    service = SupervisorService(supervisor, settings(tz=dt.UTC), audit=audit, queue_log=queue_log)
    bridge = Bridge()
    try:
        window = ReportWindow(service, bridge)
        qtbot.addWidget(window)
        window.date_from.setDate(TODAY)
        window.date_to.setDate(TODAY)
        window.group.setCurrentIndex(window.group.findData(GroupBy.AGENT))
        with qtbot.waitSignal(window.report_ready, timeout=30_000) as built:
            window.build.click()
            qtbot.waitUntil(lambda: "Reading" not in window.status.text(), timeout=30_000)
            assert "Could not" not in window.status.text(), window.status.text()
        report = built.args[0].report
        assert report.group_by is GroupBy.AGENT and report.lines
        model = window.table.source
        # The same model type, outside the window (which qtbot deletes before the tester ends).
        alone: LiveTableModel[ReportRow] = LiveTableModel(_columns(REPORT_COLUMNS), lambda r: r.key)
        qtmodeltester.check(alone, force_py=True)
        some = _rows(report)[-24:]  # a day's worth keeps the tester's full sweeps quick
        alone.set_rows(some)
        alone.set_rows(some[::2])
        assert model.rowCount() == len(report.lines) + len(report.totals) + 1
        assert model.index(model.rowCount() - 1, 0).data() == "grand total"
        assert window.chart.data is not None
        for export, name in ((window.export_csv, "r.csv"), (window.export_pdf, "r.pdf")):
            with qtbot.waitSignal(window.exported, timeout=30_000):
                export(tmp_path / name)
        assert pdf_pages(tmp_path / "r.pdf") >= 1
        assert (tmp_path / "r.csv").read_text().count("\n") == model.rowCount() + 1
    finally:
        bridge.shutdown()


def test_a_report_of_a_missing_file_says_so(
    qtbot: QtBot, tmp_path: Path, supervisor: FakeSession, audit: LocalWriter
) -> None:
    service = SupervisorService(supervisor, settings(), audit=audit)
    bridge = Bridge()
    try:
        window = ReportWindow(service, bridge)
        qtbot.addWidget(window)
        window.path.setText(str(tmp_path / "nope"))
        window.build.click()
        qtbot.waitUntil(lambda: "Could not build the report" in window.status.text())
        assert not window.export_pdf_button.isEnabled()
    finally:
        bridge.shutdown()


def test_an_agent_cannot_open_reports(
    qtbot: QtBot, supervisor: FakeSession, audit: LocalWriter
) -> None:
    service = SupervisorService(supervisor, settings(), audit=audit)
    supervisor.role = Role.AGENT
    bridge = Bridge()
    try:
        with pytest.raises(PermissionDenied):
            ReportWindow(service, bridge)
    finally:
        bridge.shutdown()


def test_an_empty_report_still_makes_a_pdf(tmp_path: Path, queue_log: Path) -> None:
    svc = SupervisorService(
        FakeSession("sam", "supervisor"),
        settings(tz=dt.UTC),  # type: ignore[arg-type]
        audit=None,
    )  # type: ignore[arg-type]
    day = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    empty = svc.report(queue_log, start=day, end=day + dt.timedelta(days=1))
    assert empty.lines == ()
    assert write_report_pdf(empty, tmp_path / "empty.pdf") == 1
    assert pdf_pages(tmp_path / "empty.pdf") == 1
