"""Why a caller waits while agents are Available: paused, wrong skill, not in that queue."""

from __future__ import annotations

from agentdesk.services.supervisor.views import AgentRow, AgentStatus, QueueMembership, QueueRow
from agentdesk.ui.supervisor.panels import why_waiting

NOW = 1_000_000.0


def _queue(name: str = "general", waiting: int = 1) -> QueueRow:
    return QueueRow(name, waiting, NOW - 145, None, None, None, None, 0.8, None, None, None,
                    1, 0, 0, 0, 0, 0, 0, 0)  # fmt: skip


def _agent(n: int, status: AgentStatus, *members: tuple[str, bool, str, int]) -> AgentRow:
    return AgentRow(
        f"PJSIP/{n}", f"Agent {n}", status, "", NOW - 60, 0, None, "", "",
        tuple(QueueMembership(q, p, reason, penalty) for q, p, reason, penalty in members),
    )  # fmt: skip


def test_available_agents_in_other_queues_only_are_named_as_not_in_that_queue() -> None:
    agents = [
        _agent(1, AgentStatus.PAUSED, ("general", True, "Lunch", 0)),
        _agent(2, AgentStatus.AVAILABLE, ("sales", False, "", 0)),
        _agent(3, AgentStatus.AVAILABLE, ("sales", False, "", 0), ("cards", False, "", 0)),
    ]
    text = why_waiting(_queue(), agents, NOW)
    assert text.startswith("general: 1 waiting, longest 2:25")
    assert "1 of 1 members paused (Lunch 1)" in text
    assert "not in that queue: 2 available in other queues only" in text


def test_free_members_only_at_a_higher_penalty_are_a_skill_mismatch() -> None:
    agents = [
        _agent(1, AgentStatus.ON_CALL, ("general", False, "", 0)),
        _agent(2, AgentStatus.AVAILABLE, ("general", False, "", 5)),
    ]
    text = why_waiting(_queue(), agents, NOW)
    assert "1 free member in general" in text
    assert "wrong skill: every free member has a higher penalty than 0" in text


def test_free_members_not_rung_are_said_so_and_nobody_logged_in_too() -> None:
    free = [_agent(1, AgentStatus.AVAILABLE, ("general", False, "", 0))]
    assert "the PBX is not offering the call to them" in why_waiting(_queue(), free, NOW)
    assert "no agent is logged in to general" in why_waiting(_queue(), [], NOW)
