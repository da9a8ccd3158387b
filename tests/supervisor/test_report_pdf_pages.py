"""Both report PDFs (issue 15 item 3): day totals on page one, a chart per queue, legends
naming only series with data. The mailed PDF (no Qt) is read back from its own content
streams; the desktop's (QPdfWriter) with pdftotext where poppler is installed, and its chart
painter on an image."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QImage, QPainter

from agentdesk.services.supervisor.plain_pdf import report_pdf
from agentdesk.services.supervisor.report_pages import (
    ABANDONED,
    Chart,
    Series,
    SeriesKind,
    day_table,
    legend_entries,
    queue_charts,
)
from agentdesk.services.supervisor.reports import (
    GroupBy,
    Interval,
    Report,
    ReportLine,
    kpi_summary,
    report_from_queue_log,
)
from agentdesk.ui.supervisor.report_charts import paint_report_chart
from agentdesk.ui.supervisor.report_pdf import write_report_pdf
from tests.supervisor.history_log import TODAY, make_queue_log
from tests.supervisor.simfloor import settings

QUEUES = ["cards", "general", "german", "sales"]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    queue_log = make_queue_log(tmp_path_factory.mktemp("ql") / "queue_log")
    start = dt.datetime.combine(TODAY, dt.time.min, tzinfo=dt.UTC)
    return report_from_queue_log(
        queue_log, settings(tz=dt.UTC).metrics, interval=Interval.MIN30,
        group_by=GroupBy.QUEUE, start=start, end=start + dt.timedelta(days=1),
    )  # fmt: skip


def without_abandons(report: Report) -> Report:
    """The same report as if no caller had hung up waiting (every line's abandons at 0)."""

    def clear(line: ReportLine) -> ReportLine:
        return dataclasses.replace(line, row=dataclasses.replace(line.row, abandoned=0))

    return dataclasses.replace(report, lines=tuple(clear(ln) for ln in report.lines))


def page_streams(pdf: bytes) -> list[str]:
    """Each page's content stream of a plain_pdf file, in page order."""
    streams = re.findall(rb"stream\n(.*?)\nendstream", pdf, re.S)
    return [s.decode("latin-1") for s in streams]


def shown_text(stream: str) -> list[str]:
    return [re.sub(r"\\(.)", r"\1", t) for t in re.findall(r"\(((?:\\.|[^\\)])*)\) Tj", stream)]


# --- what both PDFs draw (Qt-free) -----------------------------------------------------------


def test_a_chart_per_queue_from_the_reports_own_figures(report: Report) -> None:
    charts = queue_charts(report, 0.8)
    assert [c.title for c in charts] == [f"Queue {q}: calls per interval" for q in QUEUES]
    assert charts[0].labels == ("09:00", "09:30", "10:00", "10:30")  # the night left out
    for chart, total in zip(charts, report.totals, strict=True):
        offered = next(s for s in chart.series if s.name == "Offered")
        assert sum(v or 0 for v in offered.values) == total.row.offered > 0
    assert queue_charts(dataclasses.replace(report, group_by=GroupBy.AGENT)) == ()


def test_the_legend_names_only_series_with_data() -> None:
    chart = Chart(
        "Queue x: calls per interval", ("09:00", "09:30"),
        (Series("Offered", SeriesKind.BARS, "#9aa3af", (3.0, 0.0)),
         Series("Answered", SeriesKind.BARS, "#1f5fc4", (2.0, 0.0)),
         Series("Abandoned", SeriesKind.BARS, ABANDONED, (0.0, 0.0)),
         Series("SL %", SeriesKind.PERCENT, "#1b7a34", (None, None))),
        target=0.8,
    )  # fmt: skip
    assert [label for _c, label, _k in legend_entries(chart)] == ["Offered", "Answered"]
    with_sl = dataclasses.replace(
        chart, series=(*chart.series[:3], dataclasses.replace(chart.series[3], values=(0.5, None)))
    )
    assert [label for _c, label, _k in legend_entries(with_sl)] == [
        "Offered", "Answered", "SL %", "SL target 80%",
    ]  # fmt: skip


# --- the mailed PDF (plain_pdf, no Qt) -------------------------------------------------------


def test_mailed_pdf_has_the_day_totals_on_page_one(report: Report) -> None:
    pages = page_streams(report_pdf(report, "Queue report - Mon 23 Nov 2026"))
    first = shown_text(pages[0])
    for label, value in kpi_summary(report):
        assert label in first and (value or "-") in first, label
    assert "Day totals (all queues)" in first
    _headers, rows = day_table(report)
    day_line = next(t for t in first if t.startswith(rows[0][0]))
    assert day_line.split()[4:7] == rows[0][1:4]  # offered, answered, abandoned
    assert "page 1 of" in first[-1]


def test_mailed_pdf_draws_a_chart_per_queue_and_no_empty_series(report: Report) -> None:
    pages = page_streams(report_pdf(report, "Queue report", sl_target=0.8))
    texts = [t for stream in pages for t in shown_text(stream)]
    for queue in QUEUES:
        assert texts.count(f"Queue {queue}: calls per interval") == 1
    assert texts.count("SL target 80%") == len(QUEUES)  # each chart has an SL line
    red_bars = sum(len(re.findall(r"0\.702 0\.149 0\.118 rg [\d. ]+ re f", s)) for s in pages)
    legends = [shown_text(s[s.index("calls per interval") :]) for s in pages if "per interval" in s]
    assert red_bars > 0 and any("Abandoned" in words for words in legends)
    calm = page_streams(report_pdf(without_abandons(report), "Queue report"))
    chart_pages = [s for s in calm if "calls per interval" in s]
    assert all(
        "Abandoned" not in shown_text(s[s.index("calls per interval") :]) for s in chart_pages
    )  # no legend entry after any chart's title
    assert not any(re.search(r"0\.702 0\.149 0\.118 rg [\d. ]+ re f", s) for s in calm)


# --- the desktop's PDF (QPdfWriter) ----------------------------------------------------------


@pytest.mark.gui
def test_desktop_chart_draws_no_empty_series(qapp: object, report: Report) -> None:
    def reds(chart: Chart) -> int:
        image = QImage(900, 400, QImage.Format.Format_RGB32)
        image.fill(QColor("#ffffff"))
        painter = QPainter(image)
        paint_report_chart(painter, QRectF(0, 0, 900, 400), chart, 12.0)
        painter.end()
        red = QColor(ABANDONED).rgb()
        return sum(image.pixel(x, y) == red for x in range(0, 900, 2) for y in range(0, 400, 2))

    assert reds(queue_charts(report)[1]) > 0  # general: callers gave up at 10:00 and 10:30
    assert reds(queue_charts(without_abandons(report))[1]) == 0  # no bar and no swatch


@pytest.mark.gui
@pytest.mark.skipif(
    shutil.which("pdftotext") is None and not os.environ.get("CI"),
    reason="needs poppler's pdftotext (scripts/bootstrap installs it; never skipped in CI)",
)
def test_desktop_pdf_has_the_day_totals_on_page_one_and_a_chart_per_queue(
    qapp: object, report: Report, tmp_path: Path
) -> None:
    out = tmp_path / "report.pdf"
    pages = write_report_pdf(report, out)

    def text(page: int) -> str:
        args = ["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(out), "-"]
        return subprocess.run(args, capture_output=True, text=True, check=True).stdout

    first = text(1)
    for label, value in kpi_summary(report):
        assert label in first and (value or "–") in first, label
    assert "Day totals (all queues)" in first and day_table(report)[1][0][0] in first
    everything = "".join(text(n) for n in range(1, pages + 1))
    for queue in QUEUES:
        assert everything.count(f"Queue {queue}: calls per interval") == 1


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> Report:
    queue_log = make_queue_log(tmp_path_factory.mktemp("wk") / "queue_log")
    return report_from_queue_log(
        queue_log, settings(tz=dt.UTC).metrics, interval=Interval.MIN15, group_by=GroupBy.TOTAL
    )


def test_a_week_charts_only_the_intervals_with_calls(week: Report) -> None:
    (chart,) = queue_charts(week)
    assert chart.title == "All queues: calls per interval"
    assert len(chart.labels) == 16 and chart.labels[0].endswith("09:00")  # 2 mornings x 8
    assert len({label.split(" ")[0] for label in chart.labels}) == 2  # dated: two days
    headers, rows = day_table(week)
    assert headers[0] == "Day" and rows[-1][0] == "all days"
    assert len(rows) == 9 and rows[0][0].startswith("Mon") and rows[-2][0].startswith("Mon")
