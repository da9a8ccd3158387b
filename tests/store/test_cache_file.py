"""A lost or wrong cache key: the old file is set aside and a fresh cache opens."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

import pytest
from sqlalchemy import text

from agentdesk.store.cache_file import UnreadableCache, open_local_cache
from agentdesk.store.engine import StoreError, encrypted_sqlite_engine, sqlite_engine

NOW = dt.datetime(2026, 12, 3, 9, 30, tzinfo=dt.UTC)


def _cache(path: Path, key: str) -> None:
    engine = encrypted_sqlite_engine(path, key)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE outbox (id INTEGER PRIMARY KEY, body TEXT)"))
        conn.execute(text("INSERT INTO outbox (body) VALUES ('unsent wrap-up')"))
    engine.dispose()


def test_the_right_key_opens_the_cache_without_asking(tmp_path: Path) -> None:
    key = secrets.token_hex(32)
    _cache(tmp_path / "cache.db", key)
    engine = open_local_cache(tmp_path / "cache.db", key, on_unreadable=pytest.fail)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT body FROM outbox")).scalar() == "unsent wrap-up"
    engine.dispose()


def test_a_wrong_key_moves_the_file_aside_and_opens_a_fresh_cache(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    _cache(path, secrets.token_hex(32))
    asked: list[UnreadableCache] = []

    def agree(problem: UnreadableCache) -> bool:
        asked.append(problem)
        return True

    engine = open_local_cache(path, secrets.token_hex(32), on_unreadable=agree, now=lambda: NOW)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sqlite_master")).scalar() == 0
    engine.dispose()
    (problem,) = asked
    assert "not a database" in problem.reason and not problem.plaintext
    assert problem.moved_to == tmp_path / "cache.db.unreadable-20261203T093000Z"
    assert problem.moved_to.exists() and "outbox" in problem.outbox_note


def test_declining_keeps_the_file_and_says_why(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    _cache(path, secrets.token_hex(32))
    before = path.read_bytes()
    with pytest.raises(StoreError, match="cannot be opened with this workstation's key"):
        open_local_cache(path, secrets.token_hex(32), on_unreadable=lambda _p: False)
    assert path.read_bytes() == before


def test_an_old_unencrypted_cache_is_recognised(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    plain = sqlite_engine(path)
    with plain.begin() as conn:
        conn.execute(text("CREATE TABLE t (x)"))
    plain.dispose()
    seen: list[UnreadableCache] = []
    engine = open_local_cache(
        path, secrets.token_hex(32), on_unreadable=lambda p: seen.append(p) or True
    )
    engine.dispose()
    assert seen[0].plaintext
