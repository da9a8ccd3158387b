"""Which alert conditions hold on the board right now (see :mod:`.alerts` in this package)."""

from __future__ import annotations

from collections.abc import Mapping

from agentdesk.services.supervisor.alerts import AlertKind, AlertThresholds, Condition, Severity
from agentdesk.services.supervisor.queue_metrics import MetricsRow
from agentdesk.services.supervisor.views import AgentRow, AgentStatus, BoardSnapshot, QueueRow


def _mmss(seconds: float) -> str:
    total = int(max(0.0, seconds))
    return f"{total // 60}:{total % 60:02d}"


def _severity(value: float, limit: float) -> Severity:
    return Severity.CRITICAL if limit and value >= 2 * limit else Severity.WARNING


def _queue_conditions(
    queue: QueueRow, thresholds: AlertThresholds, window: MetricsRow | None, now: float
) -> list[Condition]:
    found = []
    waiting_limit = thresholds.waiting_limit(queue.name)
    if waiting_limit is not None and queue.waiting > waiting_limit:
        found.append(Condition(
            AlertKind.WAITING, queue.name, queue.waiting, waiting_limit,
            f"{queue.name}: {queue.waiting} callers waiting (limit {waiting_limit})",
            _severity(queue.waiting, waiting_limit),
        ))  # fmt: skip
    wait_limit = thresholds.longest_wait_limit(queue.name)
    if wait_limit is not None and queue.oldest_since is not None:
        longest = now - queue.oldest_since
        if longest > wait_limit:
            found.append(Condition(
                AlertKind.LONGEST_WAIT, queue.name, longest, wait_limit,
                f"{queue.name}: a caller has waited {_mmss(longest)} (limit {_mmss(wait_limit)})",
                _severity(longest, wait_limit),
            ))  # fmt: skip
    if window is not None and window.service_level is not None:
        calls = window.answered + window.abandoned - window.short_abandoned
        target = thresholds.sl_target_for(queue.name)
        if calls >= thresholds.sl_min_calls and window.service_level < target:
            low = window.service_level < target - 0.2
            severity = Severity.CRITICAL if low else Severity.WARNING
            found.append(Condition(
                AlertKind.SERVICE_LEVEL, queue.name, window.service_level, target,
                f"{queue.name}: service level {window.service_level:.0%} over the last "
                f"{thresholds.sl_window_minutes} min (target {target:.0%})",
                severity,
            ))  # fmt: skip
    return found


def _agent_condition(agent: AgentRow, thresholds: AlertThresholds, now: float) -> Condition | None:
    spent = now - agent.since
    if agent.status is AgentStatus.WRAP_UP:
        limit = thresholds.wrapup_beyond_s
        if limit and spent > limit:
            return Condition(
                AlertKind.WRAPUP_TOO_LONG, agent.interface, spent, limit,
                f"{agent.name}: in wrap-up for {_mmss(spent)} (limit {_mmss(limit)})",
                _severity(spent, limit),
            )  # fmt: skip
    elif agent.status is AgentStatus.PAUSED:
        pause_limit = thresholds.pause_limit(agent.reason)
        if pause_limit is not None and spent > pause_limit:
            reason = agent.reason or "no reason"
            return Condition(
                AlertKind.PAUSED_TOO_LONG, agent.interface, spent, pause_limit,
                f"{agent.name}: paused ({reason}) for {_mmss(spent)} "
                f"(limit {_mmss(pause_limit)})",
                _severity(spent, pause_limit),
            )  # fmt: skip
    return None


def conditions_for(
    snapshot: BoardSnapshot,
    thresholds: AlertThresholds,
    sl_windows: Mapping[str, MetricsRow],
    breached_tickets: int,
    now: float,
) -> list[Condition]:
    """Every threshold crossed on ``snapshot`` at ``now``."""
    found: list[Condition] = []
    for queue in snapshot.queues:
        found += _queue_conditions(queue, thresholds, sl_windows.get(queue.name), now)
    for agent in snapshot.agents:
        condition = _agent_condition(agent, thresholds, now)
        if condition is not None:
            found.append(condition)
    if thresholds.ticket_sla_breached and breached_tickets > 0:
        found.append(Condition(
            AlertKind.TICKET_SLA, "tickets", breached_tickets, 0,
            f"{breached_tickets} open ticket{'s' if breached_tickets != 1 else ''} "
            "past their SLA due time",
            Severity.CRITICAL if breached_tickets >= 10 else Severity.WARNING,
        ))  # fmt: skip
    return found
