"""SLA policy: per team and priority, on business hours; pause and resume; bad files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from agentdesk.models import TicketPriority
from agentdesk.services.tickets.sla import (
    SlaPolicyError,
    SlaState,
    format_countdown,
    load_policy,
    parse_duration,
)

MONDAY_0900 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
FRIDAY_1755 = dt.datetime(2026, 11, 27, 17, 55, tzinfo=dt.UTC)


def test_shipped_policy_per_team_and_priority_counts_business_hours() -> None:
    policy = load_policy()
    normal = policy.due("Everyday Banking", "normal", MONDAY_0900)  # default: 8h / 27h
    assert normal.first_response_due == MONDAY_0900 + dt.timedelta(hours=8)
    # Three 9-hour days: due at Wednesday's close, not Thursday's opening.
    assert normal.resolution_due == dt.datetime(2026, 11, 25, 18, 0, tzinfo=dt.UTC)
    high = policy.due(None, TicketPriority.HIGH, FRIDAY_1755)  # half: 4h first response
    assert high.first_response_due == dt.datetime(2026, 11, 30, 12, 55, tzinfo=dt.UTC)
    pinned = policy.due("Cards", "urgent", MONDAY_0900)
    assert pinned.first_response_due == MONDAY_0900 + dt.timedelta(minutes=15)
    fraud = policy.due("Fraud & Disputes", "normal", FRIDAY_1755)  # round the clock
    assert fraud.first_response_due == FRIDAY_1755 + dt.timedelta(hours=2)
    assert policy.next_update("Cards", "normal", MONDAY_0900) == dt.datetime(
        2026, 11, 24, 9, 0, tzinfo=dt.UTC
    )  # 12 business hours on the Cards floor (08:00-20:00)
    assert policy.default_reason in policy.reasons
    assert policy.for_team("No such team") is policy.for_team(None)


def test_a_paused_clock_resumes_owing_what_it_owed() -> None:
    policy = load_policy()
    due = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)  # Friday noon
    paused = dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.UTC)  # 2 business hours left
    back = dt.datetime(2026, 12, 1, 17, 0, tzinfo=dt.UTC)  # Tuesday 17:00
    resumed = policy.resume(None, due, paused, back)
    assert resumed == dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)  # 1h Tue + 1h Wed
    breached = policy.resume(None, paused, due, back)  # already past due when paused
    assert breached == paused
    assert policy.resume(None, None, paused, back) is None


def test_unknown_reason_and_priority_are_clear_errors() -> None:
    policy = load_policy()
    with pytest.raises(SlaPolicyError, match="unknown ticket reason"):
        policy.reason("pigeon")
    with pytest.raises(SlaPolicyError, match="unknown ticket priority"):
        policy.due("Cards", "whenever", MONDAY_0900)


def test_state_turns_near_then_breached() -> None:
    policy = load_policy()
    due = MONDAY_0900 + dt.timedelta(hours=4)
    assert policy.state(due, MONDAY_0900, MONDAY_0900 + dt.timedelta(hours=1)) is SlaState.OK
    near = MONDAY_0900 + dt.timedelta(hours=3, minutes=30)
    assert policy.state(due, MONDAY_0900, near) is SlaState.NEAR
    assert policy.state(due, MONDAY_0900, due) is SlaState.BREACHED
    assert policy.state(None, MONDAY_0900, due) is SlaState.NONE


@pytest.mark.parametrize(
    ("text", "minutes"), [("30m", 30), ("4h", 240), ("1d 4h", 1680), ("2D", 2880)]
)
def test_parse_duration(text: str, minutes: int) -> None:
    assert parse_duration(text) == dt.timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["", "4 hours", "0m", "h", "5w"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(SlaPolicyError):
        parse_duration(text)


def test_countdown_text() -> None:
    assert format_countdown(dt.timedelta(hours=2, minutes=5, seconds=59)) == "2h 05m"
    assert format_countdown(dt.timedelta(minutes=7)) == "7m"
    assert format_countdown(dt.timedelta(days=1, hours=3)) == "1d 3h"
    assert format_countdown(-dt.timedelta(minutes=12)) == "overdue 12m"


GOOD = """
[reasons.x]
label = "X"
[calendars.site]
hours = "24x7"
[teams.default]
calendar = "site"
normal = { first_response = "1h", next_update = "2h", resolution = "3h" }
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace(', resolution = "3h"', ""), "missing 'resolution'"),
        (GOOD.replace('calendar = "site"', 'calendar = "moon"'), "unknown calendar 'moon'"),
        (GOOD.replace("[teams.default]", "[teams.Cards]"), r"needs a \[teams.default\]"),
        (GOOD.replace('label = "X"', ""), "needs a label"),
        (GOOD.replace("first_response", "first_reply"), "unknown clock 'first_reply'"),
        (GOOD.replace('"24x7"', '"always"'), "hours must be"),
    ],
)
def test_malformed_policy_files_are_reported(tmp_path: Path, text: str, message: str) -> None:
    bad = tmp_path / "sla.toml"
    bad.write_text(text, "utf-8")
    with pytest.raises(SlaPolicyError, match=message):
        load_policy(bad)


def test_unreadable_policy_file_is_reported(tmp_path: Path) -> None:
    good = tmp_path / "sla.toml"
    good.write_text(GOOD, "utf-8")
    assert load_policy(good).for_team("any").calendar.name == "site"
    good.write_bytes(b"\xff\xfe garbage")
    with pytest.raises(SlaPolicyError, match="cannot read"):
        load_policy(good)
