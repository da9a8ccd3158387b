"""Queue reports asked of the server: the figures the wallboard counted, in the report window.

``GET /supervisor/reports`` (``server/api/queue_reports.py``) builds the report
from the server's stored queue records under the board's own definitions; this
turns its JSON back into the :class:`~agentdesk.services.supervisor.reports.Report`
the report window, the CSV writer and the PDF writer already take, so a
supervisor's report and the wallboard come from one source. The interval chart
is two more reports of the same records (the last day, and the same weekday a
week earlier, all queues).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import TypeAdapter

from agentdesk.client.api import ServerApi
from agentdesk.services.supervisor.history import IntervalPoint, IntervalSeries
from agentdesk.services.supervisor.queue_metrics import MetricsRow
from agentdesk.services.supervisor.reports import COLUMNS, GroupBy, Interval, Report, ReportLine

_ROW = TypeAdapter(MetricsRow)


def _line(body: dict[str, Any]) -> ReportLine:
    fields = {k: v for k, v in body.items() if k != "required_agents"}
    return ReportLine(_ROW.validate_python(fields), body.get("required_agents"))


def _point(r: MetricsRow) -> IntervalPoint:
    assert r.start is not None
    return IntervalPoint(
        r.start, r.offered, r.answered, r.abandoned, r.service_level, r.aht_s, r.staffed_agents
    )


def _moment(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def report_from_json(body: dict[str, Any]) -> Report:
    """The server's report JSON as a :class:`Report` (``parse`` is None: no file was read)."""
    return Report(
        title=str(body["title"]),
        interval=Interval(body["interval"]),
        group_by=GroupBy(body["by"]),
        definition=str(body["definition"]),
        start=_moment(body.get("start")),
        end=_moment(body.get("end")),
        columns=COLUMNS,
        lines=tuple(_line(b) for b in body["lines"]),
        totals=tuple(_line(b) for b in body["totals"]),
        grand_total=_line(body["grand_total"]),
        parse=None,
        days=tuple(_line(b) for b in body.get("days", ())),
        notes=tuple(str(n) for n in body.get("notes", ())),
    )


class ServerReports:
    """Reports and interval series from the server's queue records (supervisors only)."""

    def __init__(self, api: ServerApi) -> None:
        self._api = api

    def report(
        self,
        start: dt.date,
        end: dt.date,
        *,
        interval: Interval = Interval.MIN30,
        group_by: GroupBy = GroupBy.QUEUE,
    ) -> Report:
        """[start, end): local days in the server board's time zone."""
        params = {
            "start": start.isoformat(), "end": end.isoformat(),
            "interval": interval.value, "by": group_by.value,
        }  # fmt: skip
        return report_from_json(self._api.request("GET", "/supervisor/reports", params=params))

    def series(self, day: dt.date, interval: Interval) -> IntervalSeries:
        """One day's calls per interval, all queues (the chart's data)."""
        report = self.report(day, day + dt.timedelta(days=1), interval=interval,
                             group_by=GroupBy.TOTAL)  # fmt: skip
        points = tuple(_point(line.row) for line in report.lines if line.row.start is not None)
        return IntervalSeries(day, "", interval, points)
