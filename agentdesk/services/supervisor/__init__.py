"""Supervisor use cases: the live wallboard from AMI, alerts, agent control, reports, roles.

Start at :class:`SupervisorService` (role-checked, one per signed-in
supervisor); :class:`LiveBoard` is its event-driven model and
:class:`BoardSnapshot` what the views paint.
"""

from agentdesk.services.supervisor.board import LiveBoard
from agentdesk.services.supervisor.floor_stats import BreachedTickets, WorkstationLatency
from agentdesk.services.supervisor.history import IntervalPoint, IntervalSeries, StaffingRow
from agentdesk.services.supervisor.service import (
    ActionOutcome,
    SupervisorInputError,
    SupervisorService,
)
from agentdesk.services.supervisor.settings import SupervisorSettings, load_settings
from agentdesk.services.supervisor.views import (
    STATUS_LABELS,
    AgentRow,
    AgentStatus,
    BoardSnapshot,
    QueueMembership,
    QueueRow,
    WaitingCaller,
)

__all__ = [
    "STATUS_LABELS",
    "ActionOutcome",
    "AgentRow",
    "AgentStatus",
    "BoardSnapshot",
    "BreachedTickets",
    "IntervalPoint",
    "IntervalSeries",
    "LiveBoard",
    "QueueMembership",
    "QueueRow",
    "StaffingRow",
    "SupervisorInputError",
    "SupervisorService",
    "SupervisorSettings",
    "WaitingCaller",
    "WorkstationLatency",
    "load_settings",
]
