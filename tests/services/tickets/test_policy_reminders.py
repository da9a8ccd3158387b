"""Automatic reminders from policy: one per clock episode, following the assignee, withdrawn
when nothing is left to remind about; a malformed policy is refused with the reason."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, select

from agentdesk.models import ChangeLog, Reminder
from agentdesk.services.tickets.policy_reminders import (
    PolicyReminders,
    ReminderPolicyError,
    load_reminder_policy,
    parse_reminder_policy,
)
from agentdesk.store.engine import read_session
from agentdesk.store.sync.central import CentralStore
from tests.services.tickets.conftest import Clock, Site

FRIDAY_10 = dt.datetime(2026, 12, 11, 10, 0, tzinfo=dt.UTC)
DUE = FRIDAY_10 + dt.timedelta(hours=2)


def _open(store: CentralStore, site: Site, assignee: str | None = "alice") -> uuid.UUID:
    ticket_id = uuid.uuid4()
    args: dict[str, Any] = {
        "id": str(ticket_id),
        "reason": "card_lost",
        "title": "Card lost",
        "team_id": str(site.teams["Cards"]),
        "first_response_due": DUE.isoformat(),
        "resolution_due": (FRIDAY_10 + dt.timedelta(days=3)).isoformat(),
    }
    if assignee is not None:
        args["assignee_id"] = str(site.agents[assignee])
    store.write("ticket.create", args, "alice")
    return ticket_id


def _reminders(engine: Engine, ticket_id: uuid.UUID) -> list[tuple[str, uuid.UUID, dt.datetime]]:
    with read_session(engine) as s:
        rows = s.scalars(
            select(Reminder).where(Reminder.ticket_id == ticket_id).order_by(Reminder.created_at)
        ).all()
        return [(r.state, r.agent_id, r.due_at) for r in rows]


def test_one_reminder_per_episode_follows_the_assignee_and_is_withdrawn(
    central: Engine, site: Site
) -> None:
    store = CentralStore(central)
    clock = Clock(FRIDAY_10)
    job = PolicyReminders(store, clock=clock)
    other = PolicyReminders(store, clock=clock)  # a second server instance, or a restart
    ticket_id = _open(store, site)
    unassigned = _open(store, site, assignee=None)
    job.reconcile()
    other.reconcile()
    job.reconcile()
    alice, bob = site.agents["alice"], site.agents["bob"]
    assert _reminders(central, ticket_id) == [("pending", alice, DUE - dt.timedelta(minutes=30))]
    assert _reminders(central, unassigned) == []
    with read_session(central) as s:
        [fed] = s.scalars(select(ChangeLog.entity_id).where(ChangeLog.entity_type == "reminder"))
        assert fed is not None  # the new reminder travels to the assignee's desk
    # Reassigned: the same reminder moves to bob.
    store.write("ticket.update", {"id": str(ticket_id), "changes": {"assignee_id": str(bob)}}, "x")
    job.reconcile()
    assert _reminders(central, ticket_id) == [("pending", bob, DUE - dt.timedelta(minutes=30))]
    # Assigned after the reminder time: due at once.
    clock.now = DUE - dt.timedelta(minutes=5)
    store.write(
        "ticket.update", {"id": str(unassigned), "changes": {"assignee_id": str(alice)}}, "x"
    )
    job.reconcile()
    assert _reminders(central, unassigned) == [("pending", alice, clock.now)]
    # Assigned after the deadline: no "due soon" reminder (escalation has it).
    late = _open(store, site, assignee=None)
    clock.now = DUE + dt.timedelta(minutes=1)
    store.write("ticket.update", {"id": str(late), "changes": {"assignee_id": str(alice)}}, "x")
    job.reconcile()
    assert _reminders(central, late) == []
    # Resolved: nothing left to remind about.
    store.write("ticket.update", {"id": str(ticket_id), "changes": {"status": "resolved"}}, "x")
    job.reconcile()
    assert [state for state, _, _ in _reminders(central, ticket_id)] == ["cancelled"]


def test_the_shipped_policy_loads_and_bad_ones_say_what_is_wrong() -> None:
    [rule] = load_reminder_policy()
    assert rule.clocks == {"first_response", "next_update"}
    assert rule.text("T-1", "next_update").startswith("T-1: the next update is due soon")
    good = {"name": "r", "clocks": ["resolution"], "before": "1h", "note": "{number}"}
    assert parse_reminder_policy({"policy": [good]})[0].before == dt.timedelta(hours=1)
    cases = [
        ({**good, "clocks": ["lunch"]}, "clocks lists"),
        ({**good, "before": "soon"}, "before"),
        ({**good, "before": "8d"}, "at most 7 days"),
        ({**good, "note": "{customer}"}, "unknown placeholder {customer}"),
        ({**good, "note": "{number"}, "note"),
        ({**good, "colour": "red"}, "unknown key 'colour'"),
    ]
    for table, message in cases:
        with pytest.raises(ReminderPolicyError, match=message.replace("{", r"\{")):
            parse_reminder_policy({"policy": [table]})
    with pytest.raises(ReminderPolicyError, match="unique"):
        parse_reminder_policy({"policy": [good, good]})
