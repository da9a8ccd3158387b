"""Demo data: deterministic, valid, readable through the ORM, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import phonenumbers
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from agentdesk.cli import main
from agentdesk.models import Agent, Customer, CustomerPhone, Disposition, Interaction, Product, Role
from agentdesk.services.seeding.generator import HEAVY_CUSTOMER_NUMBER, SeedOptions, seed
from agentdesk.store import migrate
from agentdesk.store.engine import sqlite_engine

SEARCH_TRIGGERS = (
    "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'search_%_ai'"
)


def _fingerprint(engine: Engine) -> str:
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table in ("customer", "customer_phone", "product", "interaction", "ticket"):
            for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY id")):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def test_same_seed_same_data(tmp_path: Path) -> None:
    engines = []
    for name in ("a", "b"):
        engine = sqlite_engine(tmp_path / f"{name}.db")
        migrate.upgrade(engine)
        seed(engine, SeedOptions(customers=300, seed=5, chunk_size=100), workers=1)
        engines.append(engine)
    assert _fingerprint(engines[0]) == _fingerprint(engines[1])


def test_parallel_generation_matches_serial(tmp_path: Path) -> None:
    serial, parallel = sqlite_engine(tmp_path / "s.db"), sqlite_engine(tmp_path / "p.db")
    for engine, workers in ((serial, 1), (parallel, 2)):
        migrate.upgrade(engine)
        seed(engine, SeedOptions(customers=400, seed=9, chunk_size=100), workers=workers)
    assert _fingerprint(serial) == _fingerprint(parallel)


def test_seeded_rows_read_back_through_the_orm(central: Engine) -> None:
    report = seed(
        central, SeedOptions(customers=200, seed=3, heavy_customer_interactions=50), workers=1
    )
    assert report.customers == 200
    assert report.tables["customer"] == 201
    with Session(central) as s:
        customer = s.scalars(select(Customer).order_by(Customer.id).limit(1)).one()
        assert customer.created_at.tzinfo is dt.UTC
        assert customer.display_name
        phones = s.scalars(
            select(CustomerPhone).where(CustomerPhone.customer_id == customer.id)
        ).all()
        assert phones and all(p.e164 and p.e164.startswith("+") for p in phones)
        product = s.scalars(
            select(Product).where(Product.customer_id == customer.id).limit(1)
        ).one()
        assert product.number.endswith(product.number_last4)
        heavy = s.scalars(
            select(CustomerPhone).where(CustomerPhone.e164 == HEAVY_CUSTOMER_NUMBER)
        ).one()
        count = s.scalar(select(func.count()).where(Interaction.customer_id == heavy.customer_id))
        assert count == 50
        roles = set(s.scalars(select(Agent.role)))
        assert roles == {Role.AGENT, Role.SUPERVISOR, Role.ADMIN}
        assert s.scalar(select(func.count()).select_from(Disposition)) >= 5


def test_phone_numbers_are_valid_and_match_their_raw_form(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path / "c.db")
    migrate.upgrade(engine)
    seed(engine, SeedOptions(customers=1500, seed=11), workers=1)
    from agentdesk.services.phone import normalise

    with Session(engine) as s:
        rows = s.execute(
            select(CustomerPhone.number_raw, CustomerPhone.e164, Customer.home_region).join(
                Customer
            )
        ).all()
    assert len(rows) > 1500
    for raw, e164, region in rows:
        assert phonenumbers.is_valid_number(phonenumbers.parse(e164, None)), e164
        assert normalise(raw, region).e164 == e164, (raw, e164, region)


def test_some_numbers_are_shared_for_the_chooser(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path / "c.db")
    migrate.upgrade(engine)
    seed(engine, SeedOptions(customers=3000, seed=1, shared_number_ratio=0.02), workers=1)
    with Session(engine) as s:
        shared = s.execute(
            select(CustomerPhone.e164)
            .group_by(CustomerPhone.e164)
            .having(func.count(func.distinct(CustomerPhone.customer_id)) > 1)
        ).all()
    assert shared


def test_seeding_again_adds_customers_without_duplicating_reference_data(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path / "c.db")
    migrate.upgrade(engine)
    seed(engine, SeedOptions(customers=100, seed=2), workers=1)
    seed(engine, SeedOptions(customers=100, seed=2), workers=1)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Customer)) == 200
        assert s.scalar(select(func.count()).select_from(Agent)) == 40


def test_cli_seed_and_db_check(tmp_path: Path, capsys: object) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["seed", "--customers", "50", "--url", url]) == 0
    assert main(["db", "check", "--url", url]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "rows/s" in out and "schema up to date" in out


def test_cli_reports_a_bad_url_clearly(capsys: object) -> None:
    assert main(["db", "upgrade", "--url", "mysql://nowhere/db"]) == 2
    assert "unsupported central database" in capsys.readouterr().err  # type: ignore[attr-defined]


def test_bulk_seed_leaves_the_search_index_complete_and_live(tmp_path: Path) -> None:
    from agentdesk.services.search import SearchService

    engine = sqlite_engine(tmp_path / "c.db")
    migrate.upgrade(engine)
    seed(engine, SeedOptions(customers=300, seed=4, chunk_size=100), workers=1)
    with engine.connect() as conn:
        docs = conn.exec_driver_sql("SELECT count(*) FROM search_doc").scalar()
        indexed = conn.exec_driver_sql("SELECT count(*) FROM search_fts").scalar()
        trigger = conn.exec_driver_sql(SEARCH_TRIGGERS).scalar()
    assert docs == indexed and docs > 300
    assert trigger == 4
    with Session(engine) as s:
        name = s.scalars(select(Customer.display_name).limit(1)).one()
    assert SearchService(engine).search(name)


def test_a_seed_killed_half_way_is_repaired_by_the_next(tmp_path: Path) -> None:
    from agentdesk.services.seeding.fastload import suspended_search_triggers

    engine = sqlite_engine(tmp_path / "c.db")
    migrate.upgrade(engine)
    with pytest.raises(RuntimeError), suspended_search_triggers(engine):
        # Simulate a crash: leave the context without its clean-up running.
        with engine.begin() as conn:
            assert not conn.exec_driver_sql(SEARCH_TRIGGERS).scalar()
        raise RuntimeError("boom")
    seed(engine, SeedOptions(customers=200, seed=4, chunk_size=100), workers=1)
    with engine.connect() as conn:
        assert conn.exec_driver_sql(SEARCH_TRIGGERS).scalar() == 4
        assert (
            conn.exec_driver_sql("SELECT count(*) FROM sync_state WHERE key LIKE 'seed.%'").scalar()
            == 0
        )


def test_bulk_built_index_equals_the_trigger_fed_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from contextlib import nullcontext

    from agentdesk.services.seeding import generator

    def documents(engine: Engine) -> list[tuple[object, ...]]:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT source_id, customer_id, name, phone, email FROM search_doc"
                " ORDER BY source_id"
            )
            return [tuple(r) for r in rows]

    bulk = sqlite_engine(tmp_path / "bulk.db")
    migrate.upgrade(bulk)
    seed(bulk, SeedOptions(customers=300, seed=8, chunk_size=100), workers=1)
    fed = sqlite_engine(tmp_path / "fed.db")
    migrate.upgrade(fed)
    monkeypatch.setattr(generator, "suspended_search_triggers", lambda engine: nullcontext())
    seed(fed, SeedOptions(customers=300, seed=8, chunk_size=100), workers=1)
    assert documents(bulk) == documents(fed)
    with bulk.connect() as b, fed.connect() as f:
        query = "SELECT count(*) FROM search_fts WHERE search_fts MATCH ?"
        for term in ("smith", "44*", "example*"):
            assert (
                b.exec_driver_sql(query, (term,)).scalar()
                == f.exec_driver_sql(query, (term,)).scalar()
            )
