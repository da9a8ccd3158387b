"""Wallboard alerts: thresholds from ``resources/alerts.toml``, and each alert's life.

An alert is raised when a condition first holds (service level under target,
too many callers waiting, a caller waiting too long, an agent too long in
wrap-up or paused, tickets past their SLA), stays while it holds (its value
follows the live figure), and clears when it stops holding. A supervisor
acknowledges an alert: who and when are kept on the alert (and written to
the audit log by the supervisor service). An acknowledged alert that clears
and comes back is a new alert that needs a new acknowledgement.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class AlertKind(StrEnum):
    """What an alert is about (its subject is a queue, an agent, or "tickets")."""

    SERVICE_LEVEL = "service_level"
    WAITING = "waiting"
    LONGEST_WAIT = "longest_wait"
    WRAPUP_TOO_LONG = "wrapup_too_long"
    PAUSED_TOO_LONG = "paused_too_long"
    TICKET_SLA = "ticket_sla"


class Severity(StrEnum):
    """How loudly an alert shows: critical when the figure is far past its limit."""

    WARNING = "warning"
    CRITICAL = "critical"


class AlertConfigError(ValueError):
    """A threshold in the alerts file that cannot be used, with where it is."""


@dataclass(frozen=True)
class QueueThresholds:
    """Per-queue overrides; None keeps the floor-wide value."""

    waiting_above: int | None = None
    longest_wait_above_s: float | None = None
    sl_target: float | None = None


@dataclass(frozen=True)
class AlertThresholds:
    """When each alert fires. A limit of None (or 0 for a pause reason) never fires."""

    sl_target: float = 0.8
    sl_window_minutes: int = 30
    sl_min_calls: int = 5
    waiting_above: int | None = 10
    longest_wait_above_s: float | None = 120.0
    wrapup_beyond_s: float | None = 180.0
    paused_beyond_s: float | None = 900.0
    paused_limits: Mapping[str, float] = field(default_factory=dict)
    ticket_sla_breached: bool = True
    ticket_check_s: float = 60.0
    queues: Mapping[str, QueueThresholds] = field(default_factory=dict)

    def waiting_limit(self, queue: str) -> int | None:
        override = self.queues.get(queue)
        if override is not None and override.waiting_above is not None:
            return override.waiting_above
        return self.waiting_above

    def longest_wait_limit(self, queue: str) -> float | None:
        override = self.queues.get(queue)
        if override is not None and override.longest_wait_above_s is not None:
            return override.longest_wait_above_s
        return self.longest_wait_above_s

    def sl_target_for(self, queue: str) -> float:
        override = self.queues.get(queue)
        if override is not None and override.sl_target is not None:
            return override.sl_target
        return self.sl_target

    def pause_limit(self, reason: str) -> float | None:
        """Seconds a pause with ``reason`` may last; None means no alert for it."""
        limit = self.paused_limits.get(reason, self.paused_beyond_s)
        return limit if limit else None


def _number(section: Mapping[str, Any], key: str, where: str, default: float | None) -> Any:
    value = section.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AlertConfigError(f"{where}.{key} must be a number, got {value!r}")
    if value < 0:
        raise AlertConfigError(f"{where}.{key} cannot be negative, got {value!r}")
    return value


def _pct(section: Mapping[str, Any], key: str, where: str, default: float | None) -> float | None:
    value = _number(section, key, where, default)
    if value is not None and value > 100:
        raise AlertConfigError(f"{where}.{key} is a percentage (0–100), got {value!r}")
    return None if value is None else float(value) / 100.0


def thresholds_from(data: Mapping[str, Any], sl_target: float = 0.8) -> AlertThresholds:
    """Build thresholds from the ``[alerts]`` table of the alerts file."""
    where = "alerts"
    limits = data.get("paused_limits", {})
    queues = data.get("queues", {})
    if not isinstance(limits, dict) or not isinstance(queues, dict):
        raise AlertConfigError("alerts.paused_limits and alerts.queues must be tables")
    overrides = {}
    for name, section in queues.items():
        if not isinstance(section, dict):
            raise AlertConfigError(f"alerts.queues.{name} must be a table")
        here = f"alerts.queues.{name}"
        waiting = _number(section, "waiting_above", here, None)
        overrides[str(name)] = QueueThresholds(
            waiting_above=None if waiting is None else int(waiting),
            longest_wait_above_s=_number(section, "longest_wait_above_s", here, None),
            sl_target=_pct(section, "sl_target_pct", here, None),
        )
    waiting = _number(data, "waiting_above", where, 10)
    window = int(_number(data, "sl_window_minutes", where, 30))
    if not 1 <= window <= 60:
        raise AlertConfigError(
            f"alerts.sl_window_minutes must be 1–60 (the live window), got {window}"
        )
    return AlertThresholds(
        sl_target=sl_target,
        sl_window_minutes=window,
        sl_min_calls=int(_number(data, "sl_min_calls", where, 5)),
        waiting_above=None if waiting is None else int(waiting),
        longest_wait_above_s=_number(data, "longest_wait_above_s", where, 120.0),
        wrapup_beyond_s=_number(data, "wrapup_beyond_s", where, 180.0),
        paused_beyond_s=_number(data, "paused_beyond_s", where, 900.0),
        paused_limits={
            str(k): float(_number(limits, k, "alerts.paused_limits", 0)) for k in limits
        },
        ticket_sla_breached=bool(data.get("ticket_sla_breached", True)),
        ticket_check_s=float(_number(data, "ticket_check_s", where, 60.0)),
        queues=overrides,
    )


@dataclass(frozen=True)
class Condition:
    """A threshold crossed right now: what, about whom, the figure and its limit."""

    kind: AlertKind
    subject: str
    value: float
    limit: float
    message: str
    severity: Severity = Severity.WARNING

    @property
    def key(self) -> tuple[AlertKind, str]:
        return self.kind, self.subject


@dataclass(frozen=True)
class Alert:
    """One raised alert; ``acknowledged_by``/``_at`` are set once a supervisor acknowledges."""

    id: str
    kind: AlertKind
    subject: str
    message: str
    value: float
    limit: float
    severity: Severity
    raised_at: float
    acknowledged_by: str | None = None
    acknowledged_at: float | None = None

    @property
    def key(self) -> tuple[AlertKind, str]:
        return self.kind, self.subject

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_by is not None


@dataclass(frozen=True)
class AlertChanges:
    """What one evaluation did: newly raised, cleared, and every alert now active."""

    raised: tuple[Alert, ...]
    cleared: tuple[Alert, ...]
    active: tuple[Alert, ...]


class AlertNotFound(KeyError):
    """The alert to acknowledge is no longer active (it cleared meanwhile)."""


class AlertBook:
    """Keeps the active alerts: raises, updates and clears them from fresh conditions."""

    def __init__(self) -> None:
        self._active: dict[tuple[AlertKind, str], Alert] = {}
        self._ids = itertools.count(1)

    @property
    def active(self) -> tuple[Alert, ...]:
        """Newest first; unacknowledged before acknowledged."""
        return tuple(
            sorted(self._active.values(), key=lambda a: (a.acknowledged, -a.raised_at, a.id))
        )

    def update(self, conditions: Iterable[Condition], now: float) -> AlertChanges:
        seen: dict[tuple[AlertKind, str], Condition] = {c.key: c for c in conditions}
        raised = []
        for key, condition in seen.items():
            current = self._active.get(key)
            if current is None:
                alert = Alert(
                    f"A{next(self._ids)}", condition.kind, condition.subject, condition.message,
                    condition.value, condition.limit, condition.severity, now,
                )  # fmt: skip
                self._active[key] = alert
                raised.append(alert)
            else:
                self._active[key] = replace(
                    current,
                    message=condition.message,
                    value=condition.value,
                    limit=condition.limit,
                    severity=condition.severity,
                )
        cleared = tuple(self._active.pop(key) for key in list(self._active) if key not in seen)
        return AlertChanges(tuple(raised), cleared, self.active)

    def acknowledge(self, alert_id: str, who: str, now: float) -> Alert:
        """Record who acknowledged ``alert_id`` and when (the first acknowledgement stands)."""
        for key, alert in self._active.items():
            if alert.id == alert_id:
                if alert.acknowledged:
                    return alert
                done = replace(alert, acknowledged_by=who, acknowledged_at=now)
                self._active[key] = done
                return done
        raise AlertNotFound(f"alert {alert_id} is no longer active")
