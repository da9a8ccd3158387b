"""Database roles on real PostgreSQL: an agent's login cannot read supervisor data."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import ProgrammingError

from agentdesk.ids import uuid7
from agentdesk.store import migrate
from agentdesk.store.engine import central_engine, write_session
from agentdesk.store.grants import (
    ADMIN,
    AGENT,
    SUPERVISOR,
    GrantError,
    apply_grants,
    create_login,
)
from agentdesk.store.mutations import MutationContext, apply_mutation

pytestmark = pytest.mark.postgres
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def owner(pg_url: str) -> Iterator[Engine]:
    engine = central_engine(pg_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def logins(owner: Engine, pg_url: str) -> Iterator[dict[str, Engine]]:
    """Three people, one per group, each with an engine connected as them."""
    apply_grants(owner)
    suffix = uuid.uuid4().hex[:6]
    names = {AGENT: f"alice_{suffix}", SUPERVISOR: f"sam_{suffix}", ADMIN: f"ada_{suffix}"}
    engines = {}
    for group, login in names.items():
        create_login(owner, login, group, "pw")
        engines[login] = create_engine(make_url(pg_url).set(username=login, password="pw"))
    yield engines
    for engine in engines.values():
        engine.dispose()
    with owner.begin() as conn:
        for login in names.values():
            conn.execute(text(f'DROP OWNED BY "{login}"'))
    dsn = owner.url.set(drivername="postgresql", database="postgres").render_as_string(False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for login in names.values():
            conn.execute(f'DROP ROLE IF EXISTS "{login}"')


def as_user(engine: Engine, sql: str, **params: object) -> list[tuple[object, ...]]:
    with engine.begin() as conn:
        result = conn.execute(text(sql), params)
        return [tuple(r) for r in result] if result.returns_rows else []


def denied(engine: Engine, sql: str, **params: object) -> bool:
    try:
        as_user(engine, sql, **params)
    except ProgrammingError as exc:
        return "permission denied" in str(exc) or "row-level security" in str(exc)
    return False


def audit(engine: Engine, actor: str, login: str) -> None:
    """Write an audit entry through the application's own mutator, connected as ``login``."""
    ctx = MutationContext(actor=login, side="central", now=NOW)
    args = {"id": str(uuid7()), "actor": actor, "action": "test.action"}
    with write_session(engine) as session:
        apply_mutation(session, "audit.add", args, ctx)


def find(engines: dict[str, Engine], prefix: str) -> tuple[str, Engine]:
    return next((k, v) for k, v in engines.items() if k.startswith(prefix))


def test_an_agent_login_cannot_read_supervisor_data(logins: dict[str, Engine]) -> None:
    alice, alice_db = find(logins, "alice_")
    sam, sam_db = find(logins, "sam_")
    audit(alice_db, alice, alice)
    audit(sam_db, sam, sam)
    # Agents see their own audit entries only; supervisors see all of them.
    assert as_user(alice_db, "SELECT actor FROM audit_entry") == [(alice,)]
    assert sorted(as_user(sam_db, "SELECT actor FROM audit_entry")) == sorted([(alice,), (sam,)])
    assert denied(alice_db, "SELECT count(*) FROM call_record")
    assert as_user(sam_db, "SELECT count(*) FROM call_record") == [(0,)]
    assert denied(alice_db, "SELECT count(*) FROM conflict_review")
    assert denied(alice_db, "SELECT count(*) FROM alembic_version")


def test_an_agent_cannot_forge_or_rewrite_the_audit_trail(logins: dict[str, Engine]) -> None:
    alice, alice_db = find(logins, "alice_")
    ada, ada_db = find(logins, "ada_")
    with pytest.raises(ProgrammingError, match="row-level security"):
        audit(alice_db, "someone.else", alice)
    audit(alice_db, alice, alice)
    for db in (alice_db, ada_db):  # not even an admin may rewrite history
        assert denied(db, "UPDATE audit_entry SET reason = 'edited'")
    assert denied(alice_db, "DELETE FROM audit_entry")
    as_user(ada_db, "DELETE FROM audit_entry")  # the retention purge
    assert as_user(ada_db, "SELECT count(*) FROM audit_entry") == [(0,)]
    assert ada  # (used for readability)


def test_agents_do_their_work_and_interactions_are_append_only(logins: dict[str, Engine]) -> None:
    alice, alice_db = find(logins, "alice_")
    ctx = MutationContext(actor=alice, side="central", now=NOW)
    interaction = {"id": str(uuid7()), "channel": "phone", "direction": "inbound",
                   "started_at": NOW.isoformat()}  # fmt: skip
    with write_session(alice_db) as session:
        apply_mutation(session, "interaction.add", interaction, ctx)
    insert = (
        "INSERT INTO call_record (id, linkedid, hold_seconds, pop_latency_ms, workstation) "
        "VALUES (:i, '1.1', 0, 12.5, 'ws-1')"
    )
    as_user(alice_db, insert, i=uuid.uuid4())
    assert as_user(alice_db, "SELECT count(*) FROM interaction") == [(1,)]
    assert denied(alice_db, "UPDATE interaction SET notes = 'rewritten'")
    assert denied(alice_db, "DELETE FROM interaction")
    assert denied(alice_db, "UPDATE agent SET role = 'admin'")
    assert denied(alice_db, "DELETE FROM customer")


def test_grants_are_idempotent_and_name_what_stays_admin_only(
    owner: Engine, logins: dict[str, Engine]
) -> None:
    report = apply_grants(owner)
    again = apply_grants(owner)
    assert report == again
    assert "alembic_version" in report.admin_only
    assert "audit_entry" in report.granted[AGENT]
    assert set(report.granted[ADMIN]) >= set(report.granted[AGENT])
    policies = as_user(owner, "SELECT count(*) FROM pg_policies WHERE tablename = 'audit_entry'")
    assert policies == [(4,)]
    _, alice_db = find(logins, "alice_")
    assert as_user(alice_db, "SELECT count(*) FROM customer") == [(0,)]


def test_login_names_and_stores_that_cannot_take_grants(owner: Engine, tmp_path: object) -> None:
    with pytest.raises(GrantError, match="cannot be a database login"):
        create_login(owner, 'x"; DROP TABLE agent; --', AGENT)
    with pytest.raises(GrantError, match="unknown group"):
        create_login(owner, "bob", "postgres")
    sqlite = create_engine("sqlite://")
    with pytest.raises(GrantError, match="need PostgreSQL"):
        apply_grants(sqlite)


def test_agentdesk_db_grants_command(
    owner: Engine, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from agentdesk.cli import main

    assert main(["db", "grants", "--url", pg_url]) == 0
    out = capsys.readouterr().out
    assert f"{AGENT}: " in out and "admin only: alembic_version" in out
    assert main(["db", "login", "Bad Name", "--role", "agent", "--url", pg_url]) == 2
    assert "cannot be a database login" in capsys.readouterr().err
