"""Ticket service: lists, workflow, comments, concurrent-edit conflicts, only changes written."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import Engine

from agentdesk.services.tickets.service import TicketService
from agentdesk.services.tickets.views import TicketConflict, TicketValidationError
from tests.services.tickets.conftest import Clock, Site
from tests.ui_workspace.builders import add_customer

OPENED = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
Make = Callable[..., TicketService]


def test_create_routes_and_lists(central: Engine, site: Site, make_service: Make) -> None:
    cid = add_customer(central)
    service = make_service()
    row = service.create(
        reason="card_lost",
        title="Card lost in Lisbon",
        customer_id=cid,
        priority="urgent",
        now=OPENED,
    )
    assert row.number.startswith("T-") and row.status == "new" and row.team == "Cards"
    assert row.first_response_due == OPENED + dt.timedelta(minutes=15)  # Cards, urgent
    assert row.sla_due == row.first_response_due and row.customer_name == "Amelia Okafor"
    assert [t.id for t in service.customer_tickets(cid)] == [row.id]
    assert [t.id for t in service.team_tickets()] == [row.id]
    assert service.my_tickets() == []
    with pytest.raises(TicketValidationError, match="unknown ticket reason"):
        service.create(reason="pigeon", title="x")
    with pytest.raises(TicketValidationError, match="title"):
        service.create(reason="card_lost", title="  ")


def test_assign_status_workflow_comments_and_history(site: Site, make_service: Make) -> None:
    clock = Clock(OPENED)
    service = make_service(clock=clock)
    row = service.create(reason="payment_failed", title="Failed payment")
    row = service.assign(row, site.agents["alice"])
    assert row.assignee == "Alice" and [t.id for t in service.my_tickets()] == [row.id]
    clock.now += dt.timedelta(hours=1)
    row = service.update(row, {"status": "open"})
    assert row.status == "open" and row.first_responded_at is not None
    assert row.next_update_due is not None and row.sla_due == row.next_update_due
    with pytest.raises(TicketValidationError, match="can move to"):
        service.update(row, {"status": "closed"})
    row = service.update(row, {"status": "resolved"})
    assert row.sla_due is None and row.sla_paused_at is not None
    row = service.update(row, {"status": "open"})  # reopen
    assert row.status == "open" and row.sla_paused_at is None
    row = service.update(row, {"priority": "high"})
    service.comment(row.id, "Called the merchant. " + "مرحبا 你好 " * 1000, internal=False)
    detail = service.detail(row.id)
    assert len(detail.comments) == 1 and not detail.comments[0].internal
    fields = [h.field for h in detail.history]
    assert {"created", "routing", "assignee_id", "status", "priority", "resolution_due"} <= set(
        fields
    )
    with pytest.raises(TicketValidationError):
        service.comment(row.id, "x" * 100_001)


def test_saving_unchanged_values_writes_nothing(site: Site, make_service: Make) -> None:
    service = make_service()
    row = service.create(reason="payment_failed", title="Salary missing", now=OPENED)
    row = service.assign(row, site.agents["bob"])
    before = service.detail(row.id).history
    same = {k: row.value(k) for k in ("title", "status", "priority", "team_id", "assignee_id")}
    after = service.update(row, same)
    assert after.assignee_id == site.agents["bob"] and after.team_id == site.teams["Cards"]
    assert service.detail(row.id).history == before


def test_second_agent_sees_a_conflict_and_nothing_is_lost(make_service: Make) -> None:
    alice, bob = make_service(), make_service("bob")
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


def test_lists_only_the_agents_teams(site: Site, make_service: Make) -> None:
    service = make_service()
    service.create(reason="mortgage_query", title="Overpayment")
    mine = service.create(reason="card_lost", title="Card lost")
    assert [t.id for t in service.team_tickets()] == [mine.id]
    assert {name for _, name in service.teams()} >= {"Cards", "Loans & Mortgages"}
