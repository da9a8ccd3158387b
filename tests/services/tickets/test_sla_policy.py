"""SLA policy: due times by reason and priority, near/after breach classification."""

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

OPENED = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def test_shipped_policy_scales_by_priority_and_honours_pinned_targets() -> None:
    policy = load_policy()
    normal = policy.due("card_dispute", "normal", OPENED)
    high = policy.due("card_dispute", TicketPriority.HIGH, OPENED)
    assert normal.first_response_due == OPENED + dt.timedelta(hours=4)
    assert high.first_response_due == OPENED + dt.timedelta(hours=2)
    assert high.resolution_due == OPENED + dt.timedelta(days=5)
    pinned = policy.due("card_lost", "urgent", OPENED)
    assert pinned.first_response_due == OPENED + dt.timedelta(minutes=5)
    assert policy.reason("card_lost").team == "Cards"
    assert policy.default_reason in policy.reasons


def test_unknown_reason_is_a_clear_error() -> None:
    with pytest.raises(SlaPolicyError, match="unknown ticket reason"):
        load_policy().due("pigeon", "normal", OPENED)


def test_state_turns_near_then_breached() -> None:
    policy = load_policy()
    due = OPENED + dt.timedelta(hours=4)
    assert policy.state(due, OPENED, OPENED + dt.timedelta(hours=1)) is SlaState.OK
    assert policy.state(due, OPENED, OPENED + dt.timedelta(hours=3, minutes=30)) is SlaState.NEAR
    assert policy.state(due, OPENED, due) is SlaState.BREACHED
    assert policy.state(None, OPENED, due) is SlaState.NONE


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


def test_malformed_policy_file_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "sla.toml"
    bad.write_text("[reasons.x]\nlabel = 'X'\nfirst_response = '1h'\n", "utf-8")
    with pytest.raises(SlaPolicyError, match="resolution"):
        load_policy(bad)
    bad.write_bytes(b"\xff\xfe garbage")
    with pytest.raises(SlaPolicyError, match="cannot read"):
        load_policy(bad)
