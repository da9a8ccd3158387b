"""Offline sign-in verifier: keyring only, policy window, wrong-password limit."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from agentdesk import vault
from agentdesk.client.offline_signin import (
    OfflineSignInRefused,
    check_offline,
    forget_offline,
    remember_online_signin,
    verifier_name,
)

T0 = dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.UTC)
AGENT = uuid.uuid4()
TEAM = uuid.uuid4()


def remember(password: str = "pw-online", now: dt.datetime = T0) -> None:
    remember_online_signin(
        password,
        agent_id=AGENT,
        login="Alice",
        display_name="Alice Archer",
        role="agent",
        interface="PJSIP/1001",
        extension="1001",
        team_ids=[TEAM],
        now=now,
    )


def test_verifier_lives_in_the_keyring_as_an_argon2id_hash(
    memory_keyring: vault.MemoryKeyring,
) -> None:
    remember()
    raw = vault.get_secret(verifier_name("alice"))
    assert raw is not None and "pw-online" not in raw
    record = json.loads(raw)
    assert record["hash"].startswith("$argon2id$")
    assert record["online_at"] == T0.isoformat()
    who = check_offline("alice", "pw-online", now=T0 + dt.timedelta(hours=1))
    assert who.id == AGENT and who.login == "Alice" and who.team_ids == (TEAM,)
    assert who.role == "agent" and who.online_at == T0


def test_only_within_the_window_after_the_last_online_sign_in(
    memory_keyring: vault.MemoryKeyring,
) -> None:
    remember()
    check_offline("alice", "pw-online", now=T0 + dt.timedelta(hours=71, minutes=59))
    with pytest.raises(OfflineSignInRefused, match="within 72 hours"):
        check_offline("alice", "pw-online", now=T0 + dt.timedelta(hours=72, minutes=1))
    with pytest.raises(OfflineSignInRefused, match="within 8 hours"):
        check_offline(
            "alice", "pw-online", now=T0 + dt.timedelta(hours=9), window=dt.timedelta(hours=8)
        )
    # A fresh online sign-in restarts the window (and takes the new password).
    remember("pw-new", now=T0 + dt.timedelta(hours=80))
    check_offline("alice", "pw-new", now=T0 + dt.timedelta(hours=100))
    with pytest.raises(OfflineSignInRefused, match="Wrong agent id or password"):
        check_offline("alice", "pw-online", now=T0 + dt.timedelta(hours=100))


def test_clock_wound_back_is_refused(memory_keyring: vault.MemoryKeyring) -> None:
    remember()
    with pytest.raises(OfflineSignInRefused, match="clock is earlier"):
        check_offline("alice", "pw-online", now=T0 - dt.timedelta(hours=1))


def test_never_signed_in_online_here(memory_keyring: vault.MemoryKeyring) -> None:
    with pytest.raises(OfflineSignInRefused, match="sign in online first"):
        check_offline("alice", "anything", now=T0)


def test_repeated_wrong_passwords_delete_the_verifier(
    memory_keyring: vault.MemoryKeyring,
) -> None:
    remember()
    for _ in range(4):
        with pytest.raises(OfflineSignInRefused, match="Wrong agent id or password"):
            check_offline("alice", "guess", now=T0)
    with pytest.raises(OfflineSignInRefused, match="offline sign-in is now disabled"):
        check_offline("alice", "guess", now=T0)
    assert vault.get_secret(verifier_name("alice")) is None
    with pytest.raises(OfflineSignInRefused, match="sign in online first"):
        check_offline("alice", "pw-online", now=T0)


def test_a_right_password_resets_the_wrong_count(memory_keyring: vault.MemoryKeyring) -> None:
    remember()
    for _ in range(3):
        for _ in range(4):
            with pytest.raises(OfflineSignInRefused):
                check_offline("alice", "guess", now=T0)
        check_offline("alice", "pw-online", now=T0)


def test_forget_and_damaged_records(memory_keyring: vault.MemoryKeyring) -> None:
    remember()
    forget_offline("ALICE")
    with pytest.raises(OfflineSignInRefused, match="sign in online first"):
        check_offline("alice", "pw-online", now=T0)
    vault.set_secret(verifier_name("alice"), json.dumps({"v": 1, "identity": {}}))
    with pytest.raises(OfflineSignInRefused, match="damaged"):
        check_offline("alice", "pw-online", now=T0)
    assert vault.get_secret(verifier_name("alice")) is None
