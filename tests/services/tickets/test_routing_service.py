"""Routing through the service: rules in the history, team assignment at the centre, clean
refusals, re-routing on a reason change, clocks paused while waiting for the customer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, func, select, update

from agentdesk.models import Customer, Team, Ticket, TicketHistory
from agentdesk.services.tickets.service import TicketService
from agentdesk.services.tickets.views import TicketValidationError
from agentdesk.store.engine import read_session
from tests.services.tickets.conftest import Clock, Site
from tests.ui_workspace.builders import add_customer

Make = Callable[..., TicketService]
FRIDAY_1755 = dt.datetime(2026, 11, 27, 17, 55, tzinfo=dt.UTC)


def _count(engine: Engine, model: type[object]) -> int:
    with read_session(engine) as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _routing(service: TicketService, ticket_id: object) -> list[tuple[str, str | None, str]]:
    return [
        (h.field, h.new_value, h.changed_by)
        for h in service.detail(ticket_id).history  # type: ignore[arg-type]
        if h.changed_by == "routing"
    ]


def test_a_rule_routes_and_the_history_names_it(central: Engine, make_service: Make) -> None:
    cid = add_customer(central)
    with central.begin() as conn:
        conn.execute(update(Customer).where(Customer.id == cid).values(segment="premier"))
    service = make_service(clock=Clock(FRIDAY_1755))
    row = service.create(reason="complaint", title="Rude branch staff", customer_id=cid)
    assert (row.team, row.priority) == ("Everyday Banking", "high")
    assert _routing(service, row.id) == [
        ("routing", "rule premier-complaints: Everyday Banking, high", "routing")
    ]
    # 4 business hours (default policy, high = half of 8h) from Friday 17:55: Monday 12:55.
    assert row.first_response_due == dt.datetime(2026, 11, 30, 12, 55, tzinfo=dt.UTC)
    chosen = service.create(reason="complaint", title="x", priority="low", channel="email")
    assert chosen.priority == "low"
    assert _routing(service, chosen.id)[0][1] == (
        "rule everything-else: Everyday Banking, normal; priority chosen by the agent: low"
    )


def test_bad_input_is_refused_and_nothing_is_written(
    central: Engine, site: Site, make_service: Make
) -> None:
    service = make_service()
    before = (_count(central, Ticket), _count(central, TicketHistory))
    with pytest.raises(TicketValidationError, match="unknown ticket reason") as err:
        service.create(reason="pigeon", title="x")
    assert err.value.field == "reason"
    with pytest.raises(TicketValidationError, match="not a member") as err:
        service.create(reason="card_lost", title="x", assignee_id=site.agents["carol"])
    assert err.value.field == "assignee_id"
    with pytest.raises(TicketValidationError, match="no such team"):
        service.create(reason="card_lost", title="x", team_id=site.agents["carol"])
    row = service.create(reason="card_lost", title="Lost")
    with pytest.raises(TicketValidationError, match="not a member"):
        service.assign(row, site.agents["carol"])
    with pytest.raises(TicketValidationError, match="unknown ticket reason"):
        service.update(row, {"reason": "pigeon", "title": "Renamed"})
    assert service.get(row.id).title == "Lost"  # the valid half of the edit was not written
    assert (_count(central, Ticket), _count(central, TicketHistory)) == (
        before[0] + 1,
        before[1] + 2,  # created + routing of the one good ticket
    )


def test_a_team_this_store_does_not_hold_leaves_the_ticket_without_one(
    central: Engine, make_service: Make
) -> None:
    with central.begin() as conn:  # the site (or a desktop's cache) lacks the team a rule names
        conn.execute(update(Team).where(Team.name == "Back Office").values(name="Ops"))
    service = make_service()
    row = service.create(reason="address_change", title="Moved house")  # a wrap-up must not fail
    assert row.team_id is None and row.assignee_id is None
    assert _routing(service, row.id) == [
        (
            "routing",
            "rule back-office: Back Office, normal, least_loaded;"
            " team 'Back Office' is unknown here, left without a team",
            "routing",
        )
    ]


def test_round_robin_and_least_loaded_at_the_centre(site: Site, make_service: Make) -> None:
    centre = make_service("alice", at_centre=True)
    cards = [centre.create(reason="card_lost", title=f"Card {n}") for n in range(4)]
    assert [t.assignee for t in cards] == ["Alice", "Bob", "Alice", "Bob"]  # round robin
    assert set(_routing(centre, cards[0].id)) == {
        ("assignee_id", str(site.agents["alice"]), "routing"),
        ("routing", "rule lost-card: Cards, high, round_robin", "routing"),
    }
    first = centre.create(reason="fraud_report", title="Odd payments")
    assert first.assignee == "Carol"  # no open tickets yet: the login's order
    second = centre.create(reason="fraud_report", title="Phishing")
    assert second.assignee == "Dan"
    centre.update(first, {"status": "resolved"})  # Carol's load drops to zero
    assert centre.create(reason="card_dispute", title="Twice charged").assignee == "Carol"
    desk = make_service("alice")  # on a desktop the centre decides later: unassigned here
    assert desk.create(reason="card_lost", title="Card 5").assignee_id is None


def test_a_reason_change_routes_again(site: Site, make_service: Make) -> None:
    service = make_service(clock=Clock(FRIDAY_1755))
    row = service.create(reason="card_lost", title="Card gone", assignee_id=site.agents["bob"])
    assert (row.team, row.priority, row.assignee) == ("Cards", "high", "Bob")
    moved = service.update(row, {"reason": "fraud_report"})
    assert (moved.team, moved.priority, moved.assignee_id) == ("Fraud & Disputes", "urgent", None)
    assert moved.first_response_due == row.created_at + dt.timedelta(minutes=5)  # 24x7, urgent
    routing = _routing(service, row.id)
    assert ("routing", "rule fraud: Fraud & Disputes, urgent, least_loaded", "routing") in routing
    fields = {h.field for h in service.detail(row.id).history}
    assert {"reason", "team_id", "priority", "assignee_id", "first_response_due"} <= fields


def test_waiting_for_the_customer_pauses_the_clocks(site: Site, make_service: Make) -> None:
    clock = Clock(dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC))  # Monday
    service = make_service(clock=clock)
    row = service.create(reason="general_enquiry", title="Statement copy")
    assert row.resolution_due == dt.datetime(2026, 11, 25, 18, 0, tzinfo=dt.UTC)  # 27h
    clock.now = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
    row = service.update(row, {"status": "pending"})  # 26 business hours still owed
    assert row.sla_due is None and row.sla_paused_at is not None
    clock.now = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)  # a week later, Monday
    row = service.update(row, {"status": "open"})
    assert row.sla_paused_at is None
    assert row.resolution_due == dt.datetime(2026, 12, 2, 17, 0, tzinfo=dt.UTC)
    assert row.next_update_due == dt.datetime(2026, 12, 1, 18, 0, tzinfo=dt.UTC)  # 18h
    assert row.sla_due == row.next_update_due
