"""The frozen rows the supervisor views show: queues, agents, waiting callers, the whole board."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from agentdesk.services.supervisor.alerts import Alert


class AgentStatus(StrEnum):
    """An agent's state as the wallboard shows it (from queue-member and call events)."""

    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    RINGING = "ringing"
    ON_CALL = "on_call"
    ON_HOLD = "on_hold"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"
    UNAVAILABLE = "unavailable"


STATUS_LABELS: dict[AgentStatus, str] = {
    AgentStatus.LOGGED_OUT: "Logged out",
    AgentStatus.AVAILABLE: "Available",
    AgentStatus.RINGING: "Ringing",
    AgentStatus.ON_CALL: "On call",
    AgentStatus.ON_HOLD: "On hold",
    AgentStatus.WRAP_UP: "Wrap-up",
    AgentStatus.PAUSED: "Paused",
    AgentStatus.UNAVAILABLE: "Unavailable",
}


@dataclass(frozen=True, slots=True)
class QueueMembership:
    """An agent's membership of one queue as the PBX last reported it."""

    queue: str
    paused: bool
    reason: str
    penalty: int = 0


@dataclass(frozen=True, slots=True)
class AgentRow:
    """One agent on the wallboard. ``since`` is epoch seconds; the view ticks ``now - since``."""

    interface: str
    name: str
    status: AgentStatus
    reason: str
    since: float
    calls_handled: int
    aht_s: float | None
    caller: str
    call_queue: str
    memberships: tuple[QueueMembership, ...]

    @property
    def key(self) -> str:
        return self.interface.lower()

    @property
    def queues(self) -> tuple[str, ...]:
        return tuple(m.queue for m in self.memberships)

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One queue on the wallboard. ``oldest_since`` is when the longest-waiting caller joined."""

    name: str
    waiting: int
    oldest_since: float | None
    sl_today: float | None
    sl_15: float | None
    sl_30: float | None
    sl_60: float | None
    sl_target: float
    asa_s: float | None
    aht_s: float | None
    abandon_rate: float | None
    offered: int
    answered: int
    abandoned: int
    logged_in: int
    available: int
    on_call: int
    wrap_up: int
    paused: int
    withdrawn: int = 0  # today: taken out of the queue on request (not abandoned)

    @property
    def key(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class WaitingCaller:
    """A caller in a queue now."""

    uniqueid: str
    queue: str
    caller: str
    since: float


@dataclass(frozen=True)
class BoardSnapshot:
    """Everything the wallboard paints at one instant, built off the GUI thread."""

    at: float
    queues: tuple[QueueRow, ...]
    agents: tuple[AgentRow, ...]
    alerts: tuple[Alert, ...]
    definition: str
    connected: bool
    link_detail: str = ""

    def queue(self, name: str) -> QueueRow | None:
        return next((q for q in self.queues if q.name == name), None)

    def agent(self, interface: str) -> AgentRow | None:
        wanted = interface.lower()
        return next((a for a in self.agents if a.key == wanted), None)
