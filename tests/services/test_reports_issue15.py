"""Issue 15 item 2 and 3: report fixes and what a manager expects, each failing before."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from agentdesk.cli import main
from agentdesk.services.supervisor.erlang import (
    StaffingInfeasibleError,
    StaffingTarget,
    required_agents,
)
from agentdesk.services.supervisor.queue_log import QueueLogReader
from agentdesk.services.supervisor.queue_metrics import MetricsConfig
from agentdesk.services.supervisor.reports import (
    GroupBy,
    Interval,
    build_report,
    build_store,
    distribution_rows,
    format_text,
    kpi_summary,
    pause_rows,
    report_from_queue_log,
)

T0 = 1709542800  # 2024-03-04 09:00 UTC
CONFIG = MetricsConfig(tz=UTC)
BASIC = Path(__file__).parent / "fixtures" / "queue_log" / "basic_day.log"


def write(tmp_path: Path, rows: list[tuple[int, str, str, str, str, str]]) -> Path:
    path = tmp_path / "queue_log"
    path.write_text("".join(f"{T0 + t}|{c}|{q}|{a}|{e}|{d}\n" for t, c, q, a, e, d in rows))
    return path


def test_agent_time_runs_to_the_end_of_the_period_not_the_last_line(tmp_path: Path) -> None:
    path = write(tmp_path, [
        (0, "NONE", "q", "alice", "ADDMEMBER", ""),
        (3600, "NONE", "q", "alice", "PAUSE", "Break"),
        (7200, "c1", "q", "NONE", "ENTERQUEUE", "|1|1"),  # the file's last line: 11:00
    ])  # fmt: skip
    day_end = datetime(2024, 3, 5, tzinfo=UTC)
    report = report_from_queue_log(
        path, CONFIG, interval=Interval.DAY, group_by=GroupBy.AGENT,
        end=day_end, now=day_end.timestamp() + 3600,
    )  # fmt: skip
    (alice,) = report.lines
    assert alice.row.logged_in_s == 15 * 3600  # 09:00 to midnight, not to 11:00
    assert alice.row.paused_s == 14 * 3600
    # … but never past now: a report of today stops at the clock.
    today = report_from_queue_log(
        path, CONFIG, interval=Interval.DAY, group_by=GroupBy.AGENT, end=day_end, now=T0 + 4 * 3600
    )
    assert today.lines[0].row.logged_in_s == 4 * 3600
    # Without --to: to the end of the last record's day.
    open_ended = report_from_queue_log(
        path, CONFIG, interval=Interval.DAY, group_by=GroupBy.AGENT, now=day_end.timestamp() + 99
    )
    assert open_ended.lines[0].row.logged_in_s == 15 * 3600


def test_agent_calls_count_when_the_agent_connected(tmp_path: Path) -> None:
    path = write(tmp_path, [
        (1780, "c1", "q", "NONE", "ENTERQUEUE", "|1|1"),  # 09:29:40
        (1790, "c1", "q", "bob", "RINGNOANSWER", "5000"),  # 09:29:50
        (1800, "NONE", "q", "alice", "ADDMEMBER", ""),  # alice logs in at 09:30
        (1810, "c1", "q", "alice", "CONNECT", "30|b1|2"),  # 09:30:10
        (1900, "c1", "q", "alice", "COMPLETEAGENT", "30|90|1"),
        (1920, "c2", "q", "NONE", "ENTERQUEUE", "|1|1"),
        (1930, "c2", "q", "alice", "RINGCANCELED", "4000"),
        (1931, "c2", "q", "NONE", "ABANDON", "1|1|11"),
        (3600, "NONE", "q", "alice", "REMOVEMEMBER", ""),
    ])  # fmt: skip
    by_agent = report_from_queue_log(path, CONFIG, interval=Interval.MIN30, group_by=GroupBy.AGENT)
    alice = {line.row.start.strftime("%H:%M"): line.row for line in by_agent.lines  # type: ignore[union-attr]
             if line.row.agent == "alice"}  # fmt: skip
    assert list(alice) == ["09:30"]  # nothing in 09:00, before she logged in
    row = alice["09:30"]
    assert (row.answered, row.handled, row.talk_s, row.completed_by_agent) == (1, 1, 90.0, 1)
    assert (row.presented, row.ring_cancelled) == (2, 1)
    bob = [line.row for line in by_agent.lines if line.row.agent == "bob"]
    rang = [(b.start.strftime("%H:%M"), b.ring_no_answers) for b in bob if b.start]
    assert [r for r in rang if r[1]] == [("09:00", 1)]  # at its own line
    # The queue's figures stay where the call entered the queue.
    by_queue = report_from_queue_log(path, CONFIG, interval=Interval.MIN30)
    first = next(line.row for line in by_queue.lines if line.row.start.minute == 0)  # type: ignore[union-attr]
    assert (first.offered, first.answered, first.handled, first.ring_no_answers) == (1, 1, 1, 1)


def test_pause_reasons_per_agent_and_queue_with_time_and_count(tmp_path: Path) -> None:
    path = write(tmp_path, [
        (0, "NONE", "q", "alice", "ADDMEMBER", ""),
        (0, "NONE", "q", "bob", "ADDMEMBER", ""),
        (100, "NONE", "q", "alice", "PAUSE", "Lunch"),
        (700, "NONE", "q", "alice", "UNPAUSE", ""),
        (800, "NONE", "q", "alice", "PAUSE", "Lunch"),
        (900, "NONE", "q", "alice", "PAUSE", "Coaching"),
        (1000, "NONE", "q", "alice", "UNPAUSE", ""),
        (1000, "NONE", "q", "bob", "PAUSE", "Break"),
        (1300, "NONE", "q", "bob", "UNPAUSE", ""),
        (1800, "NONE", "q", "alice", "REMOVEMEMBER", ""),
        (1800, "NONE", "q", "bob", "REMOVEMEMBER", ""),
    ])  # fmt: skip
    agents = report_from_queue_log(path, CONFIG, interval=Interval.DAY, group_by=GroupBy.AGENT)
    assert pause_rows(agents) == [
        ["alice", "Coaching", "1", "100", "12.5 %"],
        ["alice", "Lunch", "2", "700", "87.5 %"],
        ["bob", "Break", "1", "300", "100.0 %"],
    ]
    queues = report_from_queue_log(path, CONFIG, interval=Interval.DAY, group_by=GroupBy.QUEUE)
    assert [r[:4] for r in pause_rows(queues)] == [
        ["q", "Break", "1", "300"], ["q", "Coaching", "1", "100"], ["q", "Lunch", "2", "700"],
    ]  # fmt: skip
    assert "Pause reasons" in format_text(agents)


def test_a_100_percent_target_is_reported_as_unreachable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(StaffingInfeasibleError, match="cannot be reached"):
        required_agents(200, 1800, 300, StaffingTarget(service_level=1.0))
    with pytest.raises(StaffingInfeasibleError, match="cannot be reached"):
        required_agents(200, 1800, 300, StaffingTarget(service_level=1.0), patience_s=180)
    assert main(["report", "--forecast", "200", "--aht", "300", "--sl-target", "100"]) == 2
    captured = capsys.readouterr()
    assert "cannot be reached" in captured.err and "100.0" not in captured.out
    # In a queue report "Needed" stays empty and the report says why.
    config = MetricsConfig(tz=UTC)
    config = MetricsConfig(service_level=type(config.service_level)(target=1.0), tz=UTC)
    report = report_from_queue_log(BASIC, config, interval=Interval.MIN30)
    assert all(line.required_agents is None for line in report.lines)
    assert any("cannot be reached" in note for note in report.notes)


def test_erlang_a_prints_its_service_level_definition(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["report", "--forecast", "200", "--aht", "300", "--patience", "180"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Service level (Erlang A, mean patience 180 s): calls answered within 20 s" in out
    assert "÷ all offered calls" in out
    assert main(["report", "--forecast", "200", "--aht", "300"]) == 0
    assert "Service level (Erlang C)" in capsys.readouterr().out


def test_unanswered_calls_by_reason_withdraw_its_own(tmp_path: Path) -> None:
    path = write(tmp_path, [
        (0, "c1", "q", "NONE", "ENTERQUEUE", "|1|1"),
        (30, "c1", "q", "NONE", "WITHDRAW", "1|1|30|callback"),
        (40, "c2", "q", "NONE", "ENTERQUEUE", "|1|1"),
        (340, "c2", "q", "NONE", "EXITWITHTIMEOUT", "1|1|300"),
        (350, "c3", "q", "NONE", "ENTERQUEUE", "|1|1"),
        (351, "c3", "q", "NONE", "EXITEMPTY", "1|1|1"),
        (360, "c4", "q", "NONE", "ENTERQUEUE", "|1|1"),
        (370, "c4", "q", "NONE", "EXITWITHKEY", "5|1|1|10"),
        (380, "c5", "q", "NONE", "ENTERQUEUE", "|1|1"),
        (400, "c5", "q", "NONE", "ABANDON", "1|1|20"),
    ])  # fmt: skip
    report = report_from_queue_log(path, CONFIG, interval=Interval.DAY)
    row = report.grand_total.row
    assert (row.offered, row.abandoned, row.flowed_out) == (5, 1, 4)  # as before
    assert (row.withdrawn, row.timed_out, row.exit_empty, row.exit_key) == (1, 1, 1, 1)
    header = format_text(report).splitlines()[6]
    for title in ("Abandoned", "Timeout", "Exit empty", "Key press", "Withdrawn"):
        assert title in header


def test_kpi_summary_and_wait_distributions() -> None:
    report = report_from_queue_log(BASIC, CONFIG, interval=Interval.MIN30)
    kpis = dict(kpi_summary(report))
    # answered waits 30, 10, 40, 5; SL denominator 4 answered + 1 counted abandon
    assert (kpis["Offered"], kpis["Answered"]) == ("7", "4")
    assert (kpis["SL 10 s"], kpis["SL 20 s"], kpis["SL 30 s"], kpis["SL 60 s"]) == (
        "40.0 %", "40.0 %", "60.0 %", "80.0 %",
    )  # fmt: skip
    assert kpis["SL 20 s"] == f"{report.grand_total.row.service_level * 100:.1f} %"  # type: ignore[operator]
    assert kpis["ASA"] == "21.2 s"
    assert kpis["AHT"] == "375.0 s" and kpis["AHT excl. wrap-up"] == "375.0 s"
    assert (kpis["Abandon rate"], kpis["Longest wait"]) == ("16.7 %", "300.0 s")
    rows = {r[0]: r for r in distribution_rows(report.grand_total)}
    assert rows["0–5 s"][1:] == ["1", "25.0 %", "1", "50.0 %"]  # c7 answered, c2 abandoned
    assert rows["45–60 s"][3:] == ["1", "100.0 %"]  # c3 abandoned after 60 s
    assert rows["> 300 s"][2] == "100.0 %"
    text = format_text(report)
    assert text.index("Summary:") < text.index("Interval start")
    assert "Wait before answer / before abandoning" in text


def test_daily_and_queue_only_stores_give_the_same_figures() -> None:
    records = list(QueueLogReader().read_file(BASIC))
    fine = build_store(records, CONFIG)
    daily = build_store(records, CONFIG, interval=Interval.DAY, keep_agents=False)
    assert len(daily.cells) < len(fine.cells)
    for group in (GroupBy.QUEUE, GroupBy.TOTAL):
        a = build_report(fine, CONFIG, interval=Interval.DAY, group_by=group)
        b = build_report(daily, CONFIG, interval=Interval.DAY, group_by=group)
        assert [(x.row, x.required_agents) for x in a.lines] == [
            (y.row, y.required_agents) for y in b.lines
        ]
        assert a.grand_total.row == b.grand_total.row
    with pytest.raises(ValueError):
        build_report(daily, CONFIG, interval=Interval.MIN30)
    with pytest.raises(ValueError):
        build_report(daily, CONFIG, interval=Interval.DAY, group_by=GroupBy.AGENT)
