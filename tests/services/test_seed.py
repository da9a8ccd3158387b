"""Demo data: deterministic, valid, readable through the ORM, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import phonenumbers
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from agentdesk.cli import main
from agentdesk.models import Agent, Customer, CustomerPhone, Disposition, Interaction, Product, Role
from agentdesk.services.seeding.generator import HEAVY_CUSTOMER_NUMBER, SeedOptions, seed
from agentdesk.store import migrate
from agentdesk.store.engine import central_engine, sqlite_engine


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
            select(Product)
            .where(Product.customer_id == customer.id, Product.kind != "card")
            .limit(1)
        ).one()
        assert product.number and product.number.endswith(product.number_last4)
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
    from agentdesk.services.crm.phone import normalise

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


# --- bulk mode: an empty store loaded with indexes and search triggers off ---------------------

SEEDED_TABLES = (
    "customer",
    "customer_phone",
    "customer_email",
    "customer_address",
    "identity_document",
    "product",
    "interaction",
    "ticket",
    "ticket_history",
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], Engine]]:
    """Makes fresh migrated central stores, all on SQLite or all on PostgreSQL."""
    engines: list[Engine] = []

    def make(name: str) -> Engine:
        if request.param == "sqlite":
            engine = sqlite_engine(tmp_path / f"{name}.db")
        else:
            server = request.getfixturevalue("pg_server")
            database = server.create_database()
            request.addfinalizer(lambda: server.drop_database(database))
            engine = central_engine(server.url(database))
        migrate.upgrade(engine)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()


def _rows(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as conn:
        out = {
            table: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))]
            for table in SEEDED_TABLES
        }
        doc_columns = "kind, body" if engine.dialect.name == "postgresql" else "name, phone, email"
        out["search_doc"] = [
            tuple(r)
            for r in conn.execute(
                text(
                    f"SELECT source_id, customer_id, {doc_columns} FROM search_doc "
                    "ORDER BY source_id"
                )
            )
        ]
    return out


def _schema_objects(engine: Engine) -> list[tuple[object, ...]]:
    """Every index, trigger and constraint as the database itself describes it."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = (
                "SELECT type, name, tbl_name, sql FROM sqlite_master "
                "WHERE type IN ('index', 'trigger') ORDER BY name"
            )
        else:
            sql = """
                SELECT 'index', indexname, tablename, indexdef FROM pg_indexes
                 WHERE schemaname = current_schema()
                UNION ALL
                SELECT 'constraint', conname, conrelid::regclass::text,
                       pg_get_constraintdef(oid) || ' valid=' || convalidated::text
                  FROM pg_constraint WHERE connamespace = current_schema()::regnamespace
                UNION ALL
                SELECT 'trigger', tgname, tgrelid::regclass::text,
                       pg_get_triggerdef(oid) || ' enabled=' || tgenabled::text
                  FROM pg_trigger WHERE NOT tgisinternal
                ORDER BY 1, 2"""
        return [tuple(r) for r in conn.execute(text(sql))]


def _search_counts(engine: Engine, terms: tuple[str, ...]) -> list[int]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            query = "SELECT count(*) FROM search_fts WHERE search_fts MATCH :q"
            return [conn.execute(text(query), {"q": f"{t}*"}).scalar_one() for t in terms]
        query = "SELECT count(*) FROM search_doc WHERE tsv @@ to_tsquery('simple', :q)"
        return [conn.execute(text(query), {"q": f"{t}:*"}).scalar_one() for t in terms]


def test_bulk_load_writes_what_the_ordinary_path_writes(
    new_store: Callable[[str], Engine],
) -> None:
    options = SeedOptions(customers=700, seed=8, chunk_size=200, heavy_customer_interactions=40)
    ordinary, bulk = new_store("ordinary"), new_store("bulk")
    slow = seed(ordinary, options, workers=1, bulk=False)
    fast = seed(bulk, options, workers=2, bulk=True)
    assert (slow.bulk, fast.bulk) == (False, True)
    assert slow.rows == fast.rows and slow.tables == fast.tables
    assert _rows(bulk) == _rows(ordinary)
    # Indexes, triggers and foreign keys are back exactly as the migrations made them ...
    assert _schema_objects(bulk) == _schema_objects(ordinary)
    migrate.check(bulk)
    # ... and the full-text index answers as the trigger-fed one does.
    terms = ("smith", "44", "example", "maria")
    assert _search_counts(bulk, terms) == _search_counts(ordinary, terms)
    with bulk.connect() as conn:
        parked = conn.execute(text("SELECT count(*) FROM sync_state WHERE key LIKE 'seed.%'"))
        assert parked.scalar_one() == 0
        if bulk.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            # The full-text index (built in a side file and copied in) matches its documents.
            conn.exec_driver_sql(
                "INSERT INTO search_fts(search_fts, rank) VALUES ('integrity-check', 1)"
            )
            assert not conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()


def test_a_bulk_seeded_store_answers_search_and_the_screen_pop(
    new_store: Callable[[str], Engine],
) -> None:
    from agentdesk.services.crm.search import SearchService

    engine = new_store("bulk")
    seed(engine, SeedOptions(customers=400, seed=4, chunk_size=100), workers=1, bulk=True)
    with engine.connect() as conn:
        name, e164, number_raw = conn.execute(
            text(
                "SELECT c.display_name, p.e164, p.number_raw FROM customer c "
                "JOIN customer_phone p ON p.customer_id = c.id "
                "WHERE c.kind = 'person' ORDER BY c.id LIMIT 1"
            )
        ).one()
        email = conn.execute(text("SELECT address FROM customer_email LIMIT 1")).scalar_one()
        last4 = conn.execute(text("SELECT number_last4 FROM product LIMIT 1")).scalar_one()
        ticket = conn.execute(text("SELECT number FROM ticket LIMIT 1")).scalar_one()
        if engine.dialect.name == "sqlite":
            plan = conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT customer_id FROM customer_phone WHERE e164 = ?",
                (e164,),
            ).fetchall()
            assert any("ix_customer_phone_e164" in str(step) for step in plan), plan
    service = SearchService(engine)
    for query, matched in (
        (name, "name"),
        (number_raw, "phone"),
        (email, "email"),
        (f"*{last4}", "account"),
        (ticket, "ticket"),
    ):
        hits = service.search(query).hits
        assert any(h.matched == matched for h in hits), (query, hits)
    # The triggers are live again: a customer added afterwards is found at once.
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO customer (id, kind, display_name, segment, preferred_language, "
                "preferred_channel, marketing_opt_out, vulnerable, legal_hold, home_region, "
                "version, created_at, updated_at) VALUES (:id, 'person', 'Zebedee Quux', "
                "'retail', 'en', 'phone', false, false, false, 'GB', 1, :now, :now)"
            ),
            {
                "id": uuid.uuid4().hex,
                "now": dt.datetime(2026, 1, 1)
                if engine.dialect.name == "sqlite"
                else dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            },
        )
    assert any(h.matched == "name" for h in service.search("Zebedee").hits)


def test_bulk_generation_does_not_depend_on_the_worker_count(tmp_path: Path) -> None:
    engines = []
    for workers in (1, 2):
        engine = sqlite_engine(tmp_path / f"w{workers}.db")
        migrate.upgrade(engine)
        seed(engine, SeedOptions(customers=500, seed=9, chunk_size=100), workers=workers, bulk=True)
        engines.append(engine)
    assert _fingerprint(engines[0]) == _fingerprint(engines[1])


def test_bulk_mode_refuses_a_store_that_already_has_customers(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path / "c.db")
    migrate.upgrade(engine)
    seed(engine, SeedOptions(customers=50, seed=2), workers=1)
    with pytest.raises(ValueError, match="without customers"):
        seed(engine, SeedOptions(customers=50, seed=2), workers=1, bulk=True)


def test_a_bulk_load_killed_half_way_is_finished_by_the_next_seed(
    new_store: Callable[[str], Engine],
) -> None:
    from agentdesk.services.seeding import fastload

    reference = new_store("reference")
    seed(reference, SeedOptions(customers=0, seed=4), workers=1)
    engine = new_store("killed")
    fastload._suspend(engine)  # what a bulk load does first; then the process "dies"
    assert _schema_objects(engine) != _schema_objects(reference)
    seed(engine, SeedOptions(customers=0, seed=4), workers=1)
    assert _schema_objects(engine) == _schema_objects(reference)
    migrate.check(engine)
    with engine.connect() as conn:
        parked = conn.execute(text("SELECT count(*) FROM sync_state WHERE key LIKE 'seed.%'"))
        assert parked.scalar_one() == 0


def test_bulk_mode_encrypts_with_the_servers_key(tmp_path: Path) -> None:
    from agentdesk.store.field_crypto import FieldKeyring, field_context, new_key_text

    key_text = new_key_text("seed")
    keys = FieldKeyring.parse(key_text, "test key")
    engine = sqlite_engine(tmp_path / "c.db")
    migrate.upgrade(engine)
    seed(engine, SeedOptions(customers=300, seed=3, chunk_size=100, field_key=key_text), bulk=True)
    with engine.connect() as conn:
        people = conn.execute(
            text("SELECT id, birth_year, date_of_birth_enc FROM customer WHERE kind = 'person'")
        ).all()
        docs = conn.execute(text("SELECT id, number_masked, number_enc FROM identity_document"))
        for doc_id, masked, sealed in docs:
            number = keys.decrypt(
                sealed, field_context("identity_document", "number", uuid.UUID(doc_id))
            )
            assert masked == "\u2022" * 5 + number[-4:]
    assert people
    for cid, year, sealed in people:
        born = keys.decrypt(sealed, field_context("customer", "date_of_birth", uuid.UUID(cid)))
        assert dt.date.fromisoformat(born).year == year
