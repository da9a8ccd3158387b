"""Supervisor use cases: the live wallboard from AMI, alerts, agent control, reports, roles.

Start at :class:`SupervisorService` (role-checked, one per signed-in
supervisor); :class:`LiveBoard` is its event-driven model and
:class:`BoardSnapshot` what the views paint.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentdesk.services.supervisor.board import LiveBoard
    from agentdesk.services.supervisor.floor_stats import BreachedTickets, WorkstationLatency
    from agentdesk.services.supervisor.history import (
        IntervalPoint,
        IntervalSeries,
        StaffingRow,
    )
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

# Where each name lives. Imported on first use (PEP 562), so that ``agentdesk report``,
# which needs only the queue_log modules of this package, loads no database code.
_LAZY = {
    "LiveBoard": "board",
    "BreachedTickets": "floor_stats",
    "WorkstationLatency": "floor_stats",
    "IntervalPoint": "history",
    "IntervalSeries": "history",
    "StaffingRow": "history",
    "ActionOutcome": "service",
    "SupervisorInputError": "service",
    "SupervisorService": "service",
    "SupervisorSettings": "settings",
    "load_settings": "settings",
    "STATUS_LABELS": "views",
    "AgentRow": "views",
    "AgentStatus": "views",
    "BoardSnapshot": "views",
    "QueueMembership": "views",
    "QueueRow": "views",
    "WaitingCaller": "views",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


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
