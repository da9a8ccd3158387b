"""Migrations: the models and the Alembic history agree, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text

from agentdesk.store import migrate
from agentdesk.store.engine import (
    StoreError,
    central_engine,
    encrypted_sqlite_engine,
    sqlite_engine,
)


def test_alembic_check_passes(central: Engine) -> None:
    migrate.check(central)


def test_upgrade_downgrade_upgrade_round_trip(central: Engine) -> None:
    migrate.downgrade(central, "base")
    assert "customer" not in inspect(central).get_table_names()
    migrate.upgrade(central)
    migrate.check(central)
    assert migrate.current_revision(central) == migrate.head_revision()


def test_upgrade_is_idempotent(central: Engine) -> None:
    migrate.upgrade(central)
    migrate.upgrade(central)
    migrate.check(central)


def test_check_reports_an_unmigrated_database(tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path / "empty.db")
    with pytest.raises(migrate.SchemaDriftError, match="agentdesk db upgrade"):
        migrate.check(engine)


def test_sqlite_pragmas(sqlite_central_engine: Engine) -> None:
    with sqlite_central_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_encrypted_cache_is_unreadable_without_the_key(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    key = "ab" * 32
    engine = encrypted_sqlite_engine(path, key)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO sync_state(key, value) VALUES ('probe', 'secret-value')"))
        assert conn.exec_driver_sql("PRAGMA cipher_version").scalar()
    engine.dispose()
    raw = path.read_bytes() + (
        path.with_suffix(".db-wal").read_bytes() if path.with_suffix(".db-wal").exists() else b""
    )
    assert b"secret-value" not in raw
    assert b"SQLite format 3" not in raw[:16]
    wrong = encrypted_sqlite_engine(path, "cd" * 32)
    with pytest.raises(StoreError, match="wrong key"):
        wrong.connect()
    wrong.dispose()
    again = encrypted_sqlite_engine(path, key)
    with again.connect() as conn:
        assert (
            conn.execute(text("SELECT value FROM sync_state WHERE key='probe'")).scalar()
            == "secret-value"
        )
    again.dispose()


@pytest.mark.parametrize("url", ["mysql://x/y", "not a url", "sqlite://", "sqlite:///:memory:"])
def test_bad_central_urls_are_refused_clearly(url: str) -> None:
    with pytest.raises(StoreError):
        central_engine(url)


def test_bad_cache_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="64 hexadecimal"):
        encrypted_sqlite_engine(tmp_path / "c.db", "short")
