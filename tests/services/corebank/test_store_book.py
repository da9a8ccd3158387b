"""The simulator's book and the CRM fallback read the same rows on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select

from agentdesk.models import Product
from agentdesk.services.corebank.ledger import Ledgers, StoreBook
from agentdesk.services.corebank.live import crm_products
from agentdesk.services.seeding.generator import SeedOptions, seed
from agentdesk.store.engine import read_session


def test_book_and_fallback_agree_with_the_store(central: Engine) -> None:
    seed(central, SeedOptions(customers=25, seed=11, interactions_per_customer=0.2), workers=0)
    with read_session(central) as s:
        products = s.execute(select(Product)).scalars().all()
        stored = {p.id: (p.customer_id, p.balance, p.number_last4, p.token) for p in products}
    book = StoreBook(central)
    fallback = crm_products(central)
    customers = {c for c, *_ in stored.values()}
    for customer in customers:
        held = book.products_of(customer)
        assert {p.id for p in held} == {i for i, v in stored.items() if v[0] == customer}
        for p in held:
            assert (p.customer_id, p.balance, p.last4, p.token) == stored[p.id]
            assert book.product(p.id) == p
        shown = fallback(customer)
        assert shown is not None and shown.stale and shown.source == "crm"
        assert {p.id: p.balance for p in shown.products} == {p.id: p.balance for p in held}
        assert shown.as_of is not None and shown.as_of.tzinfo is not None
    ledgers = Ledgers(seed=1, today=dt.date(2026, 6, 15))
    for p in book.products_of(next(iter(customers))):
        entries = ledgers.transactions(p)
        assert entries == ledgers.transactions(p)  # deterministic
        assert all(e.booked_on <= dt.date(2026, 6, 15) for e in entries)
