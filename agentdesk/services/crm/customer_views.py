"""Frozen views of a customer for the 360 workspace, and the masking rules for PII.

Identity-document numbers, account numbers and dates of birth leave the
service masked; only an audited reveal hands out a clear value. A card's full
number is not stored at all: a card shows as its brand and last four digits.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

MASK = "•"


def mask_number(value: str, visible: int = 4) -> str:
    """``••••1234``: only the last ``visible`` characters of an identifier are shown."""
    clean = "".join(ch for ch in value if not ch.isspace())
    if len(clean) <= visible:
        return MASK * len(clean)
    return MASK * 4 + clean[-visible:]


def mask_date(year: int | None) -> str:
    """Dates of birth show the year only (the rest is encrypted at the centre)."""
    return "" if year is None else f"{MASK}{MASK}/{MASK}{MASK}/{year}"


def card_brand(card_bin: str | None) -> str:
    """The scheme a card's BIN belongs to, for display (``Card`` when unknown)."""
    digits = card_bin or ""
    if digits.startswith("4"):
        return "Visa"
    two, four = int(digits[:2] or 0), int(digits[:4] or 0)
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return "Mastercard"
    if two in (34, 37):
        return "Amex"
    return "Card"


def mask_product(kind: str, number: str | None, card_bin: str | None, last4: str) -> str:
    """``Visa •••• 1234`` for a card, ``••••5678`` for an account number."""
    if kind == "card":
        return f"{card_brand(card_bin)} {MASK * 4} {last4}"
    return mask_number(number) if number else MASK * 4 + last4


@dataclass(frozen=True)
class ContactPoint:
    """A phone, e-mail or postal address with its label; ``dial`` is set for callable numbers."""

    id: uuid.UUID
    kind: str  # phone | email | address
    label: str
    value: str
    dial: str | None = None
    is_primary: bool = False


@dataclass(frozen=True)
class DocumentView:
    """An identity document with its number masked."""

    id: uuid.UUID
    kind: str
    masked_number: str
    issuing_country: str
    expires_on: dt.date | None
    verified: bool


@dataclass(frozen=True)
class ProductView:
    """An account, card or loan as the integrated system last reported it, number masked."""

    id: uuid.UUID
    kind: str
    name: str
    masked_number: str
    status: str
    balance: Decimal | None
    currency: str
    as_of: dt.datetime
    source_system: str


@dataclass(frozen=True)
class HistoryEntry:
    """One retained change of a customer field."""

    field: str
    old_value: str | None
    new_value: str | None
    changed_by: str  # as stored: an agent's login or a system job's code
    changed_at: dt.datetime
    by_name: str = ""  # who, in words: the agent's name or the job's label


@dataclass(frozen=True)
class CustomerCard:
    """Everything the workspace shows about one customer, PII masked."""

    id: uuid.UUID
    kind: str
    display_name: str
    given_name: str | None
    middle_name: str | None
    family_name: str | None
    organisation_name: str | None
    segment: str
    preferred_language: str
    preferred_channel: str
    date_of_birth_masked: str
    home_region: str
    marketing_opt_out: bool
    vulnerable: bool
    legal_hold: bool
    verification: str  # verified | partial | unverified
    last_idv: str | None
    version: int
    updated_at: dt.datetime
    deleted: bool
    contacts: tuple[ContactPoint, ...]
    documents: tuple[DocumentView, ...]
    products: tuple[ProductView, ...]
    history: tuple[HistoryEntry, ...]
    # A merged duplicate (a tombstone): the customer it was merged into, and that one's name
    # when this cache holds it (services/crm/merge.py).
    merged_into: uuid.UUID | None = None
    merged_into_name: str | None = None
    # Asked not to be phoned (no calls, no callbacks from the abandoned-call worklist).
    phone_opt_out: bool = False

    def editable_values(self) -> dict[str, object]:
        """The patchable field values as loaded (the ``base`` of an edit)."""
        return {
            "given_name": self.given_name,
            "middle_name": self.middle_name,
            "family_name": self.family_name,
            "organisation_name": self.organisation_name,
            "segment": self.segment,
            "preferred_language": self.preferred_language,
            "preferred_channel": self.preferred_channel,
            "marketing_opt_out": self.marketing_opt_out,
            "phone_opt_out": self.phone_opt_out,
            "vulnerable": self.vulnerable,
            "home_region": self.home_region,
        }


@dataclass(frozen=True)
class EditOutcome:
    """What an edit did: fields applied, and identity fields kept for review."""

    applied: tuple[str, ...]
    kept: dict[str, object]
