"""Per-interval series for the charts and the staffing panel: today vs the same weekday last week.

Today comes from the board's live quarter-hour cells; last week (and any
report day) from the queue_log file, read on a worker thread. Both go
through :func:`agentdesk.services.supervisor.reports.build_report`, so a chart bar and
a report line of the same interval are the same number. The staffing panel
puts Erlang C's "agents needed" for each interval (forecast: the same
weekday last week, or today's actual calls once the interval has passed)
beside the agents actually logged in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from agentdesk.services.supervisor.erlang import (
    ErlangInputError,
    StaffingInfeasibleError,
    StaffingTarget,
    required_agents,
)
from agentdesk.services.supervisor.queue_log import QueueLogReader, QueueLogRecord
from agentdesk.services.supervisor.queue_metrics import CellStore, MetricsConfig
from agentdesk.services.supervisor.reports import GroupBy, Interval, build_report, build_store

_MARGIN_S = 4 * 3600  # history read around a day: calls that span midnight, open pauses


@dataclass(frozen=True, slots=True)
class IntervalPoint:
    """Calls of one interval (by the time they entered the queue)."""

    start: dt.datetime
    offered: int
    answered: int
    abandoned: int
    service_level: float | None
    aht_s: float | None
    staffed: float | None

    @property
    def minute_of_day(self) -> int:
        return self.start.hour * 60 + self.start.minute


@dataclass(frozen=True)
class IntervalSeries:
    """One day's points for a queue ("" = all queues)."""

    day: dt.date
    queue: str
    interval: Interval
    points: tuple[IntervalPoint, ...]

    def at(self, minute_of_day: int) -> IntervalPoint | None:
        return next((p for p in self.points if p.minute_of_day == minute_of_day), None)


@dataclass(frozen=True, slots=True)
class StaffingRow:
    """Agents Erlang C asks for in one interval, beside the agents actually there."""

    start: dt.datetime
    forecast_calls: float
    aht_s: float | None
    required: int | None
    actual: float | None


def day_range(day: dt.date, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)


def series_from_store(
    store: CellStore, config: MetricsConfig, day: dt.date, interval: Interval, queue: str = ""
) -> IntervalSeries:
    """The day's intervals from quarter-hour cells."""
    start, end = day_range(day, config.tz)
    group = GroupBy.QUEUE if queue else GroupBy.TOTAL
    report = build_report(store, config, interval=interval, group_by=group, start=start, end=end)
    points = []
    for line in report.lines:
        row = line.row
        if (queue and row.queue != queue) or row.start is None:
            continue
        points.append(
            IntervalPoint(
                row.start, row.offered, row.answered, row.abandoned, row.service_level,
                row.aht_s, row.staffed_agents,
            )
        )  # fmt: skip
    return IntervalSeries(day, queue, interval, tuple(points))


def _around(records: Iterable[QueueLogRecord], lo: float, hi: float) -> Iterable[QueueLogRecord]:
    for record in records:
        if lo <= record.timestamp < hi:
            yield record


def series_from_queue_log(
    path: str | Path, config: MetricsConfig, day: dt.date, interval: Interval, queue: str = ""
) -> IntervalSeries:
    """The day's intervals from a queue_log file (streamed; raises OSError if unreadable)."""
    start, end = day_range(day, config.tz)
    reader = QueueLogReader()
    lo, hi = start.timestamp() - _MARGIN_S, end.timestamp() + _MARGIN_S
    store = build_store(_around(reader.read_file(path), lo, hi), config)
    return series_from_store(store, config, day, interval, queue)


def today_history(path: str | Path, config: MetricsConfig, now: float) -> list[QueueLogRecord]:
    """Today's queue_log records up to ``now``, to backfill a wallboard that just started."""
    day = dt.datetime.fromtimestamp(now, config.tz).date()
    start, _ = day_range(day, config.tz)
    reader = QueueLogReader()
    return list(_around(reader.read_file(path), start.timestamp() - _MARGIN_S, now))


def staffing_rows(
    today: IntervalSeries,
    reference: IntervalSeries | None,
    config: MetricsConfig,
    now: dt.datetime,
    default_aht_s: float = 300.0,
) -> tuple[StaffingRow, ...]:
    """Per interval of the day: forecast, Erlang C agents needed, agents actually staffed.

    Past intervals use today's actual calls and AHT (what was needed); later
    ones forecast from the reference day (the same weekday last week).
    """
    minutes = 1440 if today.interval is Interval.DAY else int(today.interval.value)
    span = minutes * 60
    target = StaffingTarget(config.service_level.target, config.service_level.threshold_s)
    start, _ = day_range(today.day, config.tz)
    rows = []
    for index in range(1440 // minutes):
        begin = start + dt.timedelta(minutes=index * minutes)
        actual = today.at(index * minutes)
        past = begin + dt.timedelta(minutes=minutes) <= now
        basis = actual if past else (reference.at(index * minutes) if reference else None)
        if basis is None and actual is None:
            continue
        calls = float(basis.offered) if basis else 0.0
        aht = (basis.aht_s if basis else None) or default_aht_s
        rows.append(
            StaffingRow(begin, calls, aht, _needed(calls, span, aht, target),
                        actual.staffed if actual else None)
        )  # fmt: skip
    return tuple(rows)


def _needed(calls: float, span: float, aht: float, target: StaffingTarget) -> int | None:
    try:
        return required_agents(calls, span, aht, target).agents
    except (ErlangInputError, StaffingInfeasibleError):
        return None


def shift_week(day: dt.date, weeks: int = 1) -> dt.date:
    return day - dt.timedelta(weeks=weeks)


def merge_days(series: Sequence[IntervalSeries]) -> tuple[int, ...]:
    """Every minute-of-day that has a point in any of the series, sorted (the chart's x axis)."""
    return tuple(sorted({p.minute_of_day for s in series for p in s.points}))
