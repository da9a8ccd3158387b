"""The catalogue is refused whole on any mistake; eligibility says why not."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from agentdesk.models import CustomerKind, ProductKind
from agentdesk.services.orders.catalogue import CatalogueError, load_catalogue, parse_catalogue
from agentdesk.services.orders.eligibility import CustomerFacts, age_on, evaluate

TODAY = dt.date(2026, 12, 8)


def _card(**extra: Any) -> dict[str, Any]:
    return {
        "products": {
            "card": {
                "name": "Classic credit card",
                "kind": "card",
                "summary": "A card.",
                **extra,
            }
        }
    }


def _facts(**extra: Any) -> CustomerFacts:
    values: dict[str, Any] = {
        "kind": CustomerKind.PERSON,
        "segment": "retail",
        "held": frozenset({ProductKind.CURRENT}),
        "kyc_verified": True,
        "birth_date": dt.date(1980, 5, 17),
    }
    values.update(extra)
    return CustomerFacts(**values)


def test_the_shipped_catalogue_loads() -> None:
    catalogue = load_catalogue()
    assert "credit_card" in catalogue.codes
    assert catalogue.get("credit_card").holds_none_of == {ProductKind.CARD}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "defines no"),
        ({"products": {}, "extra": 1}, "unknown top-level key 'extra'"),
        (_card(colour="red"), "products.card: unknown key 'colour'"),
        (_card(kind="spaceship"), "products.card: kind must be one of"),
        (_card(segments=["gold"]), "unknown segment 'gold'"),
        (_card(min_age=30, max_age=20), "min_age is above max_age"),
        (_card(min_age=-1), "min_age must be a whole number"),
        (_card(min_age=True), "min_age must be a whole number"),
        (_card(customer_kind="business", min_age=18), "a business product has no age limits"),
        (_card(holds_none_of=["card"], requires_one_of=["card"]), "both required and excluded"),
        (_card(holds_none_of=["gold"]), "unknown product kind 'gold'"),
        (_card(kyc_verified="yes"), "kyc_verified must be true or false"),
        (_card(name=""), "name must be non-empty text"),
        (_card(name="two\nlines"), "one line of at most 80"),
        ({"products": {"Card!": {}}}, "lower-case letters"),
    ],
)
def test_a_bad_catalogue_is_refused_naming_product_and_key(
    data: dict[str, Any], message: str
) -> None:
    with pytest.raises(CatalogueError, match=message.replace("(", r"\(")):
        parse_catalogue(data)


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.toml"
    path.write_text("[products.card\nname=", "utf-8")
    with pytest.raises(CatalogueError, match="cannot read the product catalogue"):
        load_catalogue(path)


def test_eligible_customer_has_no_reasons() -> None:
    verdict = evaluate(load_catalogue().get("credit_card"), _facts(), TODAY)
    assert verdict.eligible and verdict.describe() == "Eligible"


def test_every_reason_is_listed() -> None:
    platinum = load_catalogue().get("platinum_card")
    facts = _facts(
        held=frozenset({ProductKind.CARD, ProductKind.CURRENT}),
        kyc_verified=False,
        birth_date=dt.date(2006, 1, 1),
    )
    verdict = evaluate(platinum, facts, TODAY)
    assert not verdict.eligible
    assert verdict.describe() == (
        "Not eligible: not offered to retail customers; under 21; already holds a credit card; "
        "no verified identity document on file"
    )


def test_a_missing_prerequisite_is_named() -> None:
    verdict = evaluate(load_catalogue().get("personal_loan"), _facts(held=frozenset()), TODAY)
    assert verdict.reasons == ("needs a current account first",)


def test_business_and_person_products_are_kept_apart() -> None:
    catalogue = load_catalogue()
    business = _facts(kind=CustomerKind.BUSINESS, segment="small_business", held=frozenset())
    assert evaluate(catalogue.get("credit_card"), business, TODAY).reasons[0] == (
        "for personal customers only"
    )
    assert evaluate(catalogue.get("business_account"), business, TODAY).eligible
    assert evaluate(catalogue.get("business_account"), _facts(), TODAY).reasons == (
        "for business customers only",
        "not offered to retail customers",
        "already holds a current account",
    )


def test_age_from_the_date_of_birth_counts_the_birthday() -> None:
    assert age_on(dt.date(2005, 12, 9), TODAY) == 20
    assert age_on(dt.date(2005, 12, 8), TODAY) == 21
    platinum = load_catalogue().get("platinum_card")
    premier = {"segment": "premier"}
    assert not evaluate(
        platinum, _facts(birth_date=dt.date(2005, 12, 9), **premier), TODAY
    ).eligible
    assert evaluate(platinum, _facts(birth_date=dt.date(2005, 12, 8), **premier), TODAY).eligible


def test_with_only_the_birth_year_a_borderline_age_is_provisional() -> None:
    platinum = load_catalogue().get("platinum_card")
    facts = _facts(segment="premier", birth_date=None, birth_year=2005)
    verdict = evaluate(platinum, facts, TODAY)
    assert verdict.eligible and verdict.provisional
    assert verdict.describe() == "Eligible (age checked when the order is placed)"
    too_young = evaluate(
        platinum, _facts(segment="premier", birth_date=None, birth_year=2007), TODAY
    )
    assert too_young.reasons == ("under 21",)


def test_no_date_of_birth_at_all_is_a_reason() -> None:
    verdict = evaluate(
        load_catalogue().get("credit_card"), _facts(birth_date=None, birth_year=None), TODAY
    )
    assert verdict.reasons == ("no date of birth on file",)
