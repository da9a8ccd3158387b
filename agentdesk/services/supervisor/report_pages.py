"""What a report's PDF shows, whichever way it is drawn: page-one totals and a chart per queue.

Both PDFs walk these values: the desktop's export (QPdfWriter, ``ui/supervisor/report_pdf.py``)
and the e-mailed report (PDF operators without Qt, ``plain_pdf.py``). Page one
carries the KPI summary over the whole report (``reports.kpi_summary``) and one
line per local day (``day_table``); then comes one chart per queue
(``queue_charts``): offered, answered and abandoned calls per interval as bars,
the service level as a line on a 0-100 % axis. A chart's legend names only the
series that have data (``Chart.legend``): a queue without an abandoned call
has no "Abandoned" entry, and one never answered within anything has no SL line.
Qt-free: plain frozen values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from agentdesk.services.supervisor.history import IntervalSeries
from agentdesk.services.supervisor.reports import (
    GroupBy,
    Interval,
    Report,
    ReportLine,
    format_value,
)

# (key into ReportLine.value, header) of the day table; kinds come from the report's columns.
DAY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("offered", "Offered"),
    ("answered", "Answered"),
    ("abandoned", "Abandoned"),
    ("service_level", "SL %"),
    ("asa_s", "ASA s"),
    ("aht_s", "AHT s"),
    ("aht_talk_s", "AHT excl. wrap-up s"),
    ("abandon_rate", "Aband %"),
    ("max_wait_s", "Longest wait s"),
)
MAX_POINTS = 96  # a longer chart (a week at 15 minutes) is cut into several


class SeriesKind(StrEnum):
    """How a series is drawn: bars on the calls axis, or a line on the 0-100 % axis."""

    BARS = "bars"
    PERCENT = "percent"


@dataclass(frozen=True)
class Series:
    """One named series of a chart, one value per x position (None: no figure there)."""

    name: str
    kind: SeriesKind
    colour: str  # "#rrggbb"
    values: tuple[float | None, ...]
    dashed: bool = False

    @property
    def has_data(self) -> bool:
        """Anything to draw: a call counted, or a percentage defined somewhere."""
        if self.kind is SeriesKind.PERCENT:
            return any(v is not None for v in self.values)
        return any(v for v in self.values)


@dataclass(frozen=True)
class Chart:
    """One chart: a title, x labels and its series (bars side by side, then the lines)."""

    title: str
    labels: tuple[str, ...]
    series: tuple[Series, ...]
    target: float | None = None  # the service-level target, dotted across the % axis

    @property
    def legend(self) -> tuple[Series, ...]:
        """The series with data: the only ones drawn and named."""
        return tuple(s for s in self.series if s.has_data)

    @property
    def bars(self) -> tuple[Series, ...]:
        return tuple(s for s in self.legend if s.kind is SeriesKind.BARS)

    @property
    def lines(self) -> tuple[Series, ...]:
        return tuple(s for s in self.legend if s.kind is SeriesKind.PERCENT)

    @property
    def top(self) -> int:
        """The calls axis' top: a round number at or above the highest bar (at least 4)."""
        return nice_top(max((v or 0 for s in self.bars for v in s.values), default=0))

    def label_every(self, room: float, width: float) -> int:
        """Label every n-th x position so labels ``room`` wide fit in ``width``."""
        return max(1, math.ceil(len(self.labels) * room / max(width, 1.0)))


def nice_top(value: float) -> int:
    """A round axis top (quarters stay whole numbers) at or above ``value``."""
    if value <= 4:
        return 4
    magnitude = 10 ** math.floor(math.log10(value))
    for factor in (1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6, 8, 10):
        if value <= factor * magnitude and (factor * magnitude) % 4 == 0:
            return int(factor * magnitude)
    return int(12 * magnitude)


OFFERED, ANSWERED, ABANDONED = "#9aa3af", "#1f5fc4", "#b3261e"
SL_COLOUR, REFERENCE_COLOUR, TARGET_COLOUR = "#1b7a34", "#c9ced6", "#c26a00"


def _label(start: datetime | None, interval: Interval, several_days: bool) -> str:
    if start is None:
        return ""
    if interval is Interval.DAY:
        return f"{start:%d %b}"
    return f"{start:%d %b %H:%M}" if several_days else f"{start:%H:%M}"


def _chunks(n: int) -> list[range]:
    return [range(i, min(n, i + MAX_POINTS)) for i in range(0, n, MAX_POINTS)] or [range(0)]


def queue_charts(report: Report, target: float | None = None) -> tuple[Chart, ...]:
    """A chart per queue (one for all queues in a report by total; none in one by agent)."""
    if report.group_by is GroupBy.AGENT or not report.lines:
        return ()
    # From the first to the last interval with a call in any queue: every chart on one axis,
    # without the night's empty intervals (lines also exist for agents merely logged in).
    # Over several days only the intervals with calls: a week at 15 minutes is 672 slots.
    busy = {ln.row.start for ln in report.lines if ln.row.start and ln.row.offered}
    starts = sorted({ln.row.start for ln in report.lines if ln.row.start is not None})
    several_days = len({s.date() for s in starts}) > 1
    if busy:
        starts = sorted(busy) if several_days else [s for s in starts if s >= min(busy)]
        starts = [s for s in starts if s <= max(busy)]
    labels = [_label(s, report.interval, several_days) for s in starts]
    groups = [str(t.value("group")) for t in report.totals] or ["all"]
    charts = []
    for group in groups:
        by_start = {ln.row.start: ln for ln in report.lines if str(ln.value("group")) == group}
        for part in _chunks(len(starts)):
            lines = [by_start.get(starts[i]) for i in part]
            name = "All queues" if report.group_by is GroupBy.TOTAL else f"Queue {group}"
            more = f" ({labels[part[0]]} - {labels[part[-1]]})" if len(starts) > MAX_POINTS else ""
            title = f"{name}: calls per interval{more}"
            charts.append(Chart(title, tuple(labels[i] for i in part), _series(lines), target))
    return tuple(charts)


def _series(lines: Sequence[ReportLine | None]) -> tuple[Series, ...]:
    def values(key: str) -> tuple[float | None, ...]:
        out: list[float | None] = []
        for line in lines:
            value = line.value(key) if line is not None else None
            out.append(float(value) if isinstance(value, int | float) else None)
        return tuple(out)

    def counts(key: str) -> tuple[float | None, ...]:
        return tuple(v or 0.0 for v in values(key))

    return (
        Series("Offered", SeriesKind.BARS, OFFERED, counts("offered")),
        Series("Answered", SeriesKind.BARS, ANSWERED, counts("answered")),
        Series("Abandoned", SeriesKind.BARS, ABANDONED, counts("abandoned")),
        Series("SL %", SeriesKind.PERCENT, SL_COLOUR, values("service_level")),
    )


def comparison_chart(
    today: IntervalSeries, before: IntervalSeries | None, target: float | None, title: str
) -> Chart:
    """All queues' day against the same weekday a week earlier, as one chart."""
    minutes = sorted({p.minute_of_day for s in (today, before) if s for p in s.points})
    labels = tuple(f"{m // 60:02d}:{m % 60:02d}" for m in minutes)
    day, ref = f"{today.day:%d %b}", f"{before.day:%d %b}" if before else "a week before"

    def pick(series: IntervalSeries | None, field: str) -> tuple[float | None, ...]:
        out: list[float | None] = []
        for minute in minutes:
            point = series.at(minute) if series is not None else None
            value = getattr(point, field) if point is not None else None
            out.append(float(value) if value is not None else None)
        return tuple(out)

    series = (
        Series(f"Offered {ref}", SeriesKind.BARS, REFERENCE_COLOUR, pick(before, "offered")),
        Series(f"Offered {day}", SeriesKind.BARS, OFFERED, pick(today, "offered")),
        Series(f"Answered {day}", SeriesKind.BARS, ANSWERED, pick(today, "answered")),
        Series(f"Abandoned {day}", SeriesKind.BARS, ABANDONED, pick(today, "abandoned")),
        Series(f"SL {day}", SeriesKind.PERCENT, SL_COLOUR, pick(today, "service_level")),
        Series(f"SL {ref}", SeriesKind.PERCENT, REFERENCE_COLOUR,
               pick(before, "service_level"), dashed=True),
    )  # fmt: skip
    return Chart(title, labels, series, target)


def legend_entries(chart: Chart) -> list[tuple[str, str, str]]:
    """(colour, label, swatch) per legend entry: the series with data, then the target when
    a percentage line is drawn; swatch is "box", "solid", "dash" or "dot"."""
    out = []
    for series in chart.legend:
        if series.kind is SeriesKind.BARS:
            out.append((series.colour, series.name, "box"))
        else:
            out.append((series.colour, series.name, "dash" if series.dashed else "solid"))
    if chart.lines and chart.target is not None:
        out.append((TARGET_COLOUR, f"SL target {chart.target:.0%}", "dot"))
    return out


def day_table(report: Report) -> tuple[tuple[str, ...], list[list[str]]]:
    """Page one's table: headers, then one row per local day and, for several, their total."""
    kinds = {c.key: c.kind for c in report.columns}
    headers = ("Day", *(header for _key, header in DAY_COLUMNS))

    def cells(line: ReportLine, label: str) -> list[str]:
        return [label, *(format_value(line.value(k), kinds[k]) for k, _h in DAY_COLUMNS)]

    rows = [cells(ln, f"{ln.row.start:%a %d %b %Y}" if ln.row.start else "") for ln in report.days]
    if len(rows) != 1:
        rows.append(cells(report.grand_total, "all days" if rows else "total"))
    return headers, rows
