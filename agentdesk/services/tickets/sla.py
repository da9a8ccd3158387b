"""SLA policy: first response, next update and resolution targets per team and priority.

The policy lives in ``resources/sla.toml`` so operations can change targets
and opening hours without a release. Each team's targets count *business*
time on that team's calendar (opening hours, the site's public holidays,
local closures; see ``calendar.py``). Services compute the due times when a
ticket is created, routed again, answered or resumed, and store them on the
ticket; screens only compare those stored instants with the clock, and the
server's scheduler finds what is due through an index (``due.py``).

A clock is paused while the ticket waits for the customer (``pending``): the
business time it still owed is kept and added again from the moment it
resumes (``SlaPolicy.resume``).
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from agentdesk.models import TicketPriority
from agentdesk.paths import resource
from agentdesk.services.tickets.calendar import BusinessCalendar, CalendarError, parse_calendar

_DURATION_PART = re.compile(r"(\d+)\s*([dhm])", re.IGNORECASE)
_UNIT_MINUTES = {"d": 24 * 60, "h": 60, "m": 1}
DEFAULT_TEAM = "default"
CLOCKS = ("first_response", "next_update", "resolution")


class SlaPolicyError(ValueError):
    """The SLA policy file is missing or malformed, or names an unknown reason or calendar."""


class SlaState(StrEnum):
    """Where a ticket stands against one SLA clock."""

    NONE = "none"  # no due time
    OK = "ok"
    NEAR = "near"  # less than the near-breach fraction of the window left
    BREACHED = "breached"


@dataclass(frozen=True)
class SlaTarget:
    """Business time allowed for the first response, between updates, and to resolve."""

    first_response: dt.timedelta
    next_update: dt.timedelta
    resolution: dt.timedelta


@dataclass(frozen=True)
class SlaDue:
    """The instants a ticket's clocks expire (``next_update_due`` starts at the first reply)."""

    first_response_due: dt.datetime
    resolution_due: dt.datetime
    next_update_due: dt.datetime | None = None


@dataclass(frozen=True)
class ReasonPolicy:
    """One ticket reason: its code and how it reads. Where it goes is ``routing.toml``'s job."""

    code: str
    label: str


@dataclass(frozen=True)
class TeamPolicy:
    """One team's targets per priority, counted on its business calendar."""

    name: str
    calendar: BusinessCalendar
    targets: Mapping[TicketPriority, SlaTarget]

    def target(self, priority: TicketPriority | str) -> SlaTarget:
        try:
            return self.targets[TicketPriority(priority)]
        except ValueError:
            raise SlaPolicyError(f"unknown ticket priority {priority!r}") from None


@dataclass(frozen=True)
class SlaPolicy:
    """The whole policy: reasons, team policies with their calendars, near-breach threshold."""

    reasons: dict[str, ReasonPolicy]
    default_reason: str
    near_breach_fraction: float
    teams: Mapping[str, TeamPolicy]

    def reason(self, code: str) -> ReasonPolicy:
        try:
            return self.reasons[code]
        except KeyError:
            raise SlaPolicyError(f"unknown ticket reason {code!r}") from None

    def for_team(self, team: str | None) -> TeamPolicy:
        """The team's own policy, or the default one."""
        return self.teams.get(team or DEFAULT_TEAM) or self.teams[DEFAULT_TEAM]

    def target(self, team: str | None, priority: TicketPriority | str) -> SlaTarget:
        return self.for_team(team).target(priority)

    def due(
        self, team: str | None, priority: TicketPriority | str, opened_at: dt.datetime
    ) -> SlaDue:
        """First-response and resolution due instants for a ticket opened at ``opened_at``."""
        policy = self.for_team(team)
        target, cal = policy.target(priority), policy.calendar
        return SlaDue(
            cal.add(opened_at, target.first_response), cal.add(opened_at, target.resolution)
        )

    def next_update(
        self, team: str | None, priority: TicketPriority | str, at: dt.datetime
    ) -> dt.datetime:
        """When the customer must next hear from us after an update at ``at``."""
        policy = self.for_team(team)
        return policy.calendar.add(at, policy.target(priority).next_update)

    def resume(
        self, team: str | None, due: dt.datetime | None, paused_at: dt.datetime, now: dt.datetime
    ) -> dt.datetime | None:
        """A clock paused at ``paused_at`` restarts at ``now`` owing what it owed then.

        A clock already past due when paused stays where it was: waiting for the customer
        does not undo a breach.
        """
        if due is None or due <= paused_at:
            return due
        cal = self.for_team(team).calendar
        return cal.add(max(now, paused_at), cal.between(paused_at, due))

    def state(
        self, due: dt.datetime | None, window_start: dt.datetime, now: dt.datetime
    ) -> SlaState:
        """Classify ``now`` against a clock that started at ``window_start`` and ends at ``due``."""
        return sla_state(due, window_start, now, self.near_breach_fraction)


def sla_state(
    due: dt.datetime | None, window_start: dt.datetime, now: dt.datetime, near_fraction: float
) -> SlaState:
    if due is None:
        return SlaState.NONE
    if now >= due:
        return SlaState.BREACHED
    window = (due - window_start).total_seconds()
    remaining = (due - now).total_seconds()
    if window <= 0 or remaining <= window * near_fraction:
        return SlaState.NEAR
    return SlaState.OK


def format_countdown(remaining: dt.timedelta) -> str:
    """``2h 05m`` before the due time, ``overdue 1d 3h`` after it; minutes are floored."""
    seconds = int(remaining.total_seconds())
    overdue = seconds < 0
    minutes = abs(seconds) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        text = f"{days}d {hours}h"
    elif hours:
        text = f"{hours}h {mins:02d}m"
    else:
        text = f"{mins}m"
    return f"overdue {text}" if overdue else text


def parse_duration(text: str) -> dt.timedelta:
    """Parse ``"1d 4h"``, ``"30m"`` … into a timedelta; anything else is an error."""
    if not isinstance(text, str) or not text.strip():
        raise SlaPolicyError(f"duration {text!r} is empty or not text")
    stripped = _DURATION_PART.sub("", text).strip()
    if stripped:
        raise SlaPolicyError(f"duration {text!r} has unknown parts {stripped!r}; use d, h and m")
    minutes = sum(int(n) * _UNIT_MINUTES[u.lower()] for n, u in _DURATION_PART.findall(text))
    if minutes <= 0:
        raise SlaPolicyError(f"duration {text!r} must be longer than zero")
    return dt.timedelta(minutes=minutes)


def _target(table: object, where: str) -> SlaTarget:
    if not isinstance(table, dict):
        raise SlaPolicyError(f"{where}: expected a table of {', '.join(CLOCKS)}")
    unknown = set(table) - set(CLOCKS)
    if unknown:
        raise SlaPolicyError(f"{where}: unknown clock {sorted(unknown)[0]!r}")
    try:
        return SlaTarget(*(parse_duration(table[c]) for c in CLOCKS))
    except KeyError as exc:
        raise SlaPolicyError(f"{where}: missing {exc.args[0]!r}") from None


def _factors(data: dict[str, Any]) -> dict[TicketPriority, float]:
    raw = data.get("priority", {})
    factors: dict[TicketPriority, float] = {}
    for priority in TicketPriority:
        value = raw.get(priority.value, 1.0)
        if not isinstance(value, int | float) or value <= 0:
            raise SlaPolicyError(f"priority factor {priority.value!r} must be a positive number")
        factors[priority] = float(value)
    return factors


def _team(
    name: str,
    table: dict[str, Any],
    calendars: Mapping[str, BusinessCalendar],
    factors: Mapping[TicketPriority, float],
) -> TeamPolicy:
    where = f"teams.{name}"
    calendar = calendars.get(str(table.get("calendar", "")))
    if calendar is None:
        raise SlaPolicyError(f"{where}: unknown calendar {table.get('calendar')!r}")
    base = _target(table.get("normal"), f"{where}.normal")
    targets: dict[TicketPriority, SlaTarget] = {}
    for priority, factor in factors.items():
        pinned = table.get(priority.value)
        targets[priority] = (
            _target(pinned, f"{where}.{priority.value}")
            if pinned is not None
            else SlaTarget(*(getattr(base, c) * factor for c in CLOCKS))
        )
    return TeamPolicy(name, calendar, targets)


def _reasons(data: dict[str, Any]) -> dict[str, ReasonPolicy]:
    reasons: dict[str, ReasonPolicy] = {}
    for code, table in data.get("reasons", {}).items():
        if not isinstance(table, dict) or not isinstance(table.get("label"), str):
            raise SlaPolicyError(f"reasons.{code}: needs a label")
        reasons[code] = ReasonPolicy(code, table["label"])
    if not reasons:
        raise SlaPolicyError("the SLA policy defines no reasons")
    return reasons


def parse_policy(data: dict[str, Any]) -> SlaPolicy:
    """Build a policy from the parsed TOML document."""
    reasons = _reasons(data)
    default = str(data.get("default_reason", next(iter(reasons))))
    if default not in reasons:
        raise SlaPolicyError(f"default_reason {default!r} is not a defined reason")
    fraction = float(data.get("near_breach_fraction", 0.25))
    if not 0 < fraction < 1:
        raise SlaPolicyError("near_breach_fraction must lie between 0 and 1")
    try:
        calendars = {n: parse_calendar(n, t) for n, t in data.get("calendars", {}).items()}
    except CalendarError as exc:
        raise SlaPolicyError(str(exc)) from exc
    factors = _factors(data)
    teams = {n: _team(n, t, calendars, factors) for n, t in data.get("teams", {}).items()}
    if DEFAULT_TEAM not in teams:
        raise SlaPolicyError(f"the SLA policy needs a [teams.{DEFAULT_TEAM}] policy")
    return SlaPolicy(reasons, default, fraction, teams)


def load_policy(path: Path | None = None) -> SlaPolicy:
    """Load the policy from ``path``, or ``resources/sla.toml``."""
    try:
        if path is None:
            path = resource("sla.toml")
        text = path.read_text("utf-8")
        return parse_policy(tomllib.loads(text))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SlaPolicyError(f"cannot read the SLA policy {path or 'sla.toml'}: {exc}") from exc
