"""The simulated core system's books: the CRM's seeded products, with deterministic ledgers.

``StoreBook`` reads the products ``agentdesk seed`` wrote (same customers,
same product ids, names, last fours, card tokens and BINs, balances), so
the core system and the CRM agree. What the CRM does not hold (limits,
rates, payments, transactions) is derived from the simulator's seed and the
product id: the same seed gives the same figures on every run. Each
product's transactions end at its stored balance (``balance_after`` of the
newest one is the balance), so the figures add up.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Engine, select

from agentdesk.models import Product
from agentdesk.store.engine import read_session

CENT = Decimal("0.01")
HISTORY_DAYS = 90


@dataclass(frozen=True)
class BookProduct:
    """One product as the core system keeps it (never a full card number)."""

    id: uuid.UUID
    customer_id: uuid.UUID
    kind: str
    name: str
    status: str
    last4: str
    currency: str
    balance: Decimal
    token: str | None = None
    card_bin: str | None = None
    opened_on: dt.date | None = None


class StoreBook:
    """Products by customer and by id, read from the central store (read-only), cached."""

    def __init__(self, engine: Engine, cache: int = 50_000) -> None:
        self._engine = engine
        self.products_of = functools.lru_cache(maxsize=cache)(self._products_of)
        self.product = functools.lru_cache(maxsize=cache)(self._product)

    def _products_of(self, customer_id: uuid.UUID) -> tuple[BookProduct, ...]:
        return self._select(Product.customer_id == customer_id)

    def _product(self, product_id: uuid.UUID) -> BookProduct | None:
        found = self._select(Product.id == product_id)
        return found[0] if found else None

    def _select(self, where: object) -> tuple[BookProduct, ...]:
        with read_session(self._engine) as s:
            rows = s.execute(select(Product).where(where).order_by(Product.id)).scalars().all()  # type: ignore[arg-type]
            return tuple(
                BookProduct(
                    id=p.id,
                    customer_id=p.customer_id,
                    kind=str(p.kind),
                    name=p.name,
                    status=p.status,
                    last4=p.number_last4,
                    currency=p.currency,
                    balance=(p.balance or Decimal(0)).quantize(CENT),
                    token=p.token,
                    card_bin=p.card_bin,
                    opened_on=p.opened_on,
                )
                for p in rows
            )


@dataclass(frozen=True)
class Terms:
    """What the CRM does not hold, derived per product: limits, rates, payments."""

    limit: Decimal | None
    rate: Decimal | None
    monthly_payment: Decimal | None
    next_payment_on: dt.date | None
    maturity_on: dt.date | None


@dataclass(frozen=True)
class Entry:
    """One booked transaction."""

    id: str
    product_id: uuid.UUID
    booked_on: dt.date
    description: str
    amount: Decimal
    balance_after: Decimal


# (description, low, high) per kind; a positive amount is money in (or a debt paid down).
_MOVES: dict[str, Sequence[tuple[str, int, int]]] = {
    "current": (
        ("Salary", 1500, 4500),
        ("Rent", -1800, -600),
        ("Card payment, supermarket", -120, -5),
        ("Direct debit, energy", -180, -40),
        ("Transfer to savings", -500, -50),
        ("Cash withdrawal", -300, -20),
        ("Card payment, online store", -200, -5),
    ),
    "savings": (
        ("Interest", 1, 30),
        ("Transfer in", 50, 500),
        ("Withdrawal", -1000, -100),
    ),
    "card": (
        ("Coffee shop", -9, -2),
        ("Supermarket", -150, -10),
        ("Online store", -250, -5),
        ("Fuel station", -90, -30),
        ("Restaurant", -120, -15),
        ("Payment received, thank you", 100, 1500),
    ),
    "loan": (("Monthly payment", 0, 0), ("Interest", -60, -5)),
}
_MOVES["deposit"] = _MOVES["savings"]
_MOVES["mortgage"] = _MOVES["loan"]
_LOANS = ("mortgage", "loan")


class Ledgers:
    """Terms and transactions of each product, the same for the same seed and day."""

    def __init__(self, seed: int, today: dt.date) -> None:
        self.seed = seed
        self.today = today

    def _rng(self, product: BookProduct, purpose: str) -> random.Random:
        return random.Random(f"{self.seed}/{product.id}/{purpose}")

    def terms(self, p: BookProduct) -> Terms:
        rng = self._rng(p, "terms")
        if p.kind == "current":
            return Terms(Decimal(rng.choice((0, 250, 500, 1000, 2000))), None, None, None, None)
        if p.kind in ("savings", "deposit"):
            return Terms(None, _rate(rng, 50, 450), None, None, None)
        if p.kind == "card":
            owed = -min(p.balance, Decimal(0))
            limit = max(
                Decimal(rng.randrange(1000, 15001, 500)), (owed / 500).to_integral() * 500 + 500
            )
            return Terms(limit, _rate(rng, 1500, 3000), None, None, None)
        if p.kind in ("mortgage", "loan"):
            years = rng.choice((15, 20, 25, 30) if p.kind == "mortgage" else (2, 3, 5, 7))
            payment = (-p.balance / (years * 12) * Decimal("1.3")).quantize(CENT)
            day = rng.randint(1, 28)
            upcoming = self.today.replace(day=day)
            if upcoming <= self.today:
                upcoming = _next_month(upcoming)
            opened = p.opened_on or self.today
            maturity = opened.replace(year=opened.year + years, day=min(opened.day, 28))
            return Terms(None, _rate(rng, 300, 900), max(payment, CENT), upcoming, maturity)
        return Terms(None, None, None, None, None)

    def transactions(self, p: BookProduct) -> tuple[Entry, ...]:
        """Newest first; the newest one's ``balance_after`` is the product's balance."""
        moves = _MOVES.get(p.kind)
        if not moves or p.status == "closed":
            return ()
        rng = self._rng(p, "transactions")
        if p.kind in _LOANS:
            moves_on = self._loan_moves(p)
        else:
            count = rng.randint(6, 40)
            moves_on = []
            for ago in sorted(rng.randint(0, HISTORY_DAYS) for _ in range(count)):
                text, low, high = rng.choice(moves)
                amount = (Decimal(rng.randint(low * 100, high * 100)) / 100).quantize(CENT)
                moves_on.append((self.today - dt.timedelta(days=ago), text, amount))
        entries: list[Entry] = []
        balance = p.balance
        for n, (day, text, amount) in enumerate(moves_on):
            entries.append(Entry(f"tx-{p.id.hex[:16]}-{n:03d}", p.id, day, text, amount, balance))
            balance = (balance - amount).quantize(CENT)
        return tuple(entries)

    def _loan_moves(self, p: BookProduct) -> list[tuple[dt.date, str, Decimal]]:
        """A loan's last three months, newest first: the payment, and the interest before it."""
        terms = self.terms(p)
        due, payment = terms.next_payment_on, terms.monthly_payment
        if due is None or payment is None or terms.rate is None:
            return []
        interest = (-p.balance * terms.rate / 1200).quantize(CENT)
        found: list[tuple[dt.date, str, Decimal]] = []
        for k in range(1, 4):
            paid_on = _months_before(due, k)
            if paid_on > self.today:
                continue
            found.append((paid_on, "Monthly payment", payment))
            found.append((paid_on - dt.timedelta(days=1), "Interest", -interest))
        return found


def _rate(rng: random.Random, low_bp: int, high_bp: int) -> Decimal:
    """An interest rate in per cent, from basis points."""
    return (Decimal(rng.randint(low_bp, high_bp)) / 100).quantize(Decimal("0.001"))


def _months_before(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    return day.replace(year=index // 12, month=index % 12 + 1)


def _next_month(day: dt.date) -> dt.date:
    return (
        day.replace(year=day.year + 1, month=1)
        if day.month == 12
        else day.replace(month=day.month + 1)
    )
