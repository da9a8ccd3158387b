"""Ticket service: lists, SLA due from policy, workflow, comments and concurrent-edit conflicts."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, insert

from agentdesk.ids import uuid7
from agentdesk.models import Team
from agentdesk.services.tickets.service import TicketService
from agentdesk.services.tickets.sla import load_policy
from agentdesk.services.tickets.views import TicketConflict, TicketValidationError
from agentdesk.store.writer import LocalWriter
from tests.ui_workspace.builders import Org, add_customer, add_org

OPENED = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def _service(engine: Engine, org: Org, actor: str = "alice") -> TicketService:
    agent = org.agent_id if actor == "alice" else org.other_agent_id
    return TicketService(engine, LocalWriter(engine, actor), load_policy(), agent)


@pytest.fixture
def org(central: Engine) -> Org:
    return add_org(central, team="Cards")


def test_create_computes_sla_and_routes_to_the_reason_team(central: Engine, org: Org) -> None:
    cid = add_customer(central)
    service = _service(central, org)
    row = service.create(
        reason="card_lost",
        title="Card lost in Lisbon",
        customer_id=cid,
        priority="urgent",
        now=OPENED,
    )
    assert row.number.startswith("T-") and row.status == "new" and row.team == "Cards"
    assert row.first_response_due == OPENED + dt.timedelta(minutes=5)
    assert row.resolution_due == OPENED + dt.timedelta(hours=1)
    assert row.sla_due == row.first_response_due and row.customer_name == "Amelia Okafor"
    assert [t.id for t in service.customer_tickets(cid)] == [row.id]
    assert [t.id for t in service.team_tickets()] == [row.id]
    assert service.my_tickets() == []
    with pytest.raises(TicketValidationError, match="unknown ticket reason"):
        service.create(reason="pigeon", title="x")
    with pytest.raises(TicketValidationError, match="title"):
        service.create(reason="card_lost", title="  ")


def test_assign_status_workflow_comments_and_history(central: Engine, org: Org) -> None:
    service = _service(central, org)
    row = service.create(reason="card_dispute", title="Disputed payment", now=OPENED)
    row = service.assign(row, org.agent_id)
    assert row.assignee == "Alice Agent" and [t.id for t in service.my_tickets()] == [row.id]
    row = service.update(row, {"status": "open"})
    assert row.status == "open" and row.first_responded_at is not None
    assert row.sla_due == row.resolution_due
    with pytest.raises(TicketValidationError, match="can move to"):
        service.update(row, {"status": "closed"})
    row = service.update(row, {"status": "resolved"})
    row = service.update(row, {"status": "open"})  # reopen
    assert row.status == "open"
    row = service.update(row, {"priority": "high"})
    assert row.resolution_due == row.created_at + dt.timedelta(days=5)  # high: half of 10d
    service.comment(row.id, "Called the merchant. " + "مرحبا 你好 " * 1000, internal=False)
    detail = service.detail(row.id)
    assert len(detail.comments) == 1 and not detail.comments[0].internal
    fields = [h.field for h in detail.history]
    assert {"created", "assignee_id", "status", "priority", "resolution_due"} <= set(fields)
    with pytest.raises(TicketValidationError):
        service.comment(row.id, "x" * 100_001)


def test_second_agent_sees_a_conflict_and_nothing_is_lost(central: Engine, org: Org) -> None:
    alice, bob = _service(central, org), _service(central, org, "bob")
    created = alice.create(reason="payment_failed", title="Salary missing", now=OPENED)
    seen_by_alice = alice.get(created.id)
    seen_by_bob = bob.get(created.id)
    alice.update(seen_by_alice, {"priority": "high", "title": "Salary payment missing"})
    with pytest.raises(TicketConflict) as err:
        bob.update(seen_by_bob, {"priority": "urgent", "severity": "major"})
    conflict = err.value
    assert [(f.field, f.base, f.theirs, f.yours) for f in conflict.fields] == [
        ("priority", "normal", "high", "urgent")
    ]
    assert bob.get(created.id).priority == "high"  # nothing written by the refused save
    merged = bob.update(seen_by_bob, {"severity": "major"})  # a field nobody else touched
    assert merged.severity == "major" and merged.title == "Salary payment missing"
    forced = bob.update(conflict.current, {"priority": "urgent"})
    history = [
        (h.field, h.old_value, h.new_value, h.changed_by)
        for h in bob.detail(created.id).history
        if h.field == "priority"
    ]
    assert forced.priority == "urgent"
    assert ("priority", "high", "urgent", "bob") in history
    assert ("priority", "normal", "high", "alice") in history


def test_lists_only_the_agents_teams(central: Engine, org: Org) -> None:
    other_team = uuid7()
    with central.begin() as conn:
        conn.execute(insert(Team), [{"id": other_team, "name": "Mortgages"}])
    service = _service(central, org)
    service.create(reason="mortgage_query", title="Overpayment", team_id=other_team)
    mine = service.create(reason="card_lost", title="Card lost")
    assert [t.id for t in service.team_tickets()] == [mine.id]
    assert {name for _, name in service.teams()} == {"Cards", "Mortgages"}
