"""Business-hours calendars: time travel over evenings, weekends, holidays and closures."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from agentdesk.services.tickets.calendar import BusinessCalendar, CalendarError, parse_calendar
from agentdesk.services.tickets.sla import SlaPolicyError, load_policy, parse_policy

UTC = dt.UTC
WEEKDAYS = {d: "09:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri")}


def _cal(**extra: object) -> BusinessCalendar:
    return parse_calendar("office", {"timezone": "UTC", "hours": WEEKDAYS, **extra})


def _at(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=UTC)


FRIDAY_1755 = _at(27, 17, 55)  # Friday 27 November 2026


def test_friday_1755_plus_four_business_hours_is_monday_1255() -> None:
    cal = _cal()
    assert cal.add(FRIDAY_1755, dt.timedelta(hours=4)) == _at(30, 12, 55)
    assert cal.between(FRIDAY_1755, _at(30, 12, 55)) == dt.timedelta(hours=4)


def test_a_public_holiday_on_that_monday_moves_it_to_tuesday() -> None:
    cal = _cal(country="GB", subdivision="ENG")
    friday = _at(28, 17, 55, month=8)  # Monday 31 August 2026: summer bank holiday (England)
    assert cal.add(friday, dt.timedelta(hours=4)) == _at(1, 12, 55, month=9)
    without = _cal()
    assert without.add(friday, dt.timedelta(hours=4)) == _at(31, 12, 55, month=8)


def test_a_local_closure_on_that_monday_moves_it_to_tuesday() -> None:
    cal = _cal(closures=["2026-11-30"])
    assert cal.add(FRIDAY_1755, dt.timedelta(hours=4)) == _at(1, 12, 55, month=12)


def test_the_shipped_policy_does_the_same_on_its_london_calendar() -> None:
    policy = load_policy()
    cal = policy.for_team("Everyday Banking").calendar  # the default policy: london_office
    assert cal.add(FRIDAY_1755, dt.timedelta(hours=4)) == _at(30, 12, 55)
    # 31 August 2026 is the English summer bank holiday (a Monday): due Tuesday, 12:55 BST.
    friday = dt.datetime(2026, 8, 28, 17, 55, tzinfo=ZoneInfo("Europe/London"))
    due = cal.add(friday, dt.timedelta(hours=4))
    assert due == dt.datetime(2026, 9, 1, 12, 55, tzinfo=ZoneInfo("Europe/London"))


def test_local_hours_across_daylight_saving() -> None:
    london = parse_calendar("london", {"timezone": "Europe/London", "hours": WEEKDAYS})
    friday = dt.datetime(2026, 10, 23, 17, 0, tzinfo=ZoneInfo("Europe/London"))  # BST
    due = london.add(friday, dt.timedelta(hours=2))  # clocks go back on Sunday 25 October
    assert due == dt.datetime(2026, 10, 26, 10, 0, tzinfo=ZoneInfo("Europe/London"))  # GMT
    assert due.astimezone(UTC).hour == 10


def test_split_days_round_the_clock_and_zero() -> None:
    split = parse_calendar("split", {"hours": {"mon": "09:00-12:00, 13:00-17:00"}})
    monday = _at(30, 11, 0)
    assert split.add(monday, dt.timedelta(hours=2)) == _at(30, 14, 0)
    always = parse_calendar("always", {"hours": "24x7"})
    assert always.add(FRIDAY_1755, dt.timedelta(hours=4)) == _at(27, 21, 55)
    assert always.add(FRIDAY_1755, dt.timedelta(0)) == FRIDAY_1755
    assert _cal().between(_at(30, 18, 0), _at(30, 9, 0)) == dt.timedelta(0)
    late = parse_calendar("late", {"hours": {"fri": "20:00-24:00"}})
    assert late.add(FRIDAY_1755, dt.timedelta(hours=4, minutes=30)) == _at(4, 20, 30, month=12)


def test_closed_minutes_count_nothing_and_opening_starts_the_clock() -> None:
    cal = _cal()
    saturday = _at(28, 10, 0)
    assert cal.add(saturday, dt.timedelta(minutes=1)) == _at(30, 9, 1)
    assert cal.between(saturday, _at(30, 9, 0)) == dt.timedelta(0)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"country": "XX"}, "no public holidays are known for region 'XX'"),
        ({"country": "GB", "subdivision": "ZZ"}, "region 'GB-ZZ'"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"hours": {"mon": "18:00-09:00"}}, "not an opening"),
        ({"hours": {"mon": "9-5"}}, "not a time"),
        ({"hours": {"mon": "09:00-12:00, 11:00-13:00"}}, "overlap"),
        ({"hours": {"funday": "09:00-17:00"}}, "unknown weekday"),
        ({"hours": {}}, "open on no day"),
        ({"closures": ["next tuesday"]}, "not a date"),
    ],
)
def test_bad_calendars_are_clear_errors(table: dict[str, object], message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        parse_calendar("office", {"hours": WEEKDAYS, **table})


def test_an_unknown_region_in_the_policy_file_is_a_policy_error() -> None:
    data = {
        "reasons": {"x": {"label": "X"}},
        "calendars": {"site": {"hours": "24x7", "country": "GB", "subdivision": "ATLANTIS"}},
        "teams": {"default": {"calendar": "site", "normal": _targets()}},
    }
    with pytest.raises(SlaPolicyError, match="GB-ATLANTIS"):
        parse_policy(data)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(CalendarError, match="timezone-aware"):
        _cal().add(dt.datetime(2026, 11, 27, 17, 55), dt.timedelta(hours=1))


def _targets() -> dict[str, str]:
    return {"first_response": "1h", "next_update": "2h", "resolution": "3h"}
