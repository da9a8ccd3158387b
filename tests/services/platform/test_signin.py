"""SignInService: Argon2id sign-in, lockout and back-off, sessions, audit (SQLite, PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from agentdesk.models import Agent, AuditEntry, AuthSession, SigninThrottle
from agentdesk.services.platform import signin
from agentdesk.services.platform.signin import (
    AccountLocked,
    SignInPolicy,
    SignInService,
    WrongCredentials,
)
from tests.services.platform.conftest import PASSWORD, Clock, add_agent

WS = "ws-07"


def service(engine: Engine, clock: Clock, **policy: Any) -> SignInService:
    return SignInService(engine, policy=SignInPolicy(**policy), clock=clock)


def audit_actions(engine: Engine) -> list[tuple[str, str]]:
    with Session(engine) as s:
        rows = s.scalars(select(AuditEntry).order_by(AuditEntry.at, AuditEntry.id)).all()
        return [(r.actor, r.action) for r in rows]


def test_sign_in_opens_a_session_and_stores_only_the_token_hash(
    central: Engine, clock: Clock
) -> None:
    agent_id = add_agent(central, "Alice", team="Cards")
    auth = service(central, clock)
    grant = auth.sign_in("  alice ", PASSWORD, workstation=WS, client_ip="10.0.0.7")
    assert grant.agent.id == agent_id and grant.agent.login == "Alice"
    assert grant.agent.role == "agent" and len(grant.agent.team_ids) == 1
    assert grant.expires_at == clock.now + dt.timedelta(hours=12)
    assert grant.source == "password" and grant.idle_timeout_seconds == 1800
    assert grant.token not in repr(grant)
    with Session(central) as s:
        row = s.scalars(select(AuthSession)).one()
        assert row.token_hash == hashlib.sha256(grant.token.encode()).hexdigest()
        assert row.workstation == WS and row.client_ip == "10.0.0.7"
        dumped = [str(v) for v in s.execute(text("SELECT * FROM auth_session")).one()]
    assert grant.token not in dumped
    info = auth.authenticate(grant.token)
    assert info is not None and info.agent == grant.agent and info.session_id == grant.session_id
    assert auth.authenticate(grant.token + "x") is None
    assert auth.authenticate("") is None


def test_unknown_inactive_and_wrong_password_get_one_answer(
    central: Engine, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_agent(central, "alice")
    add_agent(central, "bob", active=False)
    checked: list[str] = []
    real = signin.verify_password

    def spy(stored: str, password: str) -> bool:
        checked.append(stored)
        return real(stored, password)

    monkeypatch.setattr(signin, "verify_password", spy)
    auth = service(central, clock)
    messages = []
    for login, password in (("alice", "nope"), ("nobody", PASSWORD), ("bob", PASSWORD)):
        checked.clear()
        with pytest.raises(WrongCredentials) as err:
            auth.sign_in(login, password, workstation=WS, client_ip=None)
        messages.append(str(err.value))
        # Exactly one Argon2id verification on every path: no early exit to time.
        assert len(checked) == 1
        if login == "nobody":
            assert checked == [signin.dummy_hash()]
            assert checked[0].startswith("$argon2id$")
        else:
            assert checked[0] != signin.dummy_hash()
    assert messages == ["Wrong agent id or password."] * 3
    for login, password in (("", PASSWORD), ("alice", ""), ("alice", "x" * 5000)):
        with pytest.raises(WrongCredentials):
            auth.sign_in(login, password, workstation=WS, client_ip=None)


def test_lockout_refuses_the_right_password_until_the_back_off_passes(
    central: Engine, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_agent(central, "alice")
    auth = service(central, clock, max_failures=5)
    for _ in range(4):
        with pytest.raises(WrongCredentials):
            auth.sign_in("alice", "guess", workstation=WS, client_ip=None)
        clock.advance(seconds=5)
    with pytest.raises(AccountLocked) as locked:
        auth.sign_in("ALICE", "guess", workstation=WS, client_ip=None)
    assert locked.value.retry_after == 60 and "1 minute" in str(locked.value)

    # While locked the password is not even checked: right or wrong, same refusal.
    monkeypatch.setattr(signin, "verify_password", lambda *_: pytest.fail("checked while locked"))
    clock.advance(seconds=20)
    with pytest.raises(AccountLocked) as still:
        auth.sign_in("alice", PASSWORD, workstation=WS, client_ip=None)
    assert still.value.retry_after == 40
    monkeypatch.undo()

    clock.advance(seconds=41)
    auth.sign_in("alice", PASSWORD, workstation=WS, client_ip=None)  # back-off over
    with Session(central) as s:
        assert s.get(SigninThrottle, "alice") is None  # success clears the count


def test_back_off_grows_per_lockout_and_unknown_logins_lock_the_same_way(
    central: Engine, clock: Clock
) -> None:
    auth = service(central, clock, max_failures=5)
    waits = []
    for _ in range(3):
        for _ in range(4):
            with pytest.raises(WrongCredentials):
                auth.sign_in("ghost", "guess", workstation=WS, client_ip=None)
        with pytest.raises(AccountLocked) as locked:
            auth.sign_in("ghost", "guess", workstation=WS, client_ip=None)
        waits.append(locked.value.retry_after)
        clock.advance(seconds=locked.value.retry_after)
    assert waits == [60, 300, 900]
    # A day without lockouts forgives the history.
    clock.advance(hours=25)
    for _ in range(4):
        with pytest.raises(WrongCredentials):
            auth.sign_in("ghost", "guess", workstation=WS, client_ip=None)
    with pytest.raises(AccountLocked) as again:
        auth.sign_in("ghost", "guess", workstation=WS, client_ip=None)
    assert again.value.retry_after == 60


def test_failures_outside_the_window_do_not_add_up(central: Engine, clock: Clock) -> None:
    add_agent(central, "alice")
    auth = service(central, clock, max_failures=5)
    for _ in range(12):
        with pytest.raises(WrongCredentials):
            auth.sign_in("alice", "typo", workstation=WS, client_ip=None)
        clock.advance(minutes=4)  # 4 failures per 15-minute window at most


def test_success_resets_the_failure_count(central: Engine, clock: Clock) -> None:
    add_agent(central, "alice")
    auth = service(central, clock, max_failures=5)
    for _ in range(3):
        for _ in range(4):
            with pytest.raises(WrongCredentials):
                auth.sign_in("alice", "typo", workstation=WS, client_ip=None)
        auth.sign_in("alice", PASSWORD, workstation=WS, client_ip=None)


def test_sessions_end_at_the_absolute_limit(central: Engine, clock: Clock) -> None:
    add_agent(central, "alice")
    auth = service(central, clock)
    token = auth.sign_in("alice", PASSWORD, workstation=WS, client_ip=None).token
    signed_in_at = clock.now
    # Active all day (a request every 29 minutes), so only the absolute limit can end it.
    while auth.authenticate(token) is not None:
        clock.advance(minutes=29)
        assert clock.now < signed_in_at + dt.timedelta(hours=13)
    limit = signed_in_at + dt.timedelta(hours=12)
    assert limit <= clock.now < limit + dt.timedelta(minutes=29)


def test_sessions_end_after_the_idle_timeout_and_touch_is_throttled(
    central: Engine, clock: Clock
) -> None:
    add_agent(central, "alice")
    auth = service(central, clock)
    token = auth.sign_in("alice", PASSWORD, workstation=WS, client_ip=None).token
    signed_in_at = clock.now

    def last_seen() -> dt.datetime:
        with Session(central) as s:
            return s.scalars(select(AuthSession.last_seen_at)).one()

    clock.advance(seconds=30)
    assert auth.authenticate(token) is not None
    assert last_seen() == signed_in_at  # within touch_interval: no write
    clock.advance(seconds=40)
    info = auth.authenticate(token)
    assert info is not None and last_seen() == clock.now
    assert info.idle_expires_at == clock.now + dt.timedelta(minutes=30)
    clock.advance(minutes=29, seconds=59)
    assert auth.authenticate(token) is not None
    clock.advance(minutes=30, seconds=1)
    assert auth.authenticate(token) is None


def test_sign_out_and_revoke_end_sessions(central: Engine, clock: Clock) -> None:
    agent_id = add_agent(central, "alice")
    auth = service(central, clock)
    first = auth.sign_in("alice", PASSWORD, workstation=WS, client_ip=None).token
    second = auth.sign_in("alice", PASSWORD, workstation="ws-08", client_ip=None).token
    third = auth.sign_in("alice", PASSWORD, workstation="ws-09", client_ip=None).token
    assert auth.sign_out(first) is True
    assert auth.authenticate(first) is None and auth.authenticate(second) is not None
    assert auth.sign_out(first) is False
    assert auth.revoke_agent(agent_id, actor="carol", reason="lost laptop") == 2
    assert auth.authenticate(second) is None and auth.authenticate(third) is None
    # Deactivating the agent ends sessions even without a revoke.
    fresh = auth.sign_in("alice", PASSWORD, workstation=WS, client_ip=None).token
    with Session(central) as s, s.begin():
        s.get_one(Agent, agent_id).active = False
    assert auth.authenticate(fresh) is None
    clock.advance(days=31)
    assert auth.purge_sessions() == 4


def test_every_event_is_audited_with_server_time_and_no_secret(
    central: Engine, clock: Clock
) -> None:
    add_agent(central, "alice")
    auth = service(central, clock, max_failures=5)
    before = dt.datetime.now(dt.UTC)
    token = auth.sign_in("alice", PASSWORD, workstation=WS, client_ip="10.0.0.7").token
    auth.sign_out(token)
    for _ in range(4):
        with pytest.raises(WrongCredentials):
            auth.sign_in("alice", "secret-guess", workstation=WS, client_ip=None)
    with pytest.raises(AccountLocked):
        auth.sign_in("alice", "secret-guess", workstation=WS, client_ip=None)
    with pytest.raises(AccountLocked):
        auth.sign_in("alice", PASSWORD, workstation=WS, client_ip=None)
    after = dt.datetime.now(dt.UTC)
    assert audit_actions(central) == [
        ("alice", "signin.ok"),
        ("alice", "signout"),
        *[("alice", "signin.failed")] * 5,
        ("alice", "signin.locked"),
        ("alice", "signin.refused_locked"),
    ]
    with Session(central) as s:
        entries = s.scalars(select(AuditEntry)).all()
        for entry in entries:
            assert before <= entry.at <= after  # the server's clock, not a client's
            assert entry.workstation == WS
            blob = repr((entry.details, entry.reason))
            assert PASSWORD not in blob and "secret-guess" not in blob and token not in blob
        ok = next(e for e in entries if e.action == "signin.ok")
        assert ok.entity_type == "agent" and ok.details["client_ip"] == "10.0.0.7"


def test_policy_is_validated_and_read_from_toml_keys() -> None:
    for bad in (4, 11):
        with pytest.raises(ValueError, match="between 5 and 10"):
            SignInPolicy(max_failures=bad)
    policy = SignInPolicy.from_mapping(
        {
            "max_failures": 8,
            "failure_window_minutes": 10,
            "lockout_minutes": [2, 10],
            "session_hours": 8,
            "idle_minutes": 15,
            "local_accounts": ["Admin"],
        }
    )
    assert policy.max_failures == 8 and policy.lockout_steps[-1] == dt.timedelta(minutes=10)
    assert policy.session_lifetime == dt.timedelta(hours=8)
    assert policy.local_accounts == frozenset({"admin"})
    with pytest.raises(ValueError, match="unknown"):
        SignInPolicy.from_mapping({"max_failure": 5})


def test_still_live_checks_many_sessions_in_one_read_and_touches_them_once(
    central: Engine, clock: Clock
) -> None:
    """The CTI hub's recheck of every open socket: one read for all of them (it was one
    read, and often a write, per socket: ~25 a second with 500 desktops)."""
    bob = add_agent(central, "bob")
    add_agent(central, "alice")
    auth = service(central, clock)
    live = auth.sign_in("alice", PASSWORD, workstation=WS, client_ip=None).token
    revoked = auth.sign_in("alice", PASSWORD, workstation="ws-08", client_ip=None).token
    inactive = auth.sign_in("bob", PASSWORD, workstation="ws-09", client_ip=None).token
    assert auth.sign_out(revoked)
    with Session(central) as s, s.begin():
        s.get_one(Agent, bob).active = False
    clock.advance(seconds=90)  # past the touch interval
    statements: list[str] = []
    from sqlalchemy import event

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement.split()[0].upper())

    event.listen(central, "before_cursor_execute", count)
    try:
        answers = auth.still_live([live, revoked, inactive, "unknown", "", live])
    finally:
        event.remove(central, "before_cursor_execute", count)
    assert answers == [True, False, False, False, False, True]
    assert statements.count("SELECT") == 1 and statements.count("UPDATE") == 1
    with Session(central) as s:
        seen = s.scalars(
            select(AuthSession.last_seen_at).where(AuthSession.workstation == WS)
        ).one()
    assert seen == clock.now  # an open socket keeps its session from idling out
    clock.advance(minutes=31)  # no socket, no request: idle
    assert auth.still_live([live]) == [False]
