"""A report as a PDF: day totals on page one, a chart per queue, then the table, paginated.

Drawn with QPdfWriter (no extra dependency). Page one: title, definition, the
KPI summary over the whole report (offered, answered, SL at 10/20/30/60 s, ASA,
AHT with and without wrap-up, abandon rate, longest wait, why calls went
unanswered) and one line per day (``report_pages.day_table``); then the day
against the same weekday a week earlier when the caller has it, and one chart
per queue (``report_pages.queue_charts``, drawn by ``report_charts``: legends
name only series with data); then the report's summary columns per interval.
Used by the desktop's report view and by ``agentdesk report --pdf``.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QGuiApplication,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
)
from PySide6.QtWidgets import QApplication

from agentdesk.services.supervisor.history import series_from_queue_log, shift_week
from agentdesk.services.supervisor.queue_metrics import MetricsConfig
from agentdesk.services.supervisor.report_pages import (
    Chart,
    comparison_chart,
    day_table,
    queue_charts,
)
from agentdesk.services.supervisor.reports import (
    Column,
    Interval,
    Report,
    ReportLine,
    format_value,
    kpi_summary,
)
from agentdesk.ui.supervisor.charts import ChartData
from agentdesk.ui.supervisor.report_charts import paint_report_chart

DPI = 150


@dataclass(frozen=True)
class _Cell:
    """One table cell of the PDF: its text and whether it is right-aligned."""

    text: str
    right: bool


def ensure_gui_application() -> QGuiApplication:
    """The running Qt application, or a new one (offscreen when there is no display)."""
    app = QGuiApplication.instance()
    if app is None:
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        # A QApplication (not only a QGuiApplication) so widgets can follow in the same process.
        app = QApplication([])
    assert isinstance(app, QGuiApplication)
    return app


def report_chart(path: str | Path, report: Report, config: MetricsConfig) -> ChartData | None:
    """The chart for a report: its last day against the same weekday a week earlier."""
    if report.end is None:
        return None
    last = report.end - dt.timedelta(seconds=1)
    day = last.astimezone(config.tz).date()
    interval = Interval.MIN30 if report.interval is Interval.DAY else report.interval
    today = series_from_queue_log(path, config, day, interval)
    before = series_from_queue_log(path, config, shift_week(day), interval)
    return ChartData(
        today, before if before.points else None, config.service_level.target,
        title=f"Calls per interval on {day:%a %d %b %Y} vs {shift_week(day):%a %d %b}",
        today_label=f"{day:%d %b}", reference_label=f"{shift_week(day):%d %b}",
    )  # fmt: skip


def _rows(report: Report, columns: list[Column]) -> list[tuple[list[_Cell], bool]]:
    """Table rows as text cells, flagged bold for totals."""
    out: list[tuple[list[_Cell], bool]] = []
    labelled: list[tuple[str | None, ReportLine, bool]] = [(None, ln, False) for ln in report.lines]
    labelled += [("total", ln, True) for ln in report.totals]
    labelled.append(("grand total", report.grand_total, True))
    for label, line, bold in labelled:
        cells = []
        for column in columns:
            text = format_value(line.value(column.key), column.kind)
            cells.append(_Cell(text, column.kind.value not in ("text",)))
        if label is not None:
            cells[0] = _Cell(label, False)
        elif line.row.start is not None:
            cells[0] = _Cell(line.row.start.strftime("%Y-%m-%d %H:%M"), False)
        out.append((cells, bold))
    return out


class _Pages:
    """Page geometry and the running y position on a QPdfWriter."""

    def __init__(self, writer: QPdfWriter, painter: QPainter) -> None:
        self.writer, self.painter = writer, painter
        self.width = writer.width()
        self.height = writer.height()
        self.unit = DPI / 72.0 * 9  # 9 pt body text, in device pixels
        self.y = 0.0
        self.page = 1

    def font(self, points: float, bold: bool = False) -> None:
        font = QFont("Helvetica")
        font.setPixelSize(int(DPI / 72.0 * points))
        font.setBold(bold)
        self.painter.setFont(font)

    def text(
        self, text: str, points: float, *, bold: bool = False, colour: str = "#1d2330"
    ) -> None:
        self.font(points, bold)
        self.painter.setPen(QColor(colour))
        rect = QRectF(0, self.y, self.width, self.height - self.y)
        flags = Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap
        bounds = self.painter.boundingRect(rect, int(flags), text)
        self.painter.drawText(rect, int(flags), text)
        self.y += bounds.height() + self.unit * 0.4

    def new_page(self) -> None:
        self.footer()
        self.writer.newPage()
        self.page += 1
        self.y = 0.0

    def footer(self) -> None:
        self.font(7)
        self.painter.setPen(QColor("#6b7280"))
        rect = QRectF(0, self.height - self.unit * 1.5, self.width, self.unit * 1.5)
        self.painter.drawText(rect, int(Qt.AlignmentFlag.AlignRight), f"page {self.page}")


def write_report_pdf(
    report: Report,
    path: str | Path,
    chart: ChartData | None = None,
    *,
    author: str = "",
    generated: dt.datetime | None = None,
) -> int:
    """Write ``report`` to ``path`` as an A4 landscape PDF; returns the number of pages."""
    ensure_gui_application()
    writer = QPdfWriter(str(path))
    writer.setResolution(DPI)
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Landscape,
            QMarginsF(12, 12, 12, 12),
            QPageLayout.Unit.Millimeter,
        )
    )
    writer.setTitle(report.title)
    writer.setCreator("agentdesk")
    painter = QPainter(writer)
    try:
        pages = _Pages(writer, painter)
        _head(pages, report, author, generated or dt.datetime.now().astimezone())
        _kpis(pages, report)
        headers, rows = day_table(report)
        pages.text("Day totals (all queues)", 10, bold=True)
        _plain_table(pages, headers, rows)
        for each in _charts(report, chart):
            bottom = pages.height - pages.unit * 2
            height = min(bottom / 2 - pages.unit, bottom - pages.y)  # page one's rest, if roomy
            if height < pages.height * 0.35:
                pages.new_page()
                height = bottom / 2 - pages.unit
            paint_report_chart(painter, QRectF(0, pages.y, pages.width, height), each,
                               pages.unit * 0.95)  # fmt: skip
            pages.y += height + pages.unit
        if pages.y + pages.unit * 8 > pages.height:  # not even a header and a few lines
            pages.new_page()
        _table(pages, report)
        pages.footer()
        return pages.page
    finally:
        painter.end()


def _charts(report: Report, chart: ChartData | None) -> list[Chart]:
    """The week comparison (when given) and a chart per queue."""
    out = []
    if chart is not None and chart.today is not None:
        out.append(comparison_chart(chart.today, chart.reference, chart.sl_target, chart.title))
    target = chart.sl_target if chart is not None else None
    return out + list(queue_charts(report, target))


def _kpis(pages: _Pages, report: Report) -> None:
    """The KPI summary as tiles, five to a row: label above, figure below."""
    pairs = [(label, value or "–") for label, value in kpi_summary(report)]
    per_row, gap = 5, pages.unit * 0.6
    width = (pages.width - gap * (per_row - 1)) / per_row
    height = pages.unit * 3.2
    painter = pages.painter
    for n, (label, value) in enumerate(pairs):
        x = (n % per_row) * (width + gap)
        y = pages.y + (n // per_row) * (height + gap)
        painter.fillRect(QRectF(x, y, width, height), QColor("#eef1f5"))
        pages.font(7.5)
        painter.setPen(QColor("#4a5260"))
        painter.drawText(QRectF(x + gap, y + gap * 0.5, width - 2 * gap, pages.unit * 1.3),
                         int(Qt.AlignmentFlag.AlignLeft), label)  # fmt: skip
        pages.font(13, bold=True)
        painter.setPen(QColor("#1d2330"))
        box = QRectF(x + gap, y + pages.unit * 1.3, width - 2 * gap, pages.unit * 1.9)
        painter.drawText(
            box, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), value
        )
    rows = -(-len(pairs) // per_row)
    pages.y += rows * (height + gap) + pages.unit * 0.6


def _plain_table(pages: _Pages, headers: tuple[str, ...], rows: list[list[str]]) -> None:
    """A small table of text (first column left, figures right), the last row bold if several."""
    painter = pages.painter
    pages.font(7.5, bold=True)
    metrics = painter.fontMetrics()
    pad = pages.unit * 0.5
    widths = [max(metrics.horizontalAdvance(r[i]) for r in (list(headers), *rows)) + 2 * pad
              for i in range(len(headers))]  # fmt: skip
    widths[0] += max(0.0, pages.width - sum(widths)) * 0.3
    scale = min(1.0, pages.width / sum(widths))
    widths = [w * scale for w in widths]
    line_h = metrics.height() + pad
    painter.fillRect(QRectF(0, pages.y, sum(widths), line_h), QColor("#eef1f5"))
    _cells(pages, [_Cell(h, i > 0) for i, h in enumerate(headers)], widths, line_h)
    pages.y += line_h
    for n, row in enumerate(rows):
        if pages.y + line_h > pages.height - pages.unit * 2:
            pages.new_page()
        pages.font(7.5, bold=len(rows) > 1 and n == len(rows) - 1)
        _cells(pages, [_Cell(c, i > 0) for i, c in enumerate(row)], widths, line_h)
        pages.y += line_h
    pages.y += pages.unit


def _head(pages: _Pages, report: Report, author: str, generated: dt.datetime) -> None:
    pages.text(report.title, 16, bold=True)
    span = ""
    if report.start and report.end:
        span = f"{report.start:%Y-%m-%d %H:%M} – {report.end:%Y-%m-%d %H:%M}"
    by = f" by {author}" if author else ""
    interval = "day" if report.interval is Interval.DAY else f"{report.interval.value} min"
    facts = [span, f"interval {interval}", f"one line per {report.group_by.value}",
             f"generated {generated:%Y-%m-%d %H:%M}{by}"]  # fmt: skip
    pages.text("   ·   ".join(f for f in facts if f), 8.5, colour="#4a5260")
    pages.text(report.definition, 8.5)
    if report.parse is not None:
        pages.text(f"queue_log: {report.parse.describe()}", 7.5, colour="#4a5260")


def _table(pages: _Pages, report: Report) -> None:
    columns = report.summary_columns()  # a queue report shows no agent-only columns
    rows = _rows(report, columns)
    painter = pages.painter
    pad = pages.unit * 0.5
    size = 7.5

    def measure() -> list[float]:
        pages.font(size, bold=True)
        bold = painter.fontMetrics()
        pages.font(size)
        plain = painter.fontMetrics()
        widths = []
        for i, column in enumerate(columns):
            advances = [bold.horizontalAdvance(column.header)]
            advances += [bold.horizontalAdvance(r[0][i].text) if r[1] else
                         plain.horizontalAdvance(r[0][i].text) for r in rows]  # fmt: skip
            widths.append(max(advances) + 2 * pad)
        return widths

    widths = measure()
    if sum(widths) > pages.width:  # a smaller font before squeezing cells into each other
        size = max(5.0, size * pages.width / sum(widths))
        widths = measure()
    scale = min(1.0, pages.width / sum(widths))
    widths = [w * scale for w in widths]
    metrics = painter.fontMetrics()
    line_h = metrics.height() + pad

    def header() -> None:
        pages.font(size, bold=True)
        painter.fillRect(QRectF(0, pages.y, pages.width, line_h), QColor("#eef1f5"))
        _cells(pages, [_Cell(c.header, c.kind.value != "text") for c in columns], widths, line_h)
        pages.y += line_h

    header()
    for index, (cells, is_total) in enumerate(rows):
        if pages.y + line_h > pages.height - pages.unit * 2:
            pages.new_page()
            header()
        if index % 2:
            painter.fillRect(QRectF(0, pages.y, pages.width, line_h), QColor("#f6f7f9"))
        pages.font(size, bold=is_total)
        _cells(pages, cells, widths, line_h)
        pages.y += line_h


def _cells(pages: _Pages, cells: list[_Cell], widths: list[float], height: float) -> None:
    painter, x, pad = pages.painter, 0.0, pages.unit * 0.5
    painter.setPen(QColor("#1d2330"))
    for cell, width in zip(cells, widths, strict=True):
        align = Qt.AlignmentFlag.AlignRight if cell.right else Qt.AlignmentFlag.AlignLeft
        rect = QRectF(x + pad, pages.y, width - 2 * pad, height)
        painter.drawText(rect, int(align | Qt.AlignmentFlag.AlignVCenter), cell.text)
        x += width


def export_pdf(
    report: Report, queue_log: str | Path, config: MetricsConfig, out: str | Path
) -> int:
    """``agentdesk report --pdf``: the report and its chart; returns the page count."""
    chart = report_chart(queue_log, report, config) if report.lines else None
    return write_report_pdf(report, out, chart)
