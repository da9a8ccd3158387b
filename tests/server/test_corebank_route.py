"""``GET /customers/{id}/products-live`` through a real server and the real core-banking simulator.

The desktop's client (``ServerLiveProducts``) asks the server; the server
asks ``agentdesk corebank`` (its own process) through the breaker and
answers live values, or the last known ones marked stale when the core
system fails. Authorised as the other customer reads: only customers this
desktop was handed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, select, update

from agentdesk.client.api import ServerApi, ServerRefused
from agentdesk.client.corebank import ServerLiveProducts
from agentdesk.models import Agent, CustomerPhone, Product
from agentdesk.server.app import build_context, create_app
from agentdesk.server.context import ServerContext
from agentdesk.server.run import ServerThread
from agentdesk.server.settings import ListenSettings, ServerSettings
from agentdesk.services.corebank.client import CoreBankSettings
from agentdesk.services.platform.auth import hash_password
from agentdesk.services.seeding.generator import SeedOptions, seed
from agentdesk.store import migrate
from agentdesk.store.engine import read_session, sqlite_engine, write_session
from tests.services.corebank.conftest import Simulator, start_simulator
from tests.test_no_clear_card_data import card_like_numbers

PASSWORD = "correct horse"


@dataclass
class Site:
    engine: Engine
    core: Simulator
    url: str
    ctx: ServerContext


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("corebank-site")
    engine = sqlite_engine(tmp / "central.db")
    migrate.upgrade(engine)
    seed(engine, SeedOptions(customers=40, seed=5, interactions_per_customer=0.2), workers=0)
    with write_session(engine) as s:
        s.execute(
            update(Agent)
            .where(Agent.login == "alice")
            .values(password_hash=hash_password(PASSWORD))
        )
    core = start_simulator(tmp / "central.db", tmp)
    settings = ServerSettings(
        corebank=CoreBankSettings(core.url, timeout=0.3, failure_threshold=2, cool_down=60)
    )
    ctx = build_context(engine, settings)
    thread = ServerThread(create_app(ctx), ListenSettings(host="127.0.0.1", port=0))
    url = thread.start()
    yield Site(engine, core, url, ctx)
    thread.stop()
    core.stop()
    engine.dispose()


def _customer_with_card(engine: Engine, skip: int = 0) -> tuple[uuid.UUID, str, set[uuid.UUID]]:
    with read_session(engine) as s:
        owners = (
            s.execute(
                select(Product.customer_id).where(Product.kind == "card").order_by(Product.id)
            )
            .scalars()
            .all()
        )
        customer = owners[skip]
        phone = (
            s.execute(select(CustomerPhone.e164).where(CustomerPhone.customer_id == customer))
            .scalars()
            .first()
        )
        ids = set(s.execute(select(Product.id).where(Product.customer_id == customer)).scalars())
    assert phone is not None
    return customer, phone, ids


@pytest.fixture
def desk(site: Site) -> Iterator[tuple[ServerApi, uuid.UUID]]:
    site.core.faults()
    api = ServerApi(site.url)
    api.sign_in("alice", PASSWORD, "ws-corebank")
    yield api, uuid.uuid4()
    api.close()
    site.core.faults()
    assert site.ctx.corebank is not None
    site.ctx.corebank.breaker.record_success()  # the next test starts with it closed


def _pin(api: ServerApi, client_id: uuid.UUID, phone: str) -> None:
    api.request("POST", "/customers/match", params={"client_id": str(client_id)},
                json={"number": phone})  # fmt: skip


def test_live_products_of_a_customer_this_desktop_was_handed(
    site: Site, desk: tuple[ServerApi, uuid.UUID]
) -> None:
    api, client_id = desk
    customer, phone, product_ids = _customer_with_card(site.engine)
    _pin(api, client_id, phone)
    live = ServerLiveProducts(api, lambda: client_id)(customer)
    assert not live.stale and live.source == "core" and live.as_of is not None
    assert {p.id for p in live.products} == product_ids
    card = next(p for p in live.products if p.kind == "card")
    assert "•••• " in card.masked_number and card.limit is not None
    assert live.transactions
    raw = api._http.get(  # the bytes on the wire to the desktop: no token, nothing card-like
        f"/customers/{customer}/products-live",
        params={"client_id": str(client_id)},
        headers={"Authorization": f"Bearer {api.token}"},
    ).content
    assert b"tok_" not in raw and not card_like_numbers(raw.replace(b"-", b"x"))


def test_a_customer_never_handed_to_this_desktop_is_refused(
    site: Site, desk: tuple[ServerApi, uuid.UUID]
) -> None:
    api, client_id = desk
    customer, _phone, _ids = _customer_with_card(site.engine, skip=1)
    with pytest.raises(ServerRefused) as refused:
        ServerLiveProducts(api, lambda: client_id)(customer)
    assert refused.value.status == 403 and "never found on this desktop" in str(refused.value)


def test_with_the_core_system_down_the_last_known_values_come_stale(
    site: Site, desk: tuple[ServerApi, uuid.UUID]
) -> None:
    api, client_id = desk
    customer, phone, _ids = _customer_with_card(site.engine, skip=2)
    _pin(api, client_id, phone)
    read = ServerLiveProducts(api, lambda: client_id)
    live = read(customer)
    site.core.faults(garbage_rate=1.0)
    stale = read(customer)
    assert stale.stale and stale.source == "last-known" and stale.as_of == live.as_of
    assert stale.reason == "core system unavailable" and stale.products == live.products
    site.core.faults(timeout_rate=1.0, hang_s=5)
    again = read(customer)  # the second failure in a row opens the breaker
    assert again.stale  # the second failure in a row: the breaker opens
    served = site.core.served()
    assert read(customer).stale and site.core.served() == served  # not asked while open
