"""What a merge moves: the duplicate's rows re-pointed at the survivor, inside the caller's
transaction (``services/crm/merge.py`` owns the transaction, the checks and the feed).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from agentdesk.ids import uuid7
from agentdesk.models import (
    Base,
    Customer,
    CustomerAddress,
    CustomerEmail,
    CustomerHistory,
    CustomerPhone,
    IdentityDocument,
    Product,
)
from agentdesk.store.mutations import Changed
from agentdesk.store.sync.entities import KINDS

# Rows that name a customer but must not follow it into the survivor: its own history
# (the tombstone keeps its story) and the duplicate bookkeeping itself.
_STAYS = frozenset({"customer_history", "duplicate_candidate", "merge_request"})
_CONTACTS = frozenset(
    {"customer_phone", "customer_email", "customer_address", "identity_document", "product"}
)


def move_contacts(session: Session, source: uuid.UUID, target: uuid.UUID) -> dict[str, int]:
    """Move contact points, documents and products; drop ones the survivor already has."""
    moved: dict[str, int] = {}
    have_phones = set(
        session.scalars(
            select(CustomerPhone.e164).where(
                CustomerPhone.customer_id == target, CustomerPhone.e164.is_not(None)
            )
        )
    )
    have_emails = set(
        session.scalars(
            select(CustomerEmail.address_norm).where(CustomerEmail.customer_id == target)
        )
    )
    have_addresses = {
        _address_key(a)
        for a in session.scalars(
            select(CustomerAddress).where(CustomerAddress.customer_id == target)
        )
    }
    for phone in session.scalars(select(CustomerPhone).where(CustomerPhone.customer_id == source)):
        if phone.e164 is not None and phone.e164 in have_phones:
            session.delete(phone)
            moved["customer_phone_dropped"] = moved.get("customer_phone_dropped", 0) + 1
            continue
        phone.customer_id, phone.is_primary = target, False
        moved["customer_phone"] = moved.get("customer_phone", 0) + 1
    for email in session.scalars(select(CustomerEmail).where(CustomerEmail.customer_id == source)):
        if email.address_norm in have_emails:
            session.delete(email)
            moved["customer_email_dropped"] = moved.get("customer_email_dropped", 0) + 1
            continue
        email.customer_id, email.is_primary = target, False
        moved["customer_email"] = moved.get("customer_email", 0) + 1
    for address in session.scalars(
        select(CustomerAddress).where(CustomerAddress.customer_id == source)
    ):
        if _address_key(address) in have_addresses:
            session.delete(address)
            moved["customer_address_dropped"] = moved.get("customer_address_dropped", 0) + 1
            continue
        address.customer_id = target
        moved["customer_address"] = moved.get("customer_address", 0) + 1
    for model, name in ((IdentityDocument, "identity_document"), (Product, "product")):
        count = session.execute(
            select(func.count()).select_from(model).where(model.customer_id == source)
        ).scalar_one()
        if count:
            session.execute(
                update(model).where(model.customer_id == source).values(customer_id=target)
            )
            moved[name] = int(count)
    session.flush()
    return moved


def _address_key(a: CustomerAddress) -> tuple[str, str, str]:
    return (
        " ".join(a.line1.casefold().split()),
        "".join((a.postal_code or "").casefold().split()),
        a.country.upper(),
    )


def move_references(
    session: Session, source: uuid.UUID, target: uuid.UUID
) -> list[tuple[str, int, list[uuid.UUID]]]:
    """Point every other row naming ``source`` at ``target``: (table, count, synced ids).

    Found from the schema's foreign keys, so a table added later (orders, say) moves too.
    Versioned rows get a new version so desktop caches take the moved copy.
    """
    out: list[tuple[str, int, list[uuid.UUID]]] = []
    customer_id = Customer.__table__.c.id
    for table in Base.metadata.sorted_tables:
        if table.name in _STAYS or table.name in _CONTACTS or table.name == "customer":
            continue
        for fk in table.foreign_keys:
            if fk.column is not customer_id:
                continue
            column = fk.parent
            synced = table.name in KINDS and "id" in table.c
            ids = (
                list(session.scalars(select(table.c.id).where(column == source))) if synced else []
            )
            values: dict[str, Any] = {column.name: target}
            if "version" in table.c:
                values["version"] = table.c.version + 1
            result = session.execute(update(table).where(column == source).values(**values))
            count = len(ids) if synced else int(getattr(result, "rowcount", 0) or 0)
            if count:
                out.append((table.name, count, ids))
    return out


# Flags that protect the customer: if either record had one, the survivor keeps it (an
# opt-out, of marketing or of phone calls, is honoured, a legal hold keeps the moved rows
# from retention, a vulnerable customer stays flagged for the agents).
_PROTECTIVE = ("marketing_opt_out", "phone_opt_out", "legal_hold", "vulnerable")


def carry_flags(
    session: Session, survivor: Customer, merged: Customer, actor: str, now: dt.datetime
) -> list[Changed]:
    changed: list[Changed] = []
    for name in _PROTECTIVE:
        if getattr(merged, name) and not getattr(survivor, name):
            setattr(survivor, name, True)
            entry = CustomerHistory(
                id=uuid7(), customer_id=survivor.id, field=name, old_value="False",
                new_value="True", changed_by=actor, changed_at=now,
            )  # fmt: skip
            session.add(entry)
            changed.append(Changed("customer_history", entry.id))
    return changed
