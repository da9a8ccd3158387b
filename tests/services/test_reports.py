"""Report tables from queue_log files: intervals, grouping, date range, CSV, text, DST days."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agentdesk.services.supervisor.erlang import required_agents
from agentdesk.services.supervisor.queue_log import QueueLogReader
from agentdesk.services.supervisor.queue_metrics import MetricsConfig
from agentdesk.services.supervisor.reports import (
    GroupBy,
    Interval,
    Report,
    build_report,
    build_store,
    format_text,
    period_end,
    period_start,
    report_from_queue_log,
    write_csv,
)

FIXTURES = Path(__file__).parent / "fixtures" / "queue_log"
BASIC = FIXTURES / "basic_day.log"
UTC_CONFIG = MetricsConfig(tz=UTC)


def keyed(report: Report) -> dict[tuple[str, str], object]:
    return {
        (
            line.row.start.strftime("%H:%M") if line.row.start else "",
            line.row.queue or line.row.agent,
        ): line
        for line in report.lines
    }


def test_half_hour_lines_by_queue() -> None:
    report = report_from_queue_log(BASIC, UTC_CONFIG, interval=Interval.MIN30)
    lines = keyed(report)
    assert sorted(lines) == [
        ("09:00", "sales"),
        ("09:00", "support"),
        ("09:30", "sales"),
        ("09:30", "support"),
    ]
    support = lines[("09:00", "support")].row  # type: ignore[attr-defined]
    assert (support.offered, support.answered, support.abandoned) == (4, 2, 2)
    assert support.service_level == pytest.approx(1 / 3)
    assert support.end - support.start == (datetime(2024, 1, 1, 9, 30) - datetime(2024, 1, 1, 9))
    assert lines[("09:00", "support")].required_agents == 2  # type: ignore[attr-defined]
    late_sales = lines[("09:30", "sales")].row  # type: ignore[attr-defined]
    assert late_sales.offered == 0 and late_sales.logged_in_s == 1800.0  # bob is staffed, no calls
    assert lines[("09:30", "sales")].required_agents is None  # type: ignore[attr-defined]
    assert [t.row.queue for t in report.totals] == ["sales", "support"]
    assert report.grand_total.row.offered == 7
    assert report.parse is not None and report.parse.skipped == 0
    assert report.definition.startswith("Service level 80%/20 s")


def test_hour_lines_are_sums_of_quarter_hours() -> None:
    report = report_from_queue_log(BASIC, UTC_CONFIG, interval=Interval.MIN60)
    support = keyed(report)[("09:00", "support")].row  # type: ignore[attr-defined]
    assert (support.offered, support.answered, support.answered_within) == (6, 3, 2)
    assert support.service_level == pytest.approx(2 / 4)
    quarters = report_from_queue_log(BASIC, UTC_CONFIG, interval=Interval.MIN15)
    parts = [line.row for line in quarters.lines if line.row.queue == "support"]
    assert len(parts) == 4
    assert sum(p.offered for p in parts) == 6
    assert sum(p.logged_in_s for p in parts) == support.logged_in_s == 3600 + 3600


def test_staffing_beside_actuals_uses_erlang_c() -> None:
    report = report_from_queue_log(
        BASIC, UTC_CONFIG, interval=Interval.MIN60, group_by=GroupBy.TOTAL
    )
    (line,) = report.lines
    row = line.row
    assert row.staffed_agents == pytest.approx(2.0)
    assert row.aht_s is not None
    assert line.required_agents == required_agents(7, 3600, row.aht_s).agents


def test_lines_by_agent() -> None:
    report = report_from_queue_log(BASIC, UTC_CONFIG, interval=Interval.DAY, group_by=GroupBy.AGENT)
    lines = keyed(report)
    assert sorted(lines) == [("00:00", "alice"), ("00:00", "bob")]
    alice = lines[("00:00", "alice")]
    assert alice.row.paused_s == 1800.0  # type: ignore[attr-defined]
    assert alice.value("pause_by_reason") == "Lunch=1800"  # type: ignore[attr-defined]
    assert alice.required_agents is None  # type: ignore[attr-defined]
    assert lines[("00:00", "bob")].row.handled == 3  # type: ignore[attr-defined]
    assert alice.row.end - alice.row.start == (datetime(2024, 3, 5) - datetime(2024, 3, 4))  # type: ignore[attr-defined]


def test_date_range_keeps_whole_buckets_inside_it() -> None:
    start = datetime(2024, 3, 4, 9, 30, tzinfo=UTC)
    report = report_from_queue_log(BASIC, UTC_CONFIG, start=start)
    assert {line.row.start for line in report.lines} == {start}
    assert report.grand_total.row.offered == 2
    empty = report_from_queue_log(BASIC, UTC_CONFIG, end=datetime(2024, 3, 3, tzinfo=UTC))
    assert empty.lines == () and empty.grand_total.row.offered == 0


def test_csv_has_every_column_and_totals() -> None:
    report = report_from_queue_log(BASIC, UTC_CONFIG, interval=Interval.MIN30)
    out = io.StringIO()
    write_csv(report, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["Line"] for r in rows] == ["interval"] * 4 + ["total"] * 2 + ["grand total"]
    first_support = next(r for r in rows if r["Queue/agent"] == "support")
    assert first_support["Interval start"] == "2024-03-04T09:00:00+00:00"
    assert first_support["SL %"] == "33.3"
    assert first_support["ASA s"] == "20.0"
    assert first_support["Short abandons"] == "1"
    assert first_support["Needed"] == "2"
    assert first_support["Pause by reason s"] == "Lunch=900"
    grand = rows[-1]
    assert (grand["Queue/agent"], grand["Offered"], grand["SL %"]) == ("all", "7", "40.0")
    assert len(rows[0]) == len(report.columns) + 1


def test_csv_to_a_path(tmp_path: Path) -> None:
    report = report_from_queue_log(BASIC, UTC_CONFIG)
    write_csv(report, tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_text(encoding="utf-8").startswith("Line,Interval start,")


def test_text_summary() -> None:
    text = format_text(report_from_queue_log(BASIC, UTC_CONFIG, interval=Interval.MIN30))
    lines = text.splitlines()
    assert lines[0] == "Queue report: basic_day.log"
    assert lines[1].startswith("Service level 80%/20 s")
    assert lines[2] == "27 lines, 27 records, 0 skipped"
    # The KPI summary comes first, then the table.
    assert lines[4].startswith("Summary: Offered 7   Answered 4   SL 10 s 40.0 %")
    header = lines[6]
    for title in (
        "Interval start",
        "Queue/agent",
        "Offered",
        "SL %",
        "ASA s",
        "AHT s",
        "Occ %",
        "Needed",
    ):
        assert title in header
    assert any(line.startswith("2024-03-04 09:00  support") for line in lines)
    assert any(line.startswith("grand total") for line in lines)
    assert "Pause reasons" in lines
    assert any(line.split()[:4] == ["support", "Lunch", "1", "1800"] for line in lines)


def test_dst_day_in_local_time() -> None:
    london = ZoneInfo("Europe/London")
    day_start = int(datetime(2024, 3, 31, tzinfo=london).timestamp())  # clocks go forward at 01:00
    day_end = int(datetime(2024, 4, 1, tzinfo=london).timestamp())
    lines = [f"{day_start}|NONE|q|a|ADDMEMBER|", f"{day_end}|NONE|q|a|REMOVEMEMBER|"]
    config = MetricsConfig(tz=london)
    store = build_store(QueueLogReader().read_lines(lines), config)
    (day,) = build_report(store, config, interval=Interval.DAY).lines
    assert day.row.logged_in_s == 23 * 3600
    assert day.row.staffed_agents == pytest.approx(1.0)
    hours = build_report(store, config, interval=Interval.MIN60).lines
    assert len(hours) == 23
    assert [h.row.start.hour for h in hours[:3] if h.row.start] == [0, 2, 3]


def test_period_boundaries_follow_the_local_clock() -> None:
    kathmandu = MetricsConfig(tz=ZoneInfo("Asia/Kathmandu"))  # UTC+05:45
    bucket = int(datetime(2024, 3, 4, 10, 15, tzinfo=kathmandu.tz).timestamp())
    start = period_start(bucket, Interval.MIN60, kathmandu)
    assert (start.hour, start.minute) == (10, 0)
    assert period_end(start, Interval.MIN60, kathmandu).hour == 11
    assert period_start(bucket, Interval.MIN30, kathmandu).minute == 0
    assert period_start(bucket, Interval.MIN15, kathmandu).minute == 15
    assert period_start(bucket, Interval.DAY, kathmandu).hour == 0
