"""SLA policy: when a ticket's first response and resolution are due, and how close it is.

The policy lives in ``resources/sla.toml`` (by reason and priority)
so operations can change targets without a release. Services compute the due
times once, when a ticket is created (or its reason/priority changes), and
store them on the ticket; screens only compare those stored instants with the
clock, which is cheap enough to do on every repaint of a countdown.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from agentdesk.models import TicketPriority
from agentdesk.paths import resource

_DURATION_PART = re.compile(r"(\d+)\s*([dhm])", re.IGNORECASE)
_UNIT_MINUTES = {"d": 24 * 60, "h": 60, "m": 1}


class SlaPolicyError(ValueError):
    """The SLA policy file is missing, malformed, or names an unknown reason."""


class SlaState(StrEnum):
    """Where a ticket stands against one SLA clock."""

    NONE = "none"  # no due time
    OK = "ok"
    NEAR = "near"  # less than the near-breach fraction of the window left
    BREACHED = "breached"


@dataclass(frozen=True)
class SlaTarget:
    """How long a ticket may take to get a first response and to be resolved."""

    first_response: dt.timedelta
    resolution: dt.timedelta


@dataclass(frozen=True)
class SlaDue:
    """The instants a ticket's clocks expire."""

    first_response_due: dt.datetime
    resolution_due: dt.datetime


@dataclass(frozen=True)
class ReasonPolicy:
    """One ticket reason: its label, default team and targets per priority."""

    code: str
    label: str
    team: str
    targets: dict[TicketPriority, SlaTarget]


@dataclass(frozen=True)
class SlaPolicy:
    """The whole policy: reasons, the default reason, and the near-breach threshold."""

    reasons: dict[str, ReasonPolicy]
    default_reason: str
    near_breach_fraction: float

    def reason(self, code: str) -> ReasonPolicy:
        try:
            return self.reasons[code]
        except KeyError:
            raise SlaPolicyError(f"unknown ticket reason {code!r}") from None

    def target(self, reason: str, priority: TicketPriority | str) -> SlaTarget:
        return self.reason(reason).targets[TicketPriority(priority)]

    def due(self, reason: str, priority: TicketPriority | str, opened_at: dt.datetime) -> SlaDue:
        """Due instants for a ticket of ``reason``/``priority`` opened at ``opened_at``."""
        target = self.target(reason, priority)
        return SlaDue(opened_at + target.first_response, opened_at + target.resolution)

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


def _target(table: dict[str, Any], where: str) -> SlaTarget:
    try:
        return SlaTarget(
            parse_duration(table["first_response"]), parse_duration(table["resolution"])
        )
    except KeyError as exc:
        raise SlaPolicyError(f"{where}: missing {exc.args[0]!r}") from None


def _reason(code: str, table: dict[str, Any], factors: dict[TicketPriority, float]) -> ReasonPolicy:
    base = _target(table, f"reason {code}")
    targets: dict[TicketPriority, SlaTarget] = {}
    for priority, factor in factors.items():
        pinned = table.get(priority.value)
        if isinstance(pinned, dict):
            targets[priority] = _target(pinned, f"reason {code}.{priority.value}")
        else:
            targets[priority] = SlaTarget(base.first_response * factor, base.resolution * factor)
    return ReasonPolicy(code, str(table.get("label", code)), str(table.get("team", "")), targets)


def parse_policy(data: dict[str, Any]) -> SlaPolicy:
    """Build a policy from the parsed TOML document."""
    raw_factors = data.get("priority", {})
    factors: dict[TicketPriority, float] = {}
    for priority in TicketPriority:
        value = raw_factors.get(priority.value, 1.0)
        if not isinstance(value, int | float) or value <= 0:
            raise SlaPolicyError(f"priority factor {priority.value!r} must be a positive number")
        factors[priority] = float(value)
    reasons = {
        code: _reason(code, table, factors) for code, table in data.get("reasons", {}).items()
    }
    if not reasons:
        raise SlaPolicyError("the SLA policy defines no reasons")
    default = str(data.get("default_reason", next(iter(reasons))))
    if default not in reasons:
        raise SlaPolicyError(f"default_reason {default!r} is not a defined reason")
    fraction = float(data.get("near_breach_fraction", 0.25))
    if not 0 < fraction < 1:
        raise SlaPolicyError("near_breach_fraction must lie between 0 and 1")
    return SlaPolicy(reasons, default, fraction)


def load_policy(path: Path | None = None) -> SlaPolicy:
    """Load the policy from ``path``, or ``resources/sla.toml``."""
    try:
        if path is None:
            path = resource("sla.toml")
        text = path.read_text("utf-8")
        return parse_policy(tomllib.loads(text))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SlaPolicyError(f"cannot read the SLA policy {path or 'sla.toml'}: {exc}") from exc
