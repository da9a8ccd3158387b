"""Cross-sell: transparent rules, eligibility respected, opt-out honoured, answers filed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from agentdesk.ids import uuid7
from agentdesk.models import Direction, Interaction
from agentdesk.services.orders.catalogue import load_catalogue
from agentdesk.services.orders.cross_sell import (
    CrossSellError,
    CrossSellService,
    load_rules,
    parse_rules,
)
from agentdesk.store.engine import read_session
from agentdesk.store.writer import LocalWriter
from tests.services.orders.conftest import NOW, Shop
from tests.ui_workspace.builders import _insert

CATALOGUE = load_catalogue()


@pytest.fixture
def cross_sell(shop: Shop) -> CrossSellService:
    return CrossSellService(
        shop.engine,
        LocalWriter(shop.engine, actor="alice"),
        CATALOGUE,
        load_rules(CATALOGUE),
        shop.agent_id,
        clock=lambda: NOW,
    )


def _call(shop: Shop, cid: object, intent: str, days_ago: int) -> None:
    at = NOW - dt.timedelta(days=days_ago)
    row = {
        "id": uuid7(),
        "customer_id": cid,
        "channel": "phone",
        "direction": "inbound",
        "started_at": at,
        "ivr_intent": intent,
        "created_at": at,
    }
    _insert(shop.engine, Interaction, iter([row]))


def test_a_current_account_without_a_card_gets_the_card_with_the_reason(
    shop: Shop, cross_sell: CrossSellService
) -> None:
    cid = shop.customer(held=("current",), segment="retail")
    found = cross_sell.suggestion(cid)
    assert found is not None
    assert (found.rule, found.product_name) == ("current-account-card", "Classic credit card")
    assert found.why == "Has a current account with us but no credit card"


def test_segment_decides_between_rules(shop: Shop, cross_sell: CrossSellService) -> None:
    cid = shop.customer(held=("current",), segment="premier")
    found = cross_sell.suggestion(cid)
    assert found is not None and found.product_code == "platinum_card"


def test_an_ineligible_product_is_never_suggested(shop: Shop, cross_sell: CrossSellService) -> None:
    # Premier but 19: the Platinum card (21+) is skipped for the Classic card (18+).
    cid = shop.customer(held=("current",), segment="premier", date_of_birth=dt.date(2007, 1, 1))
    found = cross_sell.suggestion(cid)
    assert found is not None and found.product_code == "credit_card"


def test_a_recent_call_about_an_address_suggests_home_insurance(
    shop: Shop, cross_sell: CrossSellService
) -> None:
    cid = shop.customer(held=("current", "card"))
    assert cross_sell.suggestion(cid) is None  # nothing matches yet
    _call(shop, cid, "address_change", days_ago=200)
    assert cross_sell.suggestion(cid) is None  # too long ago
    _call(shop, cid, "address_change", days_ago=10)
    found = cross_sell.suggestion(cid)
    assert found is not None and found.rule == "moved-home-insurance"


def test_an_opted_out_customer_gets_no_suggestion(shop: Shop, cross_sell: CrossSellService) -> None:
    cid = shop.customer(held=("current",), marketing_opt_out=True)
    assert cross_sell.suggestion(cid) is None


def test_the_answer_is_filed_on_the_timeline_linked_to_the_call(
    shop: Shop, cross_sell: CrossSellService
) -> None:
    cid = shop.customer(held=("current",))
    found = cross_sell.suggestion(cid)
    assert found is not None
    assert cross_sell.answer_on_call(cid, found, "1733650000.42") is None
    assert cross_sell.record(cid, found, accepted=False, linkedid="1733650000.42") is False
    with read_session(shop.engine) as s:
        note = s.scalars(select(Interaction).where(Interaction.linkedid == "1733650000.42")).one()
        assert note.direction is Direction.INTERNAL
        assert note.linkedid == "1733650000.42"
        assert note.subject == "Offer declined: Classic credit card"
        assert note.notes == (
            "Cross-sell rule current-account-card: "
            "Has a current account with us but no credit card."
        )
        assert s.scalars(select(Interaction).where(Interaction.customer_id == cid)).all()


def test_an_offer_answered_in_the_pop_is_not_filed_again_from_the_workspace(
    shop: Shop, cross_sell: CrossSellService
) -> None:
    cid = shop.customer(held=("current",))
    found = cross_sell.suggestion(cid)
    assert found is not None
    assert cross_sell.record(cid, found, accepted=True, linkedid="1733650000.43") is True
    # The same offer answered again on the same call (the other strip): the first answer stays.
    assert cross_sell.record(cid, found, accepted=False, linkedid="1733650000.43") is True
    assert cross_sell.answer_on_call(cid, found, "1733650000.43") is True
    assert cross_sell.answer_on_call(cid, found, "1733650000.44") is None
    with read_session(shop.engine) as s:
        notes = s.scalars(select(Interaction.subject).where(Interaction.customer_id == cid)).all()
    assert notes == ["Offer accepted: Classic credit card"]
    # Another call may ask again.
    assert cross_sell.record(cid, found, accepted=False, linkedid="1733650000.44") is False


def _rule(**extra: Any) -> dict[str, Any]:
    return {"rules": [{"name": "my-rule", "product": "credit_card", "why": "Because", **extra}]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "defines no"),
        (_rule(colour="red"), "rule my-rule: unknown key 'colour'"),
        (_rule(product="gold_bar"), "not in the catalogue"),
        (_rule(why=""), "why must be one line"),
        (_rule(segments=["gold"]), "unknown segment 'gold'"),
        (_rule(holds=["yacht"]), "unknown product kind 'yacht'"),
        (_rule(holds=["card"], lacks=["card"]), "both held and lacking"),
        (_rule(within_days=0), "within_days must be"),
        (_rule(name="Bad Name"), "name must be lower-case"),
        ({"rules": [_rule()["rules"][0], _rule()["rules"][0]]}, "must be unique"),
    ],
)
def test_a_bad_rules_file_is_refused(data: dict[str, Any], message: str) -> None:
    with pytest.raises(CrossSellError, match=message):
        parse_rules(data, CATALOGUE)


def test_a_product_on_order_is_neither_suggested_nor_ordered_twice(
    shop: Shop, cross_sell: CrossSellService
) -> None:
    from agentdesk.services.desk.call_data import IvrData
    from agentdesk.services.orders.service import OrderRefused

    cid = shop.customer(held=("current",))
    found = cross_sell.suggestion(cid)
    assert found is not None and found.product_code == "credit_card"
    order = shop.service.place(cid, "credit_card", ivr=IvrData(idv_result="passed"))
    with pytest.raises(OrderRefused, match=f"already on order for this customer \\({order.number}"):
        shop.service.place(cid, "credit_card", ivr=IvrData(idv_result="passed"))
    after = cross_sell.suggestion(cid)
    assert after is None or after.product_code != "credit_card"
