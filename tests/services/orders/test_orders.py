"""Placing orders: refusals write nothing; a verified, eligible order is a routed ticket
with SLA clocks; the server decides again with the date of birth."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from agentdesk.models import OutboxEntry, Ticket, TicketHistory
from agentdesk.services.desk.call_data import IvrData
from agentdesk.services.orders.catalogue import load_catalogue
from agentdesk.services.orders.gate import check_order
from agentdesk.services.orders.service import OrderRefused, OrderStatus, order_status
from agentdesk.services.tickets.sla import load_policy
from agentdesk.store.engine import read_session
from agentdesk.store.mutations import MutationRejected
from agentdesk.store.sync.central import CentralStore
from agentdesk.store.writer import LocalWriter
from tests.services.orders.conftest import NOW, Shop
from tests.ui_workspace.builders import FIELD_KEYRING

PASSED = IvrData(idv_result="passed", idv_method="pin", idv_attempts=1)


def _counts(shop: Shop) -> tuple[int, int]:
    with read_session(shop.engine) as s:
        return (
            s.scalar(select(func.count()).select_from(Ticket)) or 0,
            s.scalar(select(func.count()).select_from(OutboxEntry)) or 0,
        )


def test_offers_list_every_product_with_its_reason(shop: Shop) -> None:
    cid = shop.customer(held=("current", "card"))
    offers = {v.product.code: v for v in shop.service.offers(cid)}
    assert offers["credit_card"].describe() == "Not eligible: already holds a credit card"
    assert offers["easy_saver"].eligible
    assert len(offers) == len(load_catalogue().products)


@pytest.mark.parametrize(
    ("ivr", "method", "message"),
    [
        (None, None, "the caller is not verified"),
        (IvrData(idv_result="not_attempted"), None, "the caller is not verified"),
        (IvrData(idv_result="partial"), None, "the caller is not verified"),
        (IvrData(idv_result="failed"), "security_questions", "ID&V failed in the IVR"),
        (None, "shoe_size", "unknown verification method"),
    ],
)
def test_an_unverified_caller_cannot_order_and_nothing_is_written(
    shop: Shop, ivr: IvrData | None, method: str | None, message: str
) -> None:
    cid = shop.customer()
    with pytest.raises(OrderRefused, match=message):
        shop.service.place(cid, "credit_card", ivr=ivr, agent_method=method)
    assert _counts(shop) == (0, 0)


def test_an_ineligible_order_is_refused_with_the_reason(shop: Shop) -> None:
    cid = shop.customer(held=("current", "card"))
    with pytest.raises(OrderRefused, match="not eligible: already holds a credit card"):
        shop.service.place(cid, "credit_card", ivr=PASSED)
    with pytest.raises(OrderRefused, match="no product 'gold_bar'"):
        shop.service.place(cid, "gold_bar", ivr=PASSED)
    assert _counts(shop) == (0, 0)


def test_a_verified_order_becomes_a_back_office_ticket_with_its_sla(shop: Shop) -> None:
    cid = shop.customer()
    order = shop.service.place(cid, "credit_card", ivr=PASSED)
    assert order.status is OrderStatus.PLACED
    assert order.product_name == "Classic credit card"
    assert order.verification == "Verified by the IVR (PIN)"
    with read_session(shop.engine) as s:
        ticket = s.get(Ticket, order.ticket_id)
        assert ticket is not None
        assert ticket.reason == "product_order"
        assert ticket.team_id == shop.teams["Back Office"]
        history = dict(
            s.execute(
                select(TicketHistory.field, TicketHistory.new_value).where(
                    TicketHistory.ticket_id == ticket.id
                )
            ).all()
        )
        resolution_due = ticket.resolution_due
    due = load_policy().due("Back Office", ticket.priority, NOW)
    assert resolution_due is not None
    assert resolution_due.replace(tzinfo=dt.UTC) == due.resolution_due
    assert (history["routing"] or "").startswith("rule orders: Back Office")
    assert history["order_product"] == "credit_card"
    assert history["order_verified"] == "ivr:pin"
    assert _counts(shop) == (1, 1)  # one ticket, one queued mutation (order.place)
    assert [o.ticket_id for o in shop.service.orders(cid)] == [order.ticket_id]


def test_outside_a_call_the_agent_verifies_and_says_how(shop: Shop) -> None:
    cid = shop.customer()
    order = shop.service.place(cid, "easy_saver", ivr=None, agent_method="document_seen")
    assert order.verification == "Verified by the agent: identity document seen in person"


def test_a_business_customers_order_goes_to_the_back_office_too(shop: Shop) -> None:
    cid = shop.customer(held=(), kind="business", segment="small_business", date_of_birth=None)
    order = shop.service.place(cid, "business_account", ivr=PASSED)
    with read_session(shop.engine) as s:
        ticket = s.get(Ticket, order.ticket_id)
        assert ticket is not None and ticket.team_id == shop.teams["Back Office"]


def test_order_status_reads_the_ticket_workflow() -> None:
    assert order_status("new", False) is OrderStatus.PLACED
    assert order_status("open", False) is OrderStatus.IN_FULFILMENT
    assert order_status("pending", False) is OrderStatus.IN_FULFILMENT
    assert order_status("resolved", True) is OrderStatus.FULFILLED
    assert order_status("closed", True) is OrderStatus.FULFILLED
    assert order_status("closed", False) is OrderStatus.REJECTED


def _pushed_args(shop: Shop) -> dict[str, object]:
    with read_session(shop.engine) as s:
        entry = s.scalars(select(OutboxEntry)).one()
        return dict(entry.args)


def test_the_server_decides_the_age_from_the_date_of_birth(shop: Shop) -> None:
    # Born 9 Dec 2005: 20 on the order day. The desktop, with the birth year only, lets the
    # Platinum card through provisionally; the centre reads the date and refuses it.
    cid = shop.customer(segment="premier", date_of_birth=dt.date(2005, 12, 9))
    offer = {v.product.code: v for v in shop.service.offers(cid)}["platinum_card"]
    assert offer.provisional
    shop.service.place(cid, "platinum_card", ivr=PASSED)
    args = _pushed_args(shop)
    catalogue = load_catalogue()
    with read_session(shop.engine) as s:
        with pytest.raises(MutationRejected, match="under 21") as refused:
            check_order(s, args, catalogue=catalogue, cipher=FIELD_KEYRING, today=NOW.date())
        assert refused.value.field == "product_code"
        # A day later the customer is 21 and the same order passes.
        check_order(s, args, catalogue=catalogue, cipher=FIELD_KEYRING, today=dt.date(2026, 12, 9))


def test_the_server_refuses_a_forged_verification(shop: Shop) -> None:
    cid = shop.customer()
    shop.service.place(cid, "credit_card", ivr=None, agent_method="security_questions")
    args = _pushed_args(shop)
    catalogue = load_catalogue()
    with read_session(shop.engine) as s:
        for forged, field in (
            ({"verification_method": "trust_me"}, "verification_method"),
            ({"verified_by": "nobody"}, "verified_by"),
            ({"product_code": "gold_bar"}, "product_code"),
        ):
            with pytest.raises(MutationRejected) as refused:
                check_order(
                    s, {**args, **forged}, catalogue=catalogue, cipher=None, today=NOW.date()
                )
            assert refused.value.field == field


def test_the_centre_applies_the_pushed_order_once(shop: Shop, tmp_path: object) -> None:
    cid = shop.customer()
    shop.service.place(cid, "easy_saver", ivr=PASSED)
    args = _pushed_args(shop)
    store = CentralStore(shop.engine, FIELD_KEYRING)
    again = store.write("order.place", args, "alice")
    assert again.result["status"] == "exists"  # a replay changes nothing


def test_order_arguments_must_be_an_order_for_a_customer() -> None:
    from agentdesk.ids import uuid7
    from agentdesk.store.mutation_args.orders import OrderPlace

    base = {"product_code": "credit_card", "verified_by": "ivr", "verification_method": "pin"}
    ticket: dict[str, str | None] = {
        "id": str(uuid7()),
        "reason": "card_lost",
        "title": "x",
        "customer_id": str(uuid7()),
    }
    with pytest.raises(MutationRejected, match="reason product_order"):
        OrderPlace.parse({**base, "ticket": ticket})
    ticket = {**ticket, "reason": "product_order", "customer_id": None}
    with pytest.raises(MutationRejected, match="placed for a customer"):
        OrderPlace.parse({**base, "ticket": ticket})


def test_the_timeline_names_the_orders_history_in_words(shop: Shop) -> None:
    from agentdesk.services.crm.timeline import TimelineService

    cid = shop.customer()
    shop.service.place(cid, "easy_saver", ivr=PASSED)
    timeline = TimelineService(shop.engine, LocalWriter(shop.engine, actor="alice"))
    summaries = {e.summary.split(": ", 1)[1] for e in timeline.page(cid).entries}
    assert "order placed for Easy saver" in summaries
    assert "caller verified by the IVR (PIN)" in summaries


def test_the_server_refuses_a_second_order_of_the_same_product(shop: Shop) -> None:
    cid = shop.customer()
    first = shop.service.plan(cid, "easy_saver", ivr=PASSED)
    second = shop.service.plan(cid, "easy_saver", ivr=PASSED)
    store = CentralStore(shop.engine, FIELD_KEYRING)
    store.write("order.place", first.to_json(), "alice")
    catalogue = load_catalogue()
    with read_session(shop.engine) as s:
        check_order(s, first.to_json(), catalogue=catalogue, cipher=None, today=NOW.date())
        with pytest.raises(MutationRejected, match="already on order"):
            check_order(s, second.to_json(), catalogue=catalogue, cipher=None, today=NOW.date())


def test_only_the_back_office_moves_an_order_along(shop: Shop) -> None:
    from sqlalchemy import insert

    from agentdesk.models import agent_team
    from agentdesk.services.orders.service import OrderStatus as S

    cid = shop.customer()
    order = shop.service.place(cid, "easy_saver", ivr=PASSED)
    assert not shop.service.can_work(order)  # alice is in Cards, the order went to Back Office
    with pytest.raises(OrderRefused, match="only the team the order was routed to"):
        shop.service.advance(order, S.IN_FULFILMENT)
    with shop.engine.begin() as conn:
        conn.execute(
            insert(agent_team),
            [{"agent_id": shop.agent_id, "team_id": shop.teams["Back Office"]}],
        )
    working = shop.service.advance(order, S.IN_FULFILMENT)
    assert working.status is S.IN_FULFILMENT
    with pytest.raises(OrderRefused, match="say why"):
        shop.service.advance(working, S.REJECTED, "no")
    rejected = shop.service.advance(working, S.REJECTED, "Credit check declined")
    assert rejected.status is S.REJECTED
    with pytest.raises(OrderRefused, match="rejected cannot become fulfilled"):
        shop.service.advance(rejected, S.FULFILLED)
