"""Who may have which product: the catalogue's rules applied to one customer's facts.

Pure: the facts come in (``CustomerFacts``), verdicts with their reasons go out. The
age is decided from the date of birth when the caller could read it (the server); with
only the birth year (a desktop's cache) a customer whose birthday this year decides it
is *provisionally* eligible, and the server decides when the order is placed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from agentdesk.models import CustomerKind, ProductKind
from agentdesk.services.orders.catalogue import Catalogue, CatalogueProduct

# How a reason names a product kind the customer holds or lacks.
KIND_PHRASES: dict[ProductKind, str] = {
    ProductKind.CURRENT: "a current account",
    ProductKind.SAVINGS: "a savings account",
    ProductKind.DEPOSIT: "a deposit",
    ProductKind.CARD: "a credit card",
    ProductKind.LOAN: "a loan",
    ProductKind.MORTGAGE: "a mortgage",
    ProductKind.INVESTMENT: "an investment",
    ProductKind.INSURANCE: "an insurance policy",
}
SEGMENT_NAMES = {
    "retail": "retail",
    "premier": "Premier",
    "private": "Private Banking",
    "young_saver": "Young Saver",
    "small_business": "small business",
    "corporate": "corporate",
}


@dataclass(frozen=True)
class CustomerFacts:
    """What eligibility looks at; no names, numbers or addresses.

    ``birth_date`` is known only where the date of birth can be decrypted (the server);
    elsewhere ``birth_year`` stands in for it. ``held`` are the kinds of products the
    customer holds and that are not closed.
    """

    kind: CustomerKind
    segment: str
    held: frozenset[ProductKind]
    kyc_verified: bool
    birth_date: dt.date | None = None
    birth_year: int | None = None
    marketing_opt_out: bool = False


@dataclass(frozen=True)
class Verdict:
    """One product for one customer: eligible or not, and why not.

    ``provisional`` is set when only the server can settle the age (see the module).
    """

    product: CatalogueProduct
    eligible: bool
    reasons: tuple[str, ...] = ()
    provisional: str = ""

    def describe(self) -> str:
        """One line for the agent: ``Eligible`` or ``Not eligible: …; …``."""
        if not self.eligible:
            return "Not eligible: " + "; ".join(self.reasons)
        return f"Eligible ({self.provisional})" if self.provisional else "Eligible"


def age_on(birth: dt.date, day: dt.date) -> int:
    """Whole years from ``birth`` to ``day`` (a 29 February birthday counts on 1 March)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _age_span(facts: CustomerFacts, today: dt.date) -> tuple[int, int] | None:
    """The customer's age as (lowest, highest) possible; ``None`` when nothing is known."""
    if facts.birth_date is not None:
        age = age_on(facts.birth_date, today)
        return age, age
    if facts.birth_year is not None:
        oldest = today.year - facts.birth_year
        return oldest - 1, oldest
    return None


def _age_reasons(
    product: CatalogueProduct, facts: CustomerFacts, today: dt.date
) -> tuple[list[str], str]:
    if facts.kind is CustomerKind.BUSINESS or (product.min_age is None and product.max_age is None):
        return [], ""
    span = _age_span(facts, today)
    if span is None:
        return ["no date of birth on file"], ""
    low, high = span
    if product.min_age is not None and high < product.min_age:
        return [f"under {product.min_age}"], ""
    if product.max_age is not None and low > product.max_age:
        return [f"over {product.max_age}"], ""
    unsure = (product.min_age is not None and low < product.min_age) or (
        product.max_age is not None and high > product.max_age
    )
    return [], "age checked when the order is placed" if unsure else ""


def _holding_reasons(product: CatalogueProduct, facts: CustomerFacts) -> list[str]:
    reasons = [
        f"already holds {KIND_PHRASES[kind]}" for kind in sorted(product.holds_none_of & facts.held)
    ]
    if product.requires_one_of and not product.requires_one_of & facts.held:
        wanted = " or ".join(KIND_PHRASES[k] for k in sorted(product.requires_one_of))
        reasons.append(f"needs {wanted} first")
    return reasons


def evaluate(product: CatalogueProduct, facts: CustomerFacts, today: dt.date) -> Verdict:
    """The verdict for ``product``; every reason that applies is listed, in a fixed order."""
    reasons: list[str] = []
    if product.customer_kind is not None and facts.kind is not product.customer_kind:
        reasons.append(
            "for personal customers only"
            if product.customer_kind is CustomerKind.PERSON
            else "for business customers only"
        )
    if product.segments and facts.segment not in product.segments:
        name = SEGMENT_NAMES.get(facts.segment, facts.segment)
        reasons.append(f"not offered to {name} customers")
    age_reasons, provisional = _age_reasons(product, facts, today)
    reasons += age_reasons
    reasons += _holding_reasons(product, facts)
    if product.kyc_verified and not facts.kyc_verified:
        reasons.append("no verified identity document on file")
    if reasons:
        return Verdict(product, False, tuple(reasons))
    return Verdict(product, True, (), provisional)


def evaluate_all(catalogue: Catalogue, facts: CustomerFacts, today: dt.date) -> list[Verdict]:
    """Every catalogue product's verdict, in catalogue order."""
    return [evaluate(product, facts, today) for product in catalogue.products]
