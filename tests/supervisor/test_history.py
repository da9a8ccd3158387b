"""Per-interval series from a queue_log and from live cells; Erlang staffing beside actual."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from agentdesk.services.supervisor.history import (
    merge_days,
    series_from_queue_log,
    staffing_rows,
    today_history,
)
from agentdesk.services.supervisor.queue_log import QueueLogReader
from agentdesk.services.supervisor.reports import Interval
from agentdesk.services.supervisor.settings import SupervisorSettings
from tests.supervisor.simfloor import settings

UTC = dt.UTC
TODAY = dt.date(2026, 11, 23)
LAST_WEEK = dt.date(2026, 11, 16)


def ts(day: dt.date, hh: int, mm: int, ss: int = 0) -> int:
    return int(dt.datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=UTC).timestamp())


def answered(day: dt.date, uid: str, hh: int, mm: int, wait: int, talk: int) -> list[str]:
    t = ts(day, hh, mm)
    return [
        f"{t}|{uid}|general|NONE|ENTERQUEUE||+441|1",
        f"{t + wait}|{uid}|general|Agent 1|CONNECT|{wait}|{uid}.9|2",
        f"{t + wait + talk}|{uid}|general|Agent 1|COMPLETECALLER|{wait}|{talk}|1",
    ]


def abandoned(day: dt.date, uid: str, hh: int, mm: int, wait: int) -> list[str]:
    t = ts(day, hh, mm)
    return [f"{t}|{uid}|general|NONE|ENTERQUEUE||+442|1",
            f"{t + wait}|{uid}|general|NONE|ABANDON|1|1|{wait}"]  # fmt: skip


@pytest.fixture
def queue_log(tmp_path: Path) -> Path:
    lines = [f"{ts(LAST_WEEK, 8, 0)}|MANAGER|general|Agent 1|ADDMEMBER|"]
    for i in range(6):  # last week 09:00-09:30: 6 calls, AHT 240 s
        lines += answered(LAST_WEEK, f"w{i}", 9, i * 4, 10, 240)
    lines += abandoned(LAST_WEEK, "wa", 9, 31, 40)
    lines.append(f"{ts(TODAY, 8, 0)}|MANAGER|general|Agent 1|ADDMEMBER|")
    lines += answered(TODAY, "t1", 9, 5, 5, 100) + answered(TODAY, "t2", 9, 20, 30, 200)
    lines += abandoned(TODAY, "ta", 9, 50, 8) + abandoned(TODAY, "ts", 9, 55, 2)  # one short
    path = tmp_path / "queue_log"
    path.write_text("\n".join(lines) + "\n")
    return path


def utc_settings() -> SupervisorSettings:
    return settings(tz=UTC)


def test_series_counts_calls_in_the_interval_they_entered(queue_log: Path) -> None:
    config = utc_settings().metrics
    today = series_from_queue_log(queue_log, config, TODAY, Interval.MIN30)
    nine, half_nine = today.at(9 * 60), today.at(9 * 60 + 30)
    assert nine is not None and half_nine is not None
    assert (nine.offered, nine.answered, nine.abandoned) == (2, 2, 0)
    assert nine.service_level == pytest.approx(0.5)  # 5 s in time, 30 s late
    assert nine.aht_s == pytest.approx(150)
    assert (half_nine.offered, half_nine.abandoned) == (2, 2)
    assert half_nine.service_level == pytest.approx(0.0)  # the 8 s abandon counts, the 2 s not
    week = series_from_queue_log(queue_log, config, LAST_WEEK, Interval.MIN30)
    assert week.at(9 * 60).offered == 6  # type: ignore[union-attr]
    assert merge_days([today, week])[:4] == (480, 510, 540, 570)  # agent logged in from 08:00
    assert series_from_queue_log(queue_log, config, TODAY, Interval.MIN30, "sales").points == ()


def test_staffing_uses_today_for_past_intervals_and_last_week_ahead(queue_log: Path) -> None:
    config = utc_settings().metrics
    today = series_from_queue_log(queue_log, config, TODAY, Interval.MIN30)
    week = series_from_queue_log(queue_log, config, LAST_WEEK, Interval.MIN30)
    now = dt.datetime(2026, 11, 23, 9, 40, tzinfo=UTC)
    rows = {r.start.hour * 60 + r.start.minute: r for r in staffing_rows(today, week, config, now)}
    past, current = rows[9 * 60], rows[9 * 60 + 30]
    assert (past.forecast_calls, past.aht_s) == (2, pytest.approx(150))
    # 2 calls × 150 s in 30 min is 0.17 Erlang: one agent answers 80 % within 20 s.
    assert past.required == 1
    assert past.actual == pytest.approx(1.0)  # Agent 1 logged in the whole interval
    assert current.forecast_calls == 1  # from last week's 09:30 (one abandon)
    assert current.aht_s == 300.0  # no handled call there: the default AHT
    assert current.required == 1


def test_today_history_for_a_backfill_stops_at_now(queue_log: Path) -> None:
    config = utc_settings().metrics
    records = today_history(queue_log, config, ts(TODAY, 9, 21))
    assert {r.call_id for r in records} >= {"t1", "t2"}
    assert all(r.timestamp < ts(TODAY, 9, 21) for r in records)
    assert not any(r.call_id.startswith("w") for r in records)


def test_a_real_asterisk_file_with_odd_lines_still_gives_a_series(tmp_path: Path) -> None:
    path = tmp_path / "queue_log"
    t = ts(TODAY, 10, 0)
    path.write_bytes(
        b"garbage\n\x00\x01|x\n"
        + f"{t}|1.1|general|NONE|DID|0800\n{t}|1.1|general|NONE|ENTERQUEUE||+44|1\n".encode()
        + f"{t + 4}|1.1|general|PJSIP/1001|CONNECT|4|1.2|4\n".encode()
        + "é|||\n".encode()
    )
    series = series_from_queue_log(path, utc_settings().metrics, TODAY, Interval.MIN15)
    assert [(p.offered, p.answered) for p in series.points] == [(1, 1)]
    reader = QueueLogReader()
    list(reader.read_file(path))
    assert reader.summary().skipped == 3
