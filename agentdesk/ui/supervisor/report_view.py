"""Historical reports in the desktop: pick a period, interval and grouping; export.

Signed in to a server, the report comes from the server's stored queue records
(``GET /supervisor/reports``): the records the wallboard counted, under the
board's definitions, so the supervisor sees the wallboard's figures (one
source). Without a server (a lab desk) it is read from a queue_log file picked
here, under the wallboard's own service-level definition. Either way it is
built on a worker, shown as a table with the interval chart above it, and
exported to CSV or to PDF (with the chart).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QDate, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from agentdesk.services.platform.roles import Capability, require
from agentdesk.services.supervisor import SupervisorService
from agentdesk.services.supervisor.history import IntervalSeries, shift_week
from agentdesk.services.supervisor.reports import COLUMNS as REPORT_COLUMNS
from agentdesk.services.supervisor.reports import (
    Column,
    GroupBy,
    Interval,
    Report,
    ReportLine,
    format_value,
    write_csv,
)
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.shell_widgets import fit_columns
from agentdesk.ui.supervisor.charts import ChartData, IntervalChart
from agentdesk.ui.supervisor.live_model import LiveColumn
from agentdesk.ui.supervisor.panels import live_table, place_on_screen
from agentdesk.ui.supervisor.report_pdf import report_chart, write_report_pdf


class ReportSource(Protocol):
    """Reports over the server's queue records (``client.queue_reports.ServerReports``)."""

    def report(
        self, start: dt.date, end: dt.date, *, interval: Interval, group_by: GroupBy
    ) -> Report: ...

    def series(self, day: dt.date, interval: Interval) -> IntervalSeries: ...


HEADING_SCALE = 0.85  # the headings' font against the cells': 22 columns in 1366 px
LINE_COLUMN = 0  # the table's "Line" column: interval start, "total" or "grand total"
GROUP_COLUMN = 1  # "Queue/agent": the queue's or the agent's name

SERVER_SOURCE = (
    "Figures from the server's queue records: the calls the wallboard counted, under its "
    "definitions."
)


@dataclass(frozen=True)
class ReportRow:
    """One table line: interval line, group total or grand total."""

    label: str
    line: ReportLine

    @property
    def key(self) -> tuple[str, str]:
        return self.label, self.line.value("group") or ""  # type: ignore[return-value]


@dataclass(frozen=True)
class BuiltReport:
    """A finished report and the chart drawn above it (None when it has no lines)."""

    report: Report
    chart: ChartData | None


def _rows(report: Report) -> list[ReportRow]:
    rows = []
    for line in report.lines:
        start = line.row.start.strftime("%Y-%m-%d %H:%M") if line.row.start else ""
        rows.append(ReportRow(start, line))
    rows += [ReportRow("total", line) for line in report.totals]
    rows.append(ReportRow("grand total", report.grand_total))
    return rows


def _report_column(column: Column) -> LiveColumn[ReportRow]:
    def text(row: ReportRow, _now: float) -> str:
        return format_value(row.line.value(column.key), column.kind)

    def sort(row: ReportRow, _now: float) -> object:
        return row.line.value(column.key)

    # The tooltip says the heading in full where the table is too narrow for it (1366 px).
    return LiveColumn(
        two_lines(column.header), text, sort=sort, tooltip=column.header,
        numeric=column.kind.value != "text",
    )  # fmt: skip


def two_lines(heading: str) -> str:
    """``heading`` on two lines, broken at the space or slash nearest its middle
    ("Ring\\ncancelled", "Queue/\\nagent", the unit under "SL"): twenty-odd columns then
    nearly fit a 1366 px screen with their headings whole."""
    breaks = [i for i, ch in enumerate(heading) if ch in " /"]
    if not breaks:
        return heading
    at = min(breaks, key=lambda i: abs(len(heading) - 2 * i))
    if heading[at] == "/":
        return f"{heading[: at + 1]}\n{heading[at + 1 :]}"
    return f"{heading[:at]}\n{heading[at + 1 :]}"


def _columns(report_columns: tuple[Column, ...]) -> list[LiveColumn[ReportRow]]:
    line = LiveColumn[ReportRow]("Line", lambda r, _n: r.label, tooltip="Line")
    columns: list[LiveColumn[ReportRow]] = [line]
    columns += [_report_column(c) for c in report_columns if c.in_summary and c.key != "start"]
    return columns


def _queue_log_problem(text: str) -> str:
    """Why ``text`` cannot be read as a queue_log, in words ("" when it can be tried)."""
    if not text:
        return (
            "No queue_log is connected to this desktop. Reports are built from the PBX's "
            "queue_log (Asterisk writes /var/log/asterisk/queue_log): choose the file with "
            "Browse…, or set AGENTDESK_QUEUE_LOG before starting agentdesk. The wallboard's "
            "live figures do not need it."
        )
    path = Path(text)
    if path.is_dir():
        return (
            f"Could not build the report: {path} is a folder; choose the queue_log file "
            "inside it (Browse…)."
        )
    if not path.exists():
        return f"Could not build the report: there is no file {path}; choose the PBX's queue_log."
    return ""


def server_chart(
    server: ReportSource, report: Report, day: dt.date, sl_target: float
) -> ChartData | None:
    """The chart over the server's records: ``day`` against the same weekday a week earlier."""
    if not report.lines:
        return None
    interval = Interval.MIN30 if report.interval is Interval.DAY else report.interval
    today, before = server.series(day, interval), server.series(shift_week(day), interval)
    return ChartData(
        today, before if before.points else None, sl_target,
        title=f"Calls per interval on {day:%a %d %b %Y} vs {shift_week(day):%a %d %b}",
        today_label=f"{day:%d %b}", reference_label=f"{shift_week(day):%d %b}",
    )  # fmt: skip


def _day(edit: QDateEdit) -> dt.date:
    picked = edit.date()
    return dt.date(picked.year(), picked.month(), picked.day())


class ReportWindow(QMainWindow):
    """Build, read and export a historical report."""

    report_ready = Signal(object)  # BuiltReport
    failed = Signal(str)  # why no report was built, in words
    exported = Signal(str)  # path written

    def __init__(
        self,
        service: SupervisorService,
        bridge: Bridge,
        parent: QWidget | None = None,
        *,
        server: ReportSource | None = None,
    ) -> None:
        require(service.session, Capability.VIEW_REPORTS)
        super().__init__(parent)
        self.setWindowTitle("agentdesk — queue reports")
        self.service, self._bridge, self.server = service, bridge, server
        self.built: BuiltReport | None = None
        self._build_controls()
        self.chart = IntervalChart(self)
        # Every report has the same columns (reports.COLUMNS): one table, rows replaced.
        self.table = live_table(_columns(REPORT_COLUMNS), lambda r: r.key, self)
        self.table.setSortingEnabled(False)
        self.table.setWordWrap(False)  # "2026-12-04 09:00" on one line, never two
        # Every column inside the table, the line (date and time) and the queue or agent
        # uncut; the figures share the rest (a heading cut short has its words in its tooltip).
        header = self.table.horizontalHeader()
        header.setSortIndicatorShown(False)  # not sortable: no room kept for the arrow
        small = header.font()
        small.setPointSizeF(small.pointSizeF() * HEADING_SCALE)
        header.setFont(small)
        self._fitter = fit_columns(self.table, whole=(LINE_COLUMN, GROUP_COLUMN))
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.chart)
        split.addWidget(self.table)
        root = QWidget(self)
        layout = QVBoxLayout(root)
        layout.addLayout(self.controls)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)
        self.setCentralWidget(root)
        place_on_screen(self, QSize(1200, 760))  # smaller on a 1366x768 screen, and on it
        # The first field would get the focus on opening with its year selected (typing
        # would replace it): the window opens on the Build button instead.
        self.build.setFocus(Qt.FocusReason.OtherFocusReason)
        self._connect_signals()

    def _build_controls(self) -> None:
        self.path = QLineEdit(str(self.service.queue_log or ""), self)
        self.path.setPlaceholderText("queue_log file (Asterisk's /var/log/asterisk/queue_log)")
        self.browse = QPushButton("Browse…", self)
        today = QDate.currentDate()
        self.date_from, self.date_to = QDateEdit(today, self), QDateEdit(today, self)
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        self.interval = QComboBox(self)
        for interval, label in ((Interval.MIN15, "15 min"), (Interval.MIN30, "30 min"),
                                (Interval.MIN60, "60 min"), (Interval.DAY, "day")):  # fmt: skip
            self.interval.addItem(label, interval)
        self.interval.setCurrentIndex(1)
        self.group = QComboBox(self)
        for group in GroupBy:
            self.group.addItem(f"per {group.value}", group)
        self.build = QPushButton("Build report", self)
        self.export_csv_button = QPushButton("Export CSV…", self)
        self.export_pdf_button = QPushButton("Export PDF…", self)
        for button in (self.export_csv_button, self.export_pdf_button):
            button.setEnabled(False)
        self.status = QLabel(self.service.settings.definition.describe(), self)
        self.status.setWordWrap(True)
        # Two rows: one would make the window wider than a small screen (1366 px and less).
        source, choices = QHBoxLayout(), QHBoxLayout()
        for widget in (self.path, self.browse, QLabel("from"), self.date_from, QLabel("to"),
                       self.date_to):  # fmt: skip
            source.addWidget(widget)
        source.setStretch(0, 1)
        for choice in (self.interval, self.group, self.build, self.export_csv_button,
                       self.export_pdf_button):  # fmt: skip
            choices.addWidget(choice)
        choices.addStretch(1)
        if self.server is not None:  # the server's records: no file to pick
            self.path.hide()
            self.browse.hide()
            self.status.setText(SERVER_SOURCE)
            source.setStretch(0, 0)
            source.addStretch(1)  # the dates stay their own size, at the left
        self.controls = QVBoxLayout()
        self.controls.addLayout(source)
        self.controls.addLayout(choices)

    def _connect_signals(self) -> None:
        self.browse.clicked.connect(self._on_browse_clicked)
        self.build.clicked.connect(self.build_report)
        self.export_csv_button.clicked.connect(self._on_export_csv_clicked)
        self.export_pdf_button.clicked.connect(self._on_export_pdf_clicked)

    # ------------------------------------------------------------------ building
    def build_report(self) -> None:
        if self.server is not None:
            self._build_from_server(self.server)
            return
        problem = _queue_log_problem(self.path.text().strip())
        if problem:
            self.status.setText(problem)
            self.failed.emit(problem)
            return
        path = Path(self.path.text().strip())
        tz = self.service.settings.metrics.tz
        start = dt.datetime.combine(_day(self.date_from), dt.time.min, tzinfo=tz)
        end = dt.datetime.combine(_day(self.date_to) + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        # Qt hands StrEnum item data back as plain str.
        interval = Interval(self.interval.currentData())
        group = GroupBy(self.group.currentData())
        self.status.setText(f"Reading {path} …")
        self.build.setEnabled(False)
        self._bridge.submit(
            self._make, path, interval, group, start, end, lane="central",
            on_done=self._on_report_built, on_error=self._on_failed,
        )  # fmt: skip

    def _build_from_server(self, server: ReportSource) -> None:
        first, last = _day(self.date_from), _day(self.date_to)
        interval = Interval(self.interval.currentData())
        group = GroupBy(self.group.currentData())
        self.status.setText("Asking the server for the report …")
        self.build.setEnabled(False)
        target = self.service.settings.metrics.service_level.target

        def make() -> BuiltReport:
            report = server.report(
                first, last + dt.timedelta(days=1), interval=interval, group_by=group
            )
            return BuiltReport(report, server_chart(server, report, last, target))

        self._bridge.submit(
            make, lane="central", on_done=self._on_report_built, on_error=self._on_failed
        )

    def _make(
        self, path: Path, interval: Interval, group: GroupBy, start: dt.datetime, end: dt.datetime
    ) -> BuiltReport:
        report = self.service.report(path, interval=interval, group_by=group, start=start, end=end)
        chart = report_chart(path, report, self.service.settings.metrics) if report.lines else None
        return BuiltReport(report, chart)

    def _on_report_built(self, built: BuiltReport) -> None:
        self.built = built
        self.build.setEnabled(True)
        self.table.source.set_rows(_rows(built.report))
        if built.chart is not None:
            self.chart.set_data(built.chart)
        if built.report.parse is not None:
            source = built.report.parse.describe()
        else:
            source = "the server's queue records (the wallboard's figures)"
        self.status.setText(f"{built.report.definition}   ·   {source}")
        for button in (self.export_csv_button, self.export_pdf_button):
            button.setEnabled(True)
        self.report_ready.emit(built)

    def _on_failed(self, exc: BaseException) -> None:
        self.build.setEnabled(True)
        self.status.setText(f"Could not build the report: {exc}")
        self.failed.emit(self.status.text())

    # ------------------------------------------------------------------ exporting
    def _on_browse_clicked(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "queue_log file", self.path.text())
        if name:
            self.path.setText(name)

    def _on_export_csv_clicked(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export CSV", "report.csv", "CSV (*.csv)")
        if name:
            self.export_csv(Path(name))

    def _on_export_pdf_clicked(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export PDF", "report.pdf", "PDF (*.pdf)")
        if name:
            self.export_pdf(Path(name))

    def export_csv(self, path: Path) -> None:
        if self.built is not None:
            report = self.built.report
            self._bridge.submit(
                write_csv, report, path, lane="local",
                on_done=lambda _r: self._on_exported(path), on_error=self._on_failed,
            )  # fmt: skip

    def export_pdf(self, path: Path) -> None:
        if self.built is not None:
            built, author = self.built, self.service.session.login
            self._bridge.submit(
                lambda: write_report_pdf(built.report, path, built.chart, author=author),
                lane="local", on_done=lambda _r: self._on_exported(path), on_error=self._on_failed,
            )  # fmt: skip

    def _on_exported(self, path: Path) -> None:
        self.status.setText(f"Wrote {path}")
        self.exported.emit(str(path))
