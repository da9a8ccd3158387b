"""``agentdesk report`` end to end through ``agentdesk.cli.main``."""

from __future__ import annotations

import csv
import gc
from pathlib import Path

import pytest

from agentdesk.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "queue_log"
BASIC = str(FIXTURES / "basic_day.log")


def test_report_prints_a_summary_and_writes_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.csv"
    code = main(
        ["report", "--queue-log", BASIC, "--tz", "UTC", "--interval", "30", "--csv", str(out)]
    )
    assert code == 0
    stdout = capsys.readouterr().out
    assert "Service level 80%/20 s" in stdout
    assert "2024-03-04 09:00  support" in stdout
    assert f"wrote {out}" in stdout
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert len(rows) == 7
    assert rows[-1]["Offered"] == "7"


def test_report_options_change_the_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "agents.csv"
    argv = ["report", "--queue-log", BASIC, "--tz", "UTC", "--interval", "day", "--by", "agent",
            "--sl-threshold", "5", "--short-abandon", "0", "--wrapup", "support=30",
            "--csv", str(out)]  # fmt: skip
    assert main(argv) == 0
    rows = {
        r["Queue/agent"]: r
        for r in csv.DictReader(out.read_text(encoding="utf-8").splitlines())
        if r["Line"] == "interval"
    }
    assert set(rows) == {"alice", "bob"}
    assert rows["bob"]["Wrap-up s"] == "60.0"  # two support calls × 30 s; sales has none
    assert rows["bob"]["Answered in SL"] == "1"  # only c7 (5 s) within 5 s
    assert "Service level 80%/5 s" in capsys.readouterr().out


def test_report_date_range(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "report",
        "--queue-log",
        BASIC,
        "--tz",
        "UTC",
        "--from",
        "2024-03-04T09:30",
        "--to",
        "2024-03-04",
    ]
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    assert "09:00  support" not in stdout
    assert "2024-03-04 09:30  support" in stdout


def test_malformed_lines_are_reported_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--queue-log", str(FIXTURES / "malformed.log"), "--tz", "UTC"]) == 0
    captured = capsys.readouterr()
    assert "16 lines, 7 records, 8 skipped, 1 flagged" in captured.out
    assert (
        "line 3: 1 fields, need at least 5 (skipped): this is not a queue_log line" in captured.err
    )
    assert "… and 4 more problem lines" in captured.err


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["--queue-log", "/nonexistent/queue_log"], 1, "cannot read or write"),
        (["--queue-log", BASIC, "--from", "yesterday"], 2, "not a date: 'yesterday'"),
        (["--queue-log", BASIC, "--tz", "Mars/Olympus"], 2, "unknown time zone 'Mars/Olympus'"),
        (["--queue-log", BASIC, "--sl-threshold", "-3"], 2, "threshold_s must be"),
        (["--queue-log", BASIC, "--wrapup", "support"], 2, "--wrapup wants QUEUE=SECONDS"),
        (["--forecast", "100,200"], 2, "staffing needs --aht"),
        (["--forecast", "100", "--aht", "300", "--interval", "day"], 2, "--interval 15, 30 or 60"),
        (["--forecast", "ten,20", "--aht", "300"], 2, "--forecast wants numbers"),
        (["--forecast", "-5", "--aht", "300"], 2, "calls must be >= 0"),
    ],
)
def test_errors_are_one_clear_line(
    argv: list[str], code: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", *argv]) == code
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_needs_a_queue_log_or_a_forecast(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["report"])
    assert exit_info.value.code == 2
    assert "one of the arguments --queue-log --forecast is required" in capsys.readouterr().err


def test_staffing_erlang_c(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "staffing.csv"
    argv = [
        "report",
        "--forecast",
        "100,200,360",
        "--aht",
        "300",
        "--interval",
        "30",
        "--csv",
        str(out),
    ]
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    assert stdout.startswith("Staffing (erlang-c): 80% answered within 20 s")
    table = [line.split() for line in stdout.splitlines()[3:6]]
    assert [row[3] for row in table] == ["21", "39", "67"]
    assert table[1][4:6] == ["82.6", "13.4"]
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert [r["agents"] for r in rows] == ["21", "39", "67"]


def test_staffing_erlang_a_with_abandonment_cap(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "report",
        "--forecast",
        "200",
        "--aht",
        "300",
        "--patience",
        "180",
        "--max-abandon",
        "3",
    ]
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    assert "Staffing (erlang-a)" in stdout and "abandonment ≤ 3.0%" in stdout
    row = stdout.splitlines()[3].split()
    assert row[3] == "38" and row[6] == "2.6"


def test_report_leaves_the_garbage_collector_as_it_found_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The command pauses cycle collection while it reads (speed, issue 15), only then."""
    assert gc.isenabled()
    assert main(["report", "--queue-log", BASIC, "--tz", "UTC"]) == 0
    assert gc.isenabled()
    assert main(["report", "--queue-log", str(FIXTURES / "missing.log"), "--tz", "UTC"]) == 1
    assert gc.isenabled()
    capsys.readouterr()
