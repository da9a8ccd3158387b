"""Business-hours calendars: when a team works, so SLA clocks only run then.

A calendar is a time zone, opening hours per weekday, the site's public holidays
(the ``holidays`` package, by country and region) and local closures (a site
event, Christmas Eve). It is pure: no clock, no database. ``add`` finds the
instant a given amount of business time after a start; ``between`` measures the
business time inside an interval (what a paused clock still owed).

All arithmetic is done in UTC; local wall times are only used to place each
day's opening hours, so a daylight-saving change never stretches or shrinks a
working day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_DAYS = 3660  # ten years of calendar days: no SLA window is longer; bounds every walk
_MIDNIGHT = dt.time(0, 0)


class CalendarError(ValueError):
    """A calendar cannot be built: unknown time zone or region, malformed hours."""


Span = tuple[dt.time, dt.time | None]  # end None: until midnight (written "24:00")


@dataclass(frozen=True)
class BusinessCalendar:
    """Opening hours of one team or site, with public holidays and local closures."""

    name: str
    zone: ZoneInfo
    hours: tuple[tuple[Span, ...], ...]  # seven entries, Monday first; empty: closed
    country: str | None = None
    subdivision: str | None = None
    closures: frozenset[dt.date] = frozenset()
    _holidays: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.hours) != 7:
            raise CalendarError(f"calendar {self.name}: hours need seven weekdays")
        if not any(self.hours):
            raise CalendarError(f"calendar {self.name}: open on no day of the week")
        if self.country is None:
            return
        try:
            table = holidays.country_holidays(self.country, subdiv=self.subdivision)
        except NotImplementedError:
            where = self.country + (f"-{self.subdivision}" if self.subdivision else "")
            raise CalendarError(
                f"calendar {self.name}: no public holidays are known for region {where!r}"
            ) from None
        object.__setattr__(self, "_holidays", table)

    # --- days -------------------------------------------------------------------------------

    def is_closed_day(self, day: dt.date) -> bool:
        """A public holiday or a local closure (regular weekly closing is in ``hours``)."""
        return day in self.closures or (self._holidays is not None and day in self._holidays)

    def _windows(self, day: dt.date) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """The day's opening windows as UTC instants, in order."""
        if self.is_closed_day(day):
            return
        for start, end in self.hours[day.weekday()]:
            opens = dt.datetime.combine(day, start, self.zone)
            closes = (
                dt.datetime.combine(day + dt.timedelta(days=1), _MIDNIGHT, self.zone)
                if end is None
                else dt.datetime.combine(day, end, self.zone)
            )
            yield opens.astimezone(dt.UTC), closes.astimezone(dt.UTC)

    def _days_from(self, instant: dt.datetime) -> Iterator[dt.date]:
        # The local day before too: a window reaching past midnight UTC starts there.
        first = instant.astimezone(self.zone).date() - dt.timedelta(days=1)
        for n in range(MAX_DAYS):
            yield first + dt.timedelta(days=n)

    # --- arithmetic -------------------------------------------------------------------------

    def add(self, start: dt.datetime, amount: dt.timedelta) -> dt.datetime:
        """The instant ``amount`` of business time after ``start`` (aware)."""
        _aware(start)
        if amount < dt.timedelta(0):
            raise CalendarError("business time to add must not be negative")
        left, at = amount, start.astimezone(dt.UTC)
        for day in self._days_from(at):
            for opens, closes in self._windows(day):
                begin = max(opens, at)
                if begin >= closes:
                    continue
                if closes - begin >= left:
                    return begin + left
                left -= closes - begin
        raise CalendarError(f"calendar {self.name}: {amount} of business time is beyond reach")

    def between(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Business time inside ``[start, end)``; zero when ``end`` is not after ``start``."""
        _aware(start)
        _aware(end)
        total, a, b = dt.timedelta(0), start.astimezone(dt.UTC), end.astimezone(dt.UTC)
        if b <= a:
            return total
        for day in self._days_from(a):
            for opens, closes in self._windows(day):
                if opens >= b:
                    return total
                lo, hi = max(opens, a), min(closes, b)
                if hi > lo:
                    total += hi - lo
        raise CalendarError(f"calendar {self.name}: interval {start}..{end} is too long")


def _aware(value: dt.datetime) -> None:
    if value.tzinfo is None:
        raise CalendarError("business-time arithmetic needs timezone-aware datetimes")


# --- parsing ----------------------------------------------------------------------------------


def _clock(text: str, where: str) -> dt.time | None:
    if text.strip() == "24:00":
        return None
    try:
        return dt.time.fromisoformat(text.strip())
    except ValueError:
        raise CalendarError(f"{where}: {text!r} is not a time like 09:00") from None


def parse_spans(text: str, where: str) -> tuple[Span, ...]:
    """``"09:00-12:30, 13:30-18:00"`` → spans; ``""`` or ``"closed"`` → closed."""
    if not isinstance(text, str):
        raise CalendarError(f"{where}: hours must be text like '09:00-18:00'")
    if text.strip().lower() in ("", "closed"):
        return ()
    spans: list[Span] = []
    for part in text.split(","):
        start_text, sep, end_text = part.partition("-")
        if not sep:
            raise CalendarError(f"{where}: {part.strip()!r} is not an opening like 09:00-18:00")
        start, end = _clock(start_text, where), _clock(end_text, where)
        if start is None or (end is not None and end <= start):
            raise CalendarError(f"{where}: {part.strip()!r} is not an opening like 09:00-18:00")
        if spans and (spans[-1][1] is None or start < spans[-1][1]):
            raise CalendarError(f"{where}: openings overlap or are out of order")
        spans.append((start, end))
    return tuple(spans)


def _zone(name: object, where: str) -> ZoneInfo:
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(f"{where}: unknown time zone {name!r}") from None


def _closures(values: object, where: str) -> frozenset[dt.date]:
    if not isinstance(values, list):
        raise CalendarError(f"{where}: closures must be a list of dates")
    days: set[dt.date] = set()
    for value in values:
        try:
            days.add(value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)))
        except ValueError:
            message = f"{where}: closure {value!r} is not a date like 2026-12-24"
            raise CalendarError(message) from None
    return frozenset(days)


def parse_calendar(name: str, table: Mapping[str, Any]) -> BusinessCalendar:
    """Build one calendar from its TOML table (see ``resources/sla.toml``)."""
    where = f"calendar {name}"
    raw = table.get("hours", {})
    if raw == "24x7":
        hours: tuple[tuple[Span, ...], ...] = tuple(((_MIDNIGHT, None),) for _ in WEEKDAYS)
    elif isinstance(raw, Mapping):
        unknown = set(raw) - set(WEEKDAYS)
        if unknown:
            raise CalendarError(f"{where}: unknown weekday {sorted(unknown)[0]!r}")
        hours = tuple(parse_spans(raw.get(d, ""), f"{where}.{d}") for d in WEEKDAYS)
    else:
        raise CalendarError(f"{where}: hours must be '24x7' or a table of weekdays")
    country = table.get("country")
    subdivision = table.get("subdivision")
    return BusinessCalendar(
        name=name,
        zone=_zone(table.get("timezone", "UTC"), where),
        hours=hours,
        country=None if country is None else str(country),
        subdivision=None if subdivision is None else str(subdivision),
        closures=_closures(table.get("closures", []), where),
    )
