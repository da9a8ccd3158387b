"""``LiveProductsReader``: live values, else the last known ones marked stale."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from agentdesk.models import Product
from agentdesk.services.corebank.breaker import BreakerSettings, CircuitBreaker
from agentdesk.services.corebank.client import HttpCoreBank
from agentdesk.services.corebank.live import UNAVAILABLE, LiveProductsReader, crm_products
from agentdesk.store.engine import read_session
from tests.services.corebank.conftest import Simulator


def _two_customers(engine: Engine) -> tuple[uuid.UUID, uuid.UUID]:
    with read_session(engine) as s:
        ids = s.execute(select(Product.customer_id).distinct().limit(2)).scalars().all()
    return ids[0], ids[1]


@pytest.fixture
def reader(core: Simulator, seeded: tuple[Path, Engine]) -> LiveProductsReader:
    client = HttpCoreBank(core.url, timeout=0.3)
    breaker = CircuitBreaker(BreakerSettings(failure_threshold=3, cool_down=0.5))
    made = LiveProductsReader(client, breaker, crm_products(seeded[1]), recent=5)
    yield made
    made.close()


def test_live_values_then_the_last_known_marked_stale(
    core: Simulator, seeded: tuple[Path, Engine], reader: LiveProductsReader
) -> None:
    customer, _ = _two_customers(seeded[1])
    live = reader.read(customer)
    assert not live.stale and live.source == "core" and live.products
    assert len(live.transactions) == 5
    core.faults(fail_rate=1.0)
    stale = reader.read(customer)
    assert stale.stale and stale.source == "last-known" and stale.reason == UNAVAILABLE
    assert stale.as_of == live.as_of  # the time of the values, not of the failed attempt
    assert stale.products == live.products and stale.transactions == live.transactions


def test_without_a_last_known_value_the_crms_stored_products_are_shown_stale(
    core: Simulator, seeded: tuple[Path, Engine], reader: LiveProductsReader
) -> None:
    _, never_read = _two_customers(seeded[1])
    core.faults(garbage_rate=1.0)
    stale = reader.read(never_read)
    assert stale.stale and stale.source == "crm" and stale.reason == UNAVAILABLE
    with read_session(seeded[1]) as s:
        stored = {
            p.id: p.balance
            for p in s.execute(select(Product).where(Product.customer_id == never_read)).scalars()
        }
    assert {p.id: p.balance for p in stale.products} == stored
    assert stale.as_of is not None and not stale.transactions


def test_the_breaker_opens_then_answers_at_once_then_probes_again(
    core: Simulator, seeded: tuple[Path, Engine], reader: LiveProductsReader
) -> None:
    customer, _ = _two_customers(seeded[1])
    now = [1_000.0]  # the breaker's clock, moved by hand: no waiting out its cool-down
    reader.breaker = CircuitBreaker(
        BreakerSettings(failure_threshold=3, cool_down=0.5), clock=lambda: now[0]
    )
    core.faults(timeout_rate=1.0, hang_s=5)
    for _ in range(3):
        assert reader.read(customer).stale  # each waits for the 0.3 s timeout
    assert reader.breaker.state == "open"
    served = core.served()
    started = time.perf_counter()
    assert reader.read(customer).stale
    assert time.perf_counter() - started < 0.1
    assert core.served() == served  # the core system was not asked
    core.faults()  # it recovers
    now[0] += 0.4
    assert reader.read(customer).stale and core.served() == served  # still cooling down
    now[0] += 0.1  # the cool-down (0.5 s) is over
    fresh = reader.read(customer)  # the half-open probe
    assert not fresh.stale and reader.breaker.state == "closed"


def test_an_unknown_customer_is_an_answer_not_a_failure(
    core: Simulator, reader: LiveProductsReader
) -> None:
    for _ in range(5):
        answer = reader.read(uuid.uuid4())
        assert not answer.stale and not answer.products and answer.reason
    assert reader.breaker.state == "closed"


def test_no_core_system_configured_shows_the_crm_values(seeded: tuple[Path, Engine]) -> None:
    customer, _ = _two_customers(seeded[1])
    reader = LiveProductsReader(None, CircuitBreaker(), crm_products(seeded[1]))
    answer = reader.read(customer)
    assert answer.stale and answer.source == "crm" and answer.reason == "no core system configured"
    nobody = reader.read(uuid.uuid4())
    assert nobody.stale and nobody.source == "none" and nobody.as_of is None
