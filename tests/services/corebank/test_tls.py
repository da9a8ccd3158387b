"""``HttpCoreBank`` over HTTPS: the bank's CA from ``ca_file``; an untrusted certificate named."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import threading
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import trustme
import uvicorn

from agentdesk.services.corebank.client import CoreBankUnavailable, HttpCoreBank
from agentdesk.services.corebank.ledger import BookProduct
from agentdesk.services.corebank.simulator import CoreSimulator

CUSTOMER = uuid.uuid4()
ACCOUNT = BookProduct(
    uuid.uuid4(), CUSTOMER, "current", "Everyday Current Account", "active", "1234", "GBP",
    Decimal("250.00"),
)  # fmt: skip


class OneCustomer:
    """A book with one customer holding one current account."""

    def products_of(self, customer_id: uuid.UUID) -> tuple[BookProduct, ...]:
        return (ACCOUNT,) if customer_id == CUSTOMER else ()

    def product(self, product_id: uuid.UUID) -> BookProduct | None:
        return ACCOUNT if product_id == ACCOUNT.id else None


@pytest.fixture
def https_core(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    ca = trustme.CA()
    cert = ca.issue_cert("localhost")
    key, chain, ca_pem = tmp_path / "core.key", tmp_path / "core.pem", tmp_path / "ca.pem"
    cert.private_key_pem.write_to_path(str(key))
    cert.cert_chain_pems[0].write_to_path(str(chain))
    ca.cert_pem.write_to_path(str(ca_pem))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    app = CoreSimulator(OneCustomer(), today=dt.date(2026, 6, 15))
    config = uvicorn.Config(app, ssl_certfile=str(chain), ssl_keyfile=str(key),
                            log_level="warning", lifespan="on")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])))
    thread.start()
    yield f"https://localhost:{sock.getsockname()[1]}", ca_pem
    server.should_exit = True
    thread.join(10)


def test_the_banks_ca_is_trusted_when_given(https_core: tuple[str, Path]) -> None:
    url, ca_pem = https_core
    with HttpCoreBank(url, timeout=5, ca_file=str(ca_pem)) as client:
        position = client.position(CUSTOMER)
    assert [a.ledger_balance for a in position.accounts] == [Decimal("250.00")]


def test_an_untrusted_certificate_is_named(https_core: tuple[str, Path]) -> None:
    url, _ = https_core
    with (
        HttpCoreBank(url, timeout=5) as client,
        pytest.raises(CoreBankUnavailable, match="certificate is not trusted"),
    ):
        client.position(CUSTOMER)
