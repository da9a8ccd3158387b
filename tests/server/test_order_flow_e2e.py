"""Customer Orders Product end to end, through a real server: a verified caller orders an
eligible product on the agent's desktop → the order is pushed and authorised (eligibility
decided again with the decrypted date of birth) → a fulfilment ticket routed to the Back
Office with its SLA → a back-office member moves it along on their desktop → the customer
is mailed at each step, in German → every message is on the customer's timeline.

The harness is issue 12's (``test_ticket_workflow_e2e``): a server on loopback, desktops as
the server sees them, the site's scheduler ticked by hand, aiosmtpd receiving the mail.
"""

from __future__ import annotations

import uuid

from sqlalchemy import insert, select

from agentdesk.models import Interaction, OutboxEntry, Team, Ticket, agent_team
from agentdesk.services.crm.timeline import TimelineService
from agentdesk.services.desk.call_data import IvrData
from agentdesk.services.orders.catalogue import load_catalogue
from agentdesk.services.orders.service import OrderService, OrderStatus
from agentdesk.services.tickets.plan import TicketPlanner
from agentdesk.services.tickets.routing import load_rules
from agentdesk.services.tickets.sla import load_policy
from agentdesk.store.engine import read_session, write_session
from tests.server.test_ticket_workflow_e2e import FRIDAY_10, Desk, Site, site  # noqa: F401
from tests.services.notifications.conftest import Relay, relay  # noqa: F401 - the fixture
from tests.sync.factories import REF, person

BACK_OFFICE = uuid.UUID("0190f000-0000-7000-8000-0000000000bf")


def _orders(desk: Desk, agent_id: uuid.UUID, site: Site) -> OrderService:  # noqa: F811
    policy = load_policy()
    planner = TicketPlanner(desk.engine, policy, load_rules(reasons=policy.reasons))
    return OrderService(
        desk.engine, desk.writer, planner, load_catalogue(), agent_id, clock=site.clock
    )


def test_verified_order_to_back_office_fulfilment_with_german_mail_on_the_timeline(
    site: Site,  # noqa: F811
    relay: Relay,  # noqa: F811
) -> None:
    with write_session(site.engine) as s:  # the back office: bob, in a team of his own
        s.execute(insert(Team).values(id=BACK_OFFICE, name="Back Office"))
        s.execute(insert(agent_team).values(agent_id=REF.bob, team_id=BACK_OFFICE))
    alice = site.desk("alice")
    customer = person(preferred_language="de", preferred_channel="email")
    cid = uuid.UUID(str(customer["id"]))
    alice.writer.write("customer.create", customer)
    alice.syncer.cycle()

    # On the call (IVR ID&V passed): the catalogue with reasons, then the order.
    orders = _orders(alice, REF.alice, site)
    offers = {v.product.code: v for v in orders.offers(cid)}
    assert offers["credit_card"].describe() == (
        "Not eligible: needs a current account first; no verified identity document on file"
    )
    order = orders.place(cid, "home_insurance", ivr=IvrData(idv_result="passed", idv_method="pin"))
    alice.syncer.cycle()
    with read_session(site.engine) as s:
        ticket = s.get(Ticket, order.ticket_id)
        assert ticket is not None, "the server refused the order"
        assert (ticket.team_id, ticket.assignee_id) == (BACK_OFFICE, REF.bob)
        assert ticket.resolution_due is not None and ticket.resolution_due > FRIDAY_10

    site.at(FRIDAY_10)
    [placed] = relay.mailbox.messages
    assert placed["Subject"] == f"Ihre Bestellung {order.number}: Home insurance"

    # The back office works its queue on its own desktop: in fulfilment, then fulfilled.
    bob = site.desk("bob")
    back_office = _orders(bob, REF.bob, site)
    [queued] = back_office.orders(cid)
    assert back_office.can_work(queued) and not orders.can_work(queued)
    working = back_office.advance(queued, OrderStatus.IN_FULFILMENT)
    bob.syncer.cycle()
    site.at(FRIDAY_10.replace(minute=5))
    done = back_office.advance(working, OrderStatus.FULFILLED)
    bob.syncer.cycle()
    site.at(FRIDAY_10.replace(minute=10))
    subjects = [m["Subject"] for m in relay.mailbox.messages]
    assert subjects[1] == f"Wir bearbeiten Ihre Bestellung {order.number}"
    # Fulfilled, and the survey any resolved request gets (sent in the same tick).
    assert set(subjects[2:]) == {
        f"Ihre Bestellung {order.number} ist abgeschlossen",
        "Wie zufrieden waren Sie?",
    }
    assert {m["Content-Language"] for m in relay.mailbox.messages} == {"de"}
    assert done.status is OrderStatus.FULFILLED

    # Every message is an outbound contact on the customer's timeline, on alice's desktop too.
    with read_session(site.engine) as s:
        sent = s.scalars(select(Interaction.subject).where(Interaction.customer_id == cid)).all()
    assert f"Ihre Bestellung {order.number} ist abgeschlossen" in sent
    alice.syncer.cycle()
    page = TimelineService(alice.engine, alice.writer).page(cid)
    summaries = [e.summary for e in page.entries]
    assert any(order.number in s and "abgeschlossen" in s for s in summaries), summaries
    assert [o.status for o in orders.orders(cid)] == [OrderStatus.FULFILLED]


def test_the_server_refuses_an_order_the_desktop_let_through(site: Site) -> None:  # noqa: F811
    alice = site.desk("alice")
    adult, young = person(), person(date_of_birth="2010-06-01")  # 16: under 18
    for customer in (adult, young):
        alice.writer.write("customer.create", customer)
    alice.syncer.cycle()
    orders = _orders(alice, REF.alice, site)
    args = orders.plan(
        uuid.UUID(str(adult["id"])), "home_insurance", ivr=IvrData(idv_result="passed")
    )
    # A desktop that skipped its own checks pushes the same order for the 16-year-old.
    ticket = args.ticket.model_copy(update={"customer_id": uuid.UUID(str(young["id"]))})
    alice.writer.write("order.place", args.model_copy(update={"ticket": ticket}))
    alice.syncer.cycle()
    with read_session(site.engine) as s:
        assert s.get(Ticket, args.ticket.id) is None
    with read_session(alice.engine) as s:  # the desktop is told why, naming the field
        entry = s.scalars(select(OutboxEntry).where(OutboxEntry.name == "order.place")).one()
        assert entry.error is not None and "under 18" in entry.error
        assert entry.error_field == "product_code"
