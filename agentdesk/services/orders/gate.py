"""The server's check of a pushed ``order.place``: eligible and verified, decided centrally.

The desktop's checks are courtesy. Here the product must be in the catalogue, the
verification one the rule allows (``verification.py``), and the customer eligible on
the facts only the centre has: the date of birth, decrypted for the age and dropped.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from agentdesk.models import Ticket
from agentdesk.services.orders.catalogue import Catalogue, CatalogueError, load_catalogue
from agentdesk.services.orders.eligibility import evaluate
from agentdesk.services.orders.facts import UnknownCustomer, read_facts
from agentdesk.services.orders.service import open_order_products
from agentdesk.services.orders.verification import ACCEPTED_METHODS
from agentdesk.store.field_crypto import FieldCipher
from agentdesk.store.mutation_args.orders import VerifiedBy
from agentdesk.store.mutations import MutationRejected


@functools.cache
def shipped_catalogue(path: Path | None = None) -> Catalogue:
    """The catalogue file, read once per process (it changes with a deployment)."""
    return load_catalogue(path)


def check_order(
    session: Session,
    args: Mapping[str, Any],
    *,
    catalogue: Catalogue,
    cipher: FieldCipher | None,
    today: dt.date,
) -> None:
    """Raise :class:`MutationRejected` (naming the field) unless the order may be placed."""
    code = str(args.get("product_code") or "")
    try:
        product = catalogue.get(code)
    except CatalogueError as exc:
        raise MutationRejected(str(exc), "product_code") from exc
    source, method = args.get("verified_by"), args.get("verification_method")
    if source == VerifiedBy.AGENT.value and method not in ACCEPTED_METHODS:
        raise MutationRejected(f"unknown verification method {method!r}", "verification_method")
    if source not in {v.value for v in VerifiedBy}:
        raise MutationRejected("an order needs a verified caller", "verified_by")
    ticket = args.get("ticket")
    ticket = ticket if isinstance(ticket, dict) else {}
    try:
        customer_id = uuid.UUID(str(ticket.get("customer_id")))
        facts = read_facts(session, customer_id, today, cipher)
    except (ValueError, UnknownCustomer) as exc:
        raise MutationRejected(
            "an order is placed for a customer on file", "ticket.customer_id"
        ) from exc
    verdict = evaluate(product, facts, today)
    if not verdict.eligible:
        raise MutationRejected(f"{product.name}: {verdict.describe().lower()}", "product_code")
    pending = open_order_products(session, customer_id).get(product.code)
    if pending is not None and not _replayed(session, ticket.get("id")):
        raise MutationRejected(
            f"{product.name} is already on order for this customer ({pending})", "product_code"
        )


def _replayed(session: Session, ticket_id: object) -> bool:
    """True when this order's ticket already exists: a replay, which changes nothing."""
    try:
        return session.get(Ticket, uuid.UUID(str(ticket_id))) is not None
    except ValueError:
        return False
