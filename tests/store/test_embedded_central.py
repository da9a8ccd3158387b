"""The embedded central store: SQLCipher, 0600 in a 0700 directory, its key in a 0600 file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from agentdesk.config import CentralSettings, Settings
from agentdesk.models import Customer, Team
from agentdesk.store import migrate
from agentdesk.store.central import encrypt_plaintext, is_plaintext, open_central, open_embedded
from agentdesk.store.engine import StoreError, sqlite_engine, write_session


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_store_is_encrypted_private_and_unreadable_without_its_key(tmp_path: Path) -> None:
    data = tmp_path / "site"
    engine = open_central(Settings(data_dir=data))
    migrate.upgrade(engine)
    with write_session(engine) as s:
        s.add(Team(name="Cards-and-secrets"))
    engine.dispose()
    store, key = data / "central.db", data / "central.key"
    assert _mode(data) == 0o700 and _mode(store) == 0o600 and _mode(key) == 0o600
    assert not is_plaintext(store)
    for item in data.iterdir():
        assert b"Cards-and-secrets" not in item.read_bytes(), item.name
    # Without the key (a plain SQLite reader, or another key) the file is noise.
    plain = sqlite_engine(store)
    with pytest.raises(Exception, match="not a database"), plain.connect() as conn:
        conn.execute(text("SELECT count(*) FROM team"))
    plain.dispose()
    other = tmp_path / "other.key"
    other.write_text("ab" * 32)
    other.chmod(0o600)
    with pytest.raises(StoreError, match="wrong key"):
        open_embedded(store, other).connect()
    # With it, everything is there.
    again = open_central(Settings(data_dir=data))
    with again.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Team)).scalar() == 1
    again.dispose()


def test_a_missing_or_loose_key_file_is_refused_with_the_reason(tmp_path: Path) -> None:
    data = tmp_path / "site"
    open_central(Settings(data_dir=data)).dispose()
    key = data / "central.key"
    key.chmod(0o644)
    with pytest.raises(StoreError, match="chmod 600"):
        open_central(Settings(data_dir=data))
    key.unlink()
    with pytest.raises(StoreError, match=r"key file .* is missing"):
        open_central(Settings(data_dir=data))


def test_an_old_plaintext_store_is_encrypted_in_place(tmp_path: Path) -> None:
    store = tmp_path / "central.db"
    plain = sqlite_engine(store)
    migrate.upgrade(plain)
    with write_session(plain) as s:
        s.add(Team(name="Mortgages"))
    plain.dispose()
    settings = Settings(data_dir=tmp_path, central=CentralSettings(key_file=tmp_path / "k.key"))
    assert is_plaintext(store)
    kept = encrypt_plaintext(store, tmp_path / "k.key")
    assert kept.exists() and not is_plaintext(store)
    engine = open_central(settings)
    migrate.check(engine)
    with engine.connect() as conn:
        assert conn.execute(select(Team.name)).scalar() == "Mortgages"
    engine.dispose()


def test_bulk_seeding_fills_the_encrypted_store_and_leaves_nothing_in_clear(
    tmp_path: Path,
) -> None:
    from agentdesk.services.crm.search import SearchService
    from agentdesk.services.seeding.generator import SeedOptions, seed

    data = tmp_path / "site"
    engine = open_central(Settings(data_dir=data))
    migrate.upgrade(engine)
    seed(engine, SeedOptions(customers=400), workers=0, bulk=True)
    with engine.connect() as conn:
        name = conn.execute(
            select(Customer.family_name).where(Customer.family_name.is_not(None))
        ).scalar()
    hits = SearchService(engine).search(str(name)).hits
    engine.dispose()
    assert hits
    assert sorted(p.name for p in data.iterdir()) == ["central.db", "central.key"]
    assert not is_plaintext(data / "central.db")
    assert b"search_fts" not in (data / "central.db").read_bytes()
