"""Migration 0005 on existing data: cards tokenised, identity data encrypted, audit chained."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from agentdesk.ids import uuid7
from agentdesk.store import migrate
from agentdesk.store.audit_log import verify_chain
from agentdesk.store.engine import central_engine, read_session, sqlite_engine
from agentdesk.store.field_crypto import FieldKeyring, field_context
from agentdesk.store.sync.entities import customer_aggregate
from tests.support.pgserver import PostgresServer

NOW = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def at_0004(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A store migrated only to 0004 (before data protection)."""
    if request.param == "sqlite":
        engine = sqlite_engine(tmp_path / "central.db")
    else:
        pg: PostgresServer = request.getfixturevalue("pg_server")
        name = pg.create_database()
        request.addfinalizer(lambda: pg.drop_database(name))
        engine = central_engine(pg.url(name))
    migrate.upgrade(engine, "0004")
    yield engine
    engine.dispose()


def _old_rows(engine: Engine) -> dict[str, uuid.UUID]:
    ids = {k: uuid7() for k in ("customer", "doc", "card", "account", "audit")}
    postgres = engine.dialect.name == "postgresql"

    def uid(value: uuid.UUID) -> object:
        return value if postgres else value.hex  # how 0001's CHAR(32) stores ids on SQLite

    with engine.begin() as c:
        c.execute(
            sa.text(
                "INSERT INTO customer (id, kind, display_name, date_of_birth, segment, "
                "preferred_language, preferred_channel, marketing_opt_out, vulnerable, "
                "legal_hold, home_region, version, created_at, updated_at) VALUES "
                "(:id, 'person', 'Ann Lee', :dob, 'retail', 'en', 'phone', false, false, false, "
                "'GB', 1, :t, :t)"
            ),
            {"id": uid(ids["customer"]), "dob": dt.date(1984, 5, 17), "t": NOW},
        )
        c.execute(
            sa.text(
                "INSERT INTO identity_document (id, customer_id, kind, number, "
                "issuing_country, verified, created_at) VALUES "
                "(:id, :c, 'passport', 'ZX9123456', 'GB', true, :t)"
            ),
            {"id": uid(ids["doc"]), "c": uid(ids["customer"]), "t": NOW},
        )
        for key, kind, number in (
            ("card", "card", "4111 1111 1111 1111"),
            ("account", "current", "20-00-00 12345678"),
        ):
            c.execute(
                sa.text(
                    "INSERT INTO product (id, customer_id, kind, name, number, number_last4, "
                    "status, currency, source_system, as_of) VALUES "
                    "(:id, :c, :k, 'x', :n, :l, 'active', 'GBP', 'core', :t)"
                ),
                {
                    "id": uid(ids[key]),
                    "c": uid(ids["customer"]),
                    "k": kind,
                    "n": number,
                    "l": number[-4:],
                    "t": NOW,
                },
            )
        c.execute(
            sa.text(
                "INSERT INTO audit_entry (id, at, actor, action, details) "
                "VALUES (:id, :t, 'carol', 'alert.ack', '{}')"
            ),
            {"id": uid(ids["audit"]), "t": NOW},
        )
    return ids


def test_a_central_store_with_clear_values_needs_the_key(
    at_0004: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AGENTDESK_FIELD_KEY_FILE", raising=False)
    _old_rows(at_0004)
    with pytest.raises(Exception, match="has no field key"):
        migrate.upgrade(at_0004, "0005")
    assert migrate.current_revision(at_0004) == "0004"


def test_existing_data_is_converted(at_0004: Engine) -> None:
    ids = _old_rows(at_0004)
    keys = FieldKeyring.generate()
    migrate.upgrade(at_0004, field_keyring=keys)
    migrate.check(at_0004)
    with at_0004.connect() as c:
        query = sa.text("SELECT birth_year, date_of_birth_enc FROM customer")
        year, dob_enc = c.execute(query).one()
        masked, number_enc = c.execute(
            sa.text("SELECT number_masked, number_enc FROM identity_document")
        ).one()
        products = {
            r.kind: r
            for r in c.execute(
                sa.text("SELECT kind, number, number_last4, token, card_bin FROM product")
            )
        }
    assert year == 1984 and masked == "•••••3456"
    dob_context = field_context("customer", "date_of_birth", ids["customer"])
    assert keys.decrypt(bytes(dob_enc), dob_context) == "1984-05-17"
    doc_context = field_context("identity_document", "number", ids["doc"])
    assert keys.decrypt(bytes(number_enc), doc_context) == "ZX9123456"
    card = products["card"]
    assert card.number is None and card.card_bin == "411111" and card.number_last4 == "1111"
    assert card.token.startswith("tok_") and "4111" not in card.token
    assert products["current"].number == "20-00-00 12345678"
    with read_session(at_0004) as s:
        assert verify_chain(s).ok and verify_chain(s).entries == 1
        # What the feed and cache fills carry: masked forms, never the ciphertext.
        aggregate = customer_aggregate(s, ids["customer"])
    assert aggregate is not None
    assert aggregate["row"]["date_of_birth_enc"] is None
    assert aggregate["row"]["birth_year"] == 1984
    assert aggregate["documents"][0]["number_enc"] is None
    with pytest.raises(sa.exc.IntegrityError), at_0004.begin() as c:
        c.execute(sa.text("UPDATE product SET number = '4111111111111111' WHERE kind = 'card'"))
