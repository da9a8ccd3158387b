"""The core system's answers, and the 360 view's live products, as strictly validated values.

Every model refuses unknown fields (``extra="forbid"``): a core system that
starts sending something new, or something it must never send (a full card
number), is refused as a whole rather than shown in part. Money travels as
decimal strings or numbers, never as floats in our code.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# A balance or amount: at most 12 digits before the point and 2 after.
Money = Annotated[Decimal, Field(max_digits=14, decimal_places=2, allow_inf_nan=False)]
Rate = Annotated[Decimal, Field(ge=0, le=100, max_digits=6, decimal_places=3)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Last4 = Annotated[str, Field(pattern=r"^[0-9]{4}$")]
Status = Literal["active", "dormant", "blocked", "closed"]
Name = Annotated[str, Field(min_length=1, max_length=120)]


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("a time without its time zone")
    return value


AwareTime = Annotated[dt.datetime, AfterValidator(_aware)]


class _Strict(BaseModel):
    """The core system's JSON: exact types (validated from the JSON text), nothing extra."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class _Frozen(BaseModel):
    """Our server's answers, also read back from parsed JSON on the desktop."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CoreAccount(_Strict):
    """A current or savings account: ledger and available balance."""

    id: uuid.UUID
    kind: Literal["current", "savings", "deposit"]
    name: Name
    status: Status
    number_last4: Last4
    currency: Currency
    ledger_balance: Money
    available_balance: Money
    overdraft_limit: Money | None = None
    interest_rate: Rate | None = None
    opened_on: dt.date | None = None


class CoreCard(_Strict):
    """A card as the card system hands it over (PCI DSS 3.4.1): token, BIN, last four."""

    id: uuid.UUID
    name: Name
    status: Status
    token: Annotated[str, Field(pattern=r"^tok_[0-9a-f]{8,60}$")]
    bin: Annotated[str, Field(pattern=r"^[0-9]{6,8}$")]
    last4: Last4
    scheme: Literal["visa", "mastercard", "other"]
    currency: Currency
    balance: Money  # what is owed is negative
    credit_limit: Money
    available: Money


class CoreLoan(_Strict):
    """A mortgage or personal loan: what is still owed and the next payment."""

    id: uuid.UUID
    kind: Literal["mortgage", "loan"]
    name: Name
    status: Status
    number_last4: Last4
    currency: Currency
    outstanding: Money  # negative: owed by the customer
    interest_rate: Rate
    monthly_payment: Money
    next_payment_on: dt.date | None = None
    maturity_on: dt.date | None = None


class CoreTransaction(_Strict):
    """One booked transaction; ``balance_after`` is the product's balance once it was booked."""

    id: Annotated[str, Field(min_length=1, max_length=64)]
    product_id: uuid.UUID
    booked_on: dt.date
    description: Annotated[str, Field(min_length=1, max_length=80)]
    amount: Money
    currency: Currency
    balance_after: Money


class CorePosition(_Strict):
    """``GET /core/v1/customers/{id}/position``: every product and the latest transactions."""

    customer_id: uuid.UUID
    as_of: AwareTime
    accounts: tuple[CoreAccount, ...]
    cards: tuple[CoreCard, ...]
    loans: tuple[CoreLoan, ...]
    transactions: Annotated[tuple[CoreTransaction, ...], Field(max_length=2000)]


class TransactionPage(_Strict):
    """``GET /core/v1/products/{id}/transactions``: one product's latest transactions."""

    product_id: uuid.UUID
    as_of: AwareTime
    transactions: Annotated[tuple[CoreTransaction, ...], Field(max_length=2000)]


# --- what the server's 360 route answers ------------------------------------------------------


class LiveTransaction(CoreTransaction):
    """A transaction as the server hands it to the desktop (read back from parsed JSON)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


ProductKind = Literal[
    "current", "savings", "deposit", "card", "mortgage", "loan", "investment", "insurance"
]
Source = Literal["core", "last-known", "crm", "none"]


class LiveProduct(_Frozen):
    """One product row of the 360 view; the number masked (``Visa •••• 1234``, ``••••5678``)."""

    id: uuid.UUID
    kind: ProductKind
    name: Name
    masked_number: Annotated[str, Field(max_length=40)]
    status: Annotated[str, Field(min_length=1, max_length=24)]
    currency: Currency
    balance: Money
    available: Money | None = None
    limit: Money | None = None  # overdraft or credit limit
    interest_rate: Rate | None = None
    next_payment: Money | None = None
    next_payment_on: dt.date | None = None


class LiveProducts(_Frozen):
    """A customer's products, balances and recent transactions, with how fresh they are.

    ``stale`` is true when the core system did not answer this time: the values are
    the last known ones (``source`` says whose), as of ``as_of``; ``reason`` says why
    in words an agent can read.
    """

    customer_id: uuid.UUID
    as_of: AwareTime | None
    stale: bool
    source: Source
    reason: str | None = None
    products: tuple[LiveProduct, ...] = ()
    transactions: tuple[LiveTransaction, ...] = ()
