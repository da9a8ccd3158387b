"""Reading one customer's eligibility facts from a store (a desktop's cache or the centre).

With the server's field cipher the date of birth is decrypted here, used for the age
and dropped: it never leaves this function, is never logged, and a ciphertext that does
not decrypt counts as "no date of birth on file" (the message names no value).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentdesk.models import Customer, IdentityDocument, Product, ProductKind
from agentdesk.services.orders.eligibility import CustomerFacts
from agentdesk.store.field_crypto import FieldCipher, FieldDecryptError, field_context

log = logging.getLogger(__name__)
NOT_HELD = frozenset({"closed"})


class UnknownCustomer(LookupError):
    """The customer does not exist here, or was merged or deleted."""


def _birth_date(customer: Customer, cipher: FieldCipher | None) -> dt.date | None:
    if cipher is None or customer.date_of_birth_enc is None:
        return None
    try:
        text = cipher.decrypt(
            customer.date_of_birth_enc, field_context("customer", "date_of_birth", customer.id)
        )
        return dt.date.fromisoformat(text)
    except (FieldDecryptError, ValueError):
        log.warning("order eligibility: date of birth of customer %s unreadable", customer.id)
        return None


def read_facts(
    session: Session, customer_id: uuid.UUID, today: dt.date, cipher: FieldCipher | None = None
) -> CustomerFacts:
    """The facts of ``customer_id``; :class:`UnknownCustomer` when it cannot be ordered for."""
    customer = session.get(Customer, customer_id)
    if customer is None or customer.deleted_at is not None:
        raise UnknownCustomer("this customer is not on file (merged or deleted?)")
    held = session.scalars(
        select(Product.kind).where(
            Product.customer_id == customer_id, Product.status.not_in(NOT_HELD)
        )
    ).all()
    documents = session.execute(
        select(IdentityDocument.verified, IdentityDocument.expires_on).where(
            IdentityDocument.customer_id == customer_id
        )
    ).all()
    kyc = any(ok and (expires is None or expires >= today) for ok, expires in documents)
    return CustomerFacts(
        kind=customer.kind,
        segment=customer.segment,
        held=frozenset(ProductKind(k) for k in held),
        kyc_verified=kyc,
        birth_date=_birth_date(customer, cipher),
        birth_year=customer.birth_year,
        marketing_opt_out=customer.marketing_opt_out,
    )
