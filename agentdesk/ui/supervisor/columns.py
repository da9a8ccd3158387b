"""What the wallboard's tables show: queue, agent, alert, latency and staffing columns."""

from __future__ import annotations

from agentdesk.services.supervisor import AgentRow, AgentStatus, QueueRow, WorkstationLatency
from agentdesk.services.supervisor.alerts import Alert, Severity
from agentdesk.services.supervisor.history import StaffingRow
from agentdesk.ui import format as fmt
from agentdesk.ui.supervisor.live_model import LiveColumn
from agentdesk.ui.supervisor.theme import STATUS_COLOURS, Tone, clock

SL_TIP = "answered within the threshold ÷ counted calls (see the definition above the tables)"


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def secs(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}s"


def _sl_colour(value: float | None, target: float) -> str | None:
    if value is None:
        return None
    if value >= target:
        return Tone.GOOD
    return Tone.BAD if value < target - 0.1 else Tone.WARN


def _sl(title: str, attr: str, tip: str) -> LiveColumn[QueueRow]:
    return LiveColumn(
        title,
        lambda r, _n: pct(getattr(r, attr)),
        sort=lambda r, _n: getattr(r, attr),
        colour=lambda r, _n: _sl_colour(getattr(r, attr), r.sl_target),
        tooltip=f"Service level {tip}: {SL_TIP}",
        numeric=True,
    )


def _longest(row: QueueRow, now: float) -> float | None:
    return None if row.oldest_since is None else max(0.0, now - row.oldest_since)


def _count(title: str, attr: str, tip: str = "") -> LiveColumn[QueueRow]:
    return LiveColumn(
        title, lambda r, _n: str(getattr(r, attr)), sort=lambda r, _n: getattr(r, attr),
        tooltip=tip, numeric=True,
    )  # fmt: skip


QUEUE_COLUMNS: tuple[LiveColumn[QueueRow], ...] = (
    LiveColumn("Queue", lambda r, _n: r.name),
    LiveColumn(
        "Waiting",
        lambda r, _n: str(r.waiting),
        sort=lambda r, _n: r.waiting,
        colour=lambda r, _n: Tone.BAD if r.waiting > r.available and r.waiting else None,
        tooltip="callers waiting now",
        numeric=True,
    ),
    LiveColumn(
        "Longest",
        lambda r, n: fmt.duration(_longest(r, n)) if r.waiting else "–",
        sort=lambda r, _n: float("-inf") if r.oldest_since is None else -r.oldest_since,
        tooltip="longest current wait, live",
        numeric=True,
        ticking=True,
    ),
    _sl("SL today", "sl_today", "today"),
    _sl("SL 15m", "sl_15", "over the last 15 minutes"),
    _sl("SL 30m", "sl_30", "over the last 30 minutes"),
    _sl("SL 60m", "sl_60", "over the last 60 minutes"),
    LiveColumn(
        "ASA",
        lambda r, _n: secs(r.asa_s),
        sort=lambda r, _n: r.asa_s,
        tooltip="average speed of answer today",
        numeric=True,
    ),
    LiveColumn(
        "AHT",
        lambda r, _n: secs(r.aht_s),
        sort=lambda r, _n: r.aht_s,
        tooltip="average handle time today: talk (with hold) + wrap-up",
        numeric=True,
    ),
    LiveColumn(
        "Aband.",
        lambda r, _n: pct(r.abandon_rate),
        sort=lambda r, _n: r.abandon_rate,
        tooltip="abandoned ÷ offered today (short abandons excluded)",
        numeric=True,
    ),
    _count(
        "Withdrawn",
        "withdrawn",
        "callers taken out of the queue today on request (QueueWithdrawCaller), not abandons",
    ),
    _count("Offered", "offered", "calls that entered the queue today"),
    _count("Answered", "answered"),
    _count("Logged in", "logged_in"),
    _count("Avail.", "available", "logged in, not paused, not busy"),
    _count("On call", "on_call", "talking, on hold or ringing"),
    _count("Wrap-up", "wrap_up"),
    _count("Paused", "paused"),
)
WALL_QUEUE_COLUMNS = ("Queue", "Waiting", "Longest", "SL 30m", "SL today", "Avail.", "On call")


def _in_state(row: AgentRow, now: float) -> float:
    return max(0.0, now - row.since)


def _state_colour(row: AgentRow, _now: float) -> str:
    return STATUS_COLOURS[row.status]


def _memberships(row: AgentRow, _now: float) -> str:
    return ", ".join(m.queue + (" (paused)" if m.paused else "") for m in row.memberships)


AGENT_COLUMNS: tuple[LiveColumn[AgentRow], ...] = (
    LiveColumn("Agent", lambda r, _n: r.name),
    LiveColumn("State", lambda r, _n: r.label, colour=_state_colour),
    LiveColumn("Reason", lambda r, _n: r.reason),
    LiveColumn(
        "In state",
        lambda r, n: fmt.duration(_in_state(r, n)),
        sort=lambda r, _n: -r.since,  # same order as time in state, constant while ticking
        tooltip="time in the current state, live",
        numeric=True,
        ticking=True,
    ),
    LiveColumn(
        "Calls",
        lambda r, _n: str(r.calls_handled),
        sort=lambda r, _n: r.calls_handled,
        tooltip="calls handled since logging in",
        numeric=True,
    ),
    LiveColumn(
        "AHT",
        lambda r, _n: secs(r.aht_s),
        sort=lambda r, _n: r.aht_s,
        tooltip="this agent's average handle time: talk + wrap-up",
        numeric=True,
    ),
    LiveColumn("Caller", lambda r, _n: r.caller),
    LiveColumn("Call queue", lambda r, _n: r.call_queue),
    LiveColumn("Queues", _memberships),
)
IDLE_STATES = (AgentStatus.AVAILABLE,)


def _severity_colour(alert: Alert, _now: float) -> str:
    if alert.acknowledged:
        return Tone.MUTED
    return Tone.BAD if alert.severity is Severity.CRITICAL else Tone.WARN


def _raised(alert: Alert, now: float) -> str:
    return fmt.duration(max(0.0, now - alert.raised_at)) + " ago"


def _acked(alert: Alert, _now: float) -> str:
    if not alert.acknowledged:
        return ""
    return f"{alert.acknowledged_by} at {clock(alert.acknowledged_at)}"


ALERT_COLUMNS: tuple[LiveColumn[Alert], ...] = (
    LiveColumn("Alert", lambda a, _n: a.message, colour=_severity_colour),
    LiveColumn("Raised", _raised, sort=lambda a, _n: -a.raised_at, ticking=True),
    LiveColumn("Acknowledged", _acked),
)

LATENCY_COLUMNS: tuple[LiveColumn[WorkstationLatency], ...] = (
    LiveColumn("Workstation", lambda r, _n: r.workstation),
    LiveColumn("Calls", lambda r, _n: str(r.calls), sort=lambda r, _n: r.calls, numeric=True),
    LiveColumn(
        "p50",
        lambda r, _n: f"{r.p50_ms:.0f} ms",
        sort=lambda r, _n: r.p50_ms,
        tooltip="median ring → screen-pop painted, today",
        numeric=True,
    ),
    LiveColumn(
        "p95",
        lambda r, _n: f"{r.p95_ms:.0f} ms",
        sort=lambda r, _n: r.p95_ms,
        colour=lambda r, _n: Tone.BAD if r.p95_ms > 200 else None,
        tooltip="95th percentile ring → screen-pop painted, today",
        numeric=True,
    ),
    LiveColumn(
        "Max", lambda r, _n: f"{r.max_ms:.0f} ms", sort=lambda r, _n: r.max_ms, numeric=True
    ),
)


def _staffed(row: StaffingRow, _now: float) -> str:
    return "–" if row.actual is None else f"{row.actual:.1f}"


def _gap_colour(row: StaffingRow, _now: float) -> str | None:
    if row.required is None or row.actual is None:
        return None
    return Tone.BAD if row.actual + 0.5 < row.required else Tone.GOOD


STAFFING_COLUMNS: tuple[LiveColumn[StaffingRow], ...] = (
    LiveColumn("Interval", lambda r, _n: r.start.strftime("%H:%M")),
    LiveColumn(
        "Calls",
        lambda r, _n: f"{r.forecast_calls:g}",
        sort=lambda r, _n: r.forecast_calls,
        tooltip="today's calls for past intervals; the same weekday last week ahead",
        numeric=True,
    ),
    LiveColumn("AHT", lambda r, _n: secs(r.aht_s), sort=lambda r, _n: r.aht_s, numeric=True),
    LiveColumn(
        "Needed",
        lambda r, _n: "–" if r.required is None else str(r.required),
        sort=lambda r, _n: r.required,
        tooltip="Erlang C: agents for the service-level target",
        numeric=True,
    ),
    LiveColumn(
        "Staffed",
        _staffed,
        sort=lambda r, _n: r.actual,
        colour=_gap_colour,
        tooltip="average agents logged in during the interval",
        numeric=True,
    ),
)
