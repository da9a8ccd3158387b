"""AuthService: Argon2id checks against the central store, local cache when central is down."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from agentdesk import vault
from agentdesk.services.platform.auth import (
    AuthService,
    StoreUnreachable,
    WrongCredentials,
    forget_password,
    hash_password,
    remember_password,
    remembered_password,
    verify_password,
)
from agentdesk.store.engine import central_engine
from tests.ui.data import PASSWORD, add_agent


def test_hash_is_argon2id_and_verifies() -> None:
    stored = hash_password("s3cret")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "s3cret") and not verify_password(stored, "S3cret")
    assert not verify_password("not-a-hash", "s3cret")


def test_right_and_wrong_password(sqlite_central_engine: Engine) -> None:
    add_agent(sqlite_central_engine)
    auth = AuthService(sqlite_central_engine)
    who = auth.authenticate("alice", PASSWORD)
    assert who.login == "alice" and who.interface == "PJSIP/1001" and who.source == "central"
    for login, password in (
        ("alice", "wrong"),
        ("nobody", PASSWORD),
        ("", ""),
        ("alice", "x" * 5000),
    ):
        with pytest.raises(WrongCredentials):
            auth.authenticate(login, password)


def test_inactive_agent_cannot_sign_in(sqlite_central_engine: Engine) -> None:
    add_agent(sqlite_central_engine, "bob", "PJSIP/1002", active=False)
    with pytest.raises(WrongCredentials):
        AuthService(sqlite_central_engine).authenticate("bob", PASSWORD)


def test_central_down_falls_back_to_the_local_cache(
    sqlite_central_engine: Engine, tmp_path: Path
) -> None:
    add_agent(sqlite_central_engine)
    down = central_engine("postgresql://nobody@127.0.0.1:1/none")
    who = AuthService(down, sqlite_central_engine).authenticate("alice", PASSWORD)
    assert who.source == "local"
    with pytest.raises(StoreUnreachable, match="central database is unreachable"):
        AuthService(down, None).authenticate("alice", PASSWORD)
    down.dispose()


def test_remember_me_uses_the_keyring_only(memory_keyring: vault.MemoryKeyring) -> None:
    remember_password("alice", "pw")
    assert remembered_password("alice") == "pw"
    forget_password("alice")
    assert remembered_password("alice") is None
