"""``HttpCoreBank`` against the real simulator process: contract, CRM consistency, faults."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select

from agentdesk.models import Product
from agentdesk.services.corebank.client import (
    CoreBankBadResponse,
    CoreBankNotFound,
    CoreBankUnavailable,
    HttpCoreBank,
)
from agentdesk.store.engine import read_session
from tests.services.corebank.conftest import Simulator, start_simulator
from tests.test_no_clear_card_data import card_like_numbers


def _customers(engine: Engine) -> dict[uuid.UUID, list[Product]]:
    with read_session(engine) as s:
        rows = s.execute(select(Product)).scalars().all()
    found: dict[uuid.UUID, list[Product]] = {}
    for p in rows:
        found.setdefault(p.customer_id, []).append(p)
    return found


def _with_card(engine: Engine) -> tuple[uuid.UUID, list[Product]]:
    return next(
        (c, ps) for c, ps in _customers(engine).items() if any(p.kind == "card" for p in ps)
    )


def test_a_position_holds_the_crm_products_with_their_balances(
    core: Simulator, seeded: tuple[Path, Engine]
) -> None:
    customer, products = _with_card(seeded[1])
    client = HttpCoreBank(core.url)
    position = client.position(customer, recent=50)
    core_ids = {p.id for p in (*position.accounts, *position.cards, *position.loans)}
    assert core_ids == {p.id for p in products}
    stored = {p.id: p for p in products}
    for card in position.cards:
        crm = stored[card.id]
        assert (card.token, card.bin, card.last4) == (crm.token, crm.card_bin, crm.number_last4)
        assert card.balance == crm.balance and card.available == card.credit_limit + card.balance
    for account in position.accounts:
        assert account.ledger_balance == stored[account.id].balance
        assert account.number_last4 == stored[account.id].number_last4
    for loan in position.loans:
        assert loan.outstanding == stored[loan.id].balance < 0
    dates = [t.booked_on for t in position.transactions]
    assert dates == sorted(dates, reverse=True) and len(dates) <= 50
    client.close()


def test_each_products_transactions_add_up_to_its_balance(
    core: Simulator, seeded: tuple[Path, Engine]
) -> None:
    client = HttpCoreBank(core.url)
    _, products = _with_card(seeded[1])
    for product in products:
        page = client.transactions(product.id, limit=500)
        if not page.transactions:
            continue
        assert page.transactions[0].balance_after == product.balance
        for newer, older in zip(page.transactions, page.transactions[1:], strict=False):
            assert older.balance_after == newer.balance_after - newer.amount
    assert len(client.transactions(products[0].id, limit=2).transactions) <= 2
    client.close()


def test_the_same_seed_gives_the_same_books(
    core: Simulator, seeded: tuple[Path, Engine], tmp_path: Path
) -> None:
    customer, _ = _with_card(seeded[1])
    other = start_simulator(seeded[0], tmp_path)
    try:
        with HttpCoreBank(core.url) as one, HttpCoreBank(other.url) as two:
            a = one.position(customer, recent=20)
            b = two.position(customer, recent=20)
    finally:
        other.stop()
    assert a.model_dump(exclude={"as_of"}) == b.model_dump(exclude={"as_of"})


def test_no_card_number_ever_leaves_the_simulator(
    core: Simulator, seeded: tuple[Path, Engine]
) -> None:
    for customer in list(_customers(seeded[1]))[:30]:
        body = httpx.get(f"{core.url}/core/v1/customers/{customer}/position?recent=100").content
        assert not card_like_numbers(body.replace(b"-", b"x"))


def test_an_unknown_customer_is_not_found(core: Simulator) -> None:
    with HttpCoreBank(core.url) as client, pytest.raises(CoreBankNotFound):
        client.position(uuid.uuid4())


@pytest.mark.parametrize("seed_value", range(6))
def test_garbage_is_refused_whole_with_a_clear_message(
    core: Simulator, seeded: tuple[Path, Engine], seed_value: int
) -> None:
    customer, _ = _with_card(seeded[1])
    core.faults(garbage_rate=1.0)
    with (
        HttpCoreBank(core.url) as client,
        pytest.raises(CoreBankBadResponse, match="the core system's answer") as caught,
    ):
        client.position(customer)
    assert "Traceback" not in str(caught.value)


def test_a_503_means_unavailable(core: Simulator, seeded: tuple[Path, Engine]) -> None:
    core.faults(fail_rate=1.0)
    with (
        HttpCoreBank(core.url) as client,
        pytest.raises(CoreBankUnavailable, match="cannot answer now"),
    ):
        client.position(_with_card(seeded[1])[0])


def test_a_hang_ends_at_the_timeout(core: Simulator, seeded: tuple[Path, Engine]) -> None:
    core.faults(timeout_rate=1.0, hang_s=20)
    with HttpCoreBank(core.url, timeout=0.3) as client:
        started = time.perf_counter()
        with pytest.raises(CoreBankUnavailable, match="did not answer in time"):
            client.position(_with_card(seeded[1])[0])
    assert time.perf_counter() - started < 2  # the timeout, not the 20 s hang


def test_latency_is_injected(core: Simulator, seeded: tuple[Path, Engine]) -> None:
    core.faults(latency_ms=120)
    with HttpCoreBank(core.url) as client:
        started = time.perf_counter()
        client.position(_with_card(seeded[1])[0])
    assert time.perf_counter() - started >= 0.12


def test_nobody_listening_is_unavailable() -> None:
    with (
        HttpCoreBank("http://127.0.0.1:9") as client,
        pytest.raises(CoreBankUnavailable, match="unreachable"),
    ):
        client.position(uuid.uuid4())


def test_an_answer_for_someone_else_is_refused() -> None:
    other = uuid.uuid4()
    body = {"customer_id": str(other), "as_of": "2026-06-15T10:00:00+00:00",
            "accounts": [], "cards": [], "loans": [], "transactions": []}  # fmt: skip
    transport = httpx.MockTransport(lambda _r: httpx.Response(200, json=body))
    with (
        HttpCoreBank("http://core", transport=transport) as client,
        pytest.raises(CoreBankBadResponse, match="another customer"),
    ):
        client.position(uuid.uuid4())


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("pan", "4111111111111111", "Extra inputs"),
        ("last4", "12345", "pattern"),
        ("balance", "12.345", "decimal places"),
        ("bin", 412345, "valid string"),
    ],
)
def test_a_card_outside_the_contract_is_refused(field: str, value: object, problem: str) -> None:
    customer = uuid.uuid4()
    card = {"id": str(uuid.uuid4()), "name": "Visa Debit", "status": "active",
            "token": "tok_0123456789abcdef", "bin": "412345", "last4": "1234",
            "scheme": "visa", "currency": "GBP", "balance": "-10.00",
            "credit_limit": "500.00", "available": "490.00"}  # fmt: skip
    card[field] = value
    body = {"customer_id": str(customer), "as_of": "2026-06-15T10:00:00+00:00",
            "accounts": [], "cards": [card], "loans": [], "transactions": []}  # fmt: skip
    transport = httpx.MockTransport(lambda _r: httpx.Response(200, json=body))
    with (
        HttpCoreBank("http://core", transport=transport) as client,
        pytest.raises(CoreBankBadResponse, match=problem),
    ):
        client.position(customer)


def test_money_keeps_its_cents(core: Simulator, seeded: tuple[Path, Engine]) -> None:
    with HttpCoreBank(core.url) as client:
        position = client.position(_with_card(seeded[1])[0])
    assert all(isinstance(c.balance, Decimal) for c in position.cards)
