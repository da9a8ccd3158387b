"""Callers for the demo: real customers from the central store, plus the awkward cases.

The demo must show every kind of screen pop within minutes, so scripted
calls to the demo agent rotate through a known customer, a number several
customers share (the chooser), an unknown number and a withheld one; the
background traffic of the virtual floor draws from the same customers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Engine, func, select

from agentdesk.models import Customer, CustomerPhone, Interaction
from agentdesk.telephony.sim.traffic import Caller, StaticCallerPool

CallKind = Literal["known", "shared", "unknown", "withheld"]
INTENTS = (
    "card_lost",
    "balance",
    "mortgage_overpay",
    "fraud_report",
    "address_change",
    "open_account",
)
UNKNOWN_NUMBERS = ("+447700900999", "+447700900998", "+442079460999", "+4915112345678")


@dataclass(frozen=True)
class ScriptedCall:
    """One call the demo places to the agent's phone."""

    kind: CallKind
    number: str
    name: str | None
    intent: str
    idv: str


@dataclass(frozen=True)
class DemoCallers:
    """Numbers sampled from the customer base, by how many customers share them."""

    single: tuple[tuple[str, str], ...]  # (E.164, display name)
    shared: tuple[str, ...]

    def pool(self) -> StaticCallerPool:
        """A caller pool for the simulator's background traffic."""
        callers = [Caller(number=n, name=name) for n, name in self.single] or [
            Caller(UNKNOWN_NUMBERS[0])
        ]
        return StaticCallerPool(callers)

    def next_call(self, rng: random.Random, kind: CallKind | None = None) -> ScriptedCall:
        """A call of ``kind`` (default: mostly known customers, now and then the hard cases)."""
        if kind is None:
            kind = rng.choices(("known", "shared", "unknown", "withheld"), (70, 10, 10, 10))[0]
        if kind == "shared" and not self.shared:
            kind = "known"
        if kind == "known" and not self.single:
            kind = "unknown"
        intent = rng.choice(INTENTS)
        idv = rng.choices(("passed", "failed", "partial"), (80, 10, 10))[0]
        if kind == "known":
            number, name = rng.choice(self.single)
            return ScriptedCall(kind, number, name, intent, idv)
        if kind == "shared":
            return ScriptedCall(kind, rng.choice(self.shared), None, intent, idv)
        if kind == "unknown":
            return ScriptedCall(kind, rng.choice(UNKNOWN_NUMBERS), None, intent, "failed")
        return ScriptedCall("withheld", "", None, intent, "failed")


def sample_callers(engine: Engine, limit: int = 500) -> DemoCallers:
    """Up to ``limit`` single-owner numbers and a few shared ones (indexed queries only)."""
    counts = (
        select(CustomerPhone.e164, func.count(func.distinct(CustomerPhone.customer_id)).label("n"))
        .where(CustomerPhone.e164.is_not(None))
        .group_by(CustomerPhone.e164)
    )
    with engine.connect() as conn:
        shared = tuple(
            r.e164
            for r in conn.execute(
                counts.having(func.count(func.distinct(CustomerPhone.customer_id)) > 1).limit(20)
            )
        )
        # Callers who have been in touch before make a livelier pop (tickets, history).
        returning = (
            select(Interaction.customer_id)
            .where(Interaction.customer_id.is_not(None))
            .distinct()
            .limit(limit * 2)
            .subquery()
        )
        rows = conn.execute(
            select(CustomerPhone.e164, Customer.display_name)
            .join(Customer, Customer.id == CustomerPhone.customer_id)
            .join(returning, returning.c.customer_id == Customer.id)
            .where(CustomerPhone.e164.is_not(None), Customer.deleted_at.is_(None))
            .limit(limit * 2)
        ).all()
    taken = set(shared)
    single = tuple((r.e164, r.display_name) for r in rows if r.e164 not in taken)[:limit]
    return DemoCallers(single, shared)
