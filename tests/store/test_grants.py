"""Database roles on real PostgreSQL: the server works as its own role; reports read no secret.

Each test gets a database owned by a plain (non-superuser) owner with
CREATEROLE, as a bank's DBA would set one up, so row-level security binds
the owner too where the policy says FORCE.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import psycopg
import pytest
from sqlalchemy import Engine, create_engine, make_url, select, text, update
from sqlalchemy.exc import DBAPIError

from agentdesk.client.api import ServerApi, ServerRefused
from agentdesk.client.lookups import ServerRevealer
from agentdesk.ids import uuid7
from agentdesk.models import (
    Agent,
    AuditEntry,
    Customer,
    Interaction,
    Role,
    SigninThrottle,
    Ticket,
)
from agentdesk.server.app import build_context, create_app
from agentdesk.server.run import ServerThread
from agentdesk.server.settings import ListenSettings, ServerSettings
from agentdesk.services.platform.auth import hash_password
from agentdesk.services.platform.reveal import REVEAL_ACTION
from agentdesk.store import migrate
from agentdesk.store.audit_log import append_audit, verify_chain
from agentdesk.store.engine import central_engine, read_session, write_session
from agentdesk.store.grants import (
    LEGACY_GROUPS,
    REPORTING,
    SERVER,
    GrantError,
    RoleNames,
    apply_grants,
    create_login,
)
from tests.server.conftest import PASSWORD, Desktop, RunningServer
from tests.server.conftest import desktop as desktop  # the lead's fixture, over our server
from tests.support.pgserver import PostgresServer
from tests.sync.factories import REF, person, seed_reference, ticket
from tests.ui_workspace.builders import FIELD_KEYRING

pytestmark = pytest.mark.postgres


@dataclass
class Site:
    """One agentdesk database: its owner's engine and how to connect as someone else."""

    pg: PostgresServer
    database: str
    owner_name: str
    owner: Engine
    engines: list[Engine] = dataclasses.field(default_factory=list)
    roles: list[str] = dataclasses.field(default_factory=list)

    def url(self, user: str) -> str:
        url = make_url(self.pg.url(self.database)).set(username=user, password="pw")
        return url.render_as_string(hide_password=False)

    def connect(self, user: str) -> Engine:
        engine = central_engine(self.url(user))
        self.engines.append(engine)
        return engine

    def login(self, kind: str) -> tuple[str, Engine]:
        name = f"{kind}_{uuid.uuid4().hex[:8]}"
        create_login(self.owner, name, kind, "pw")
        self.roles.append(name)
        return name, self.connect(name)

    def superuser(self, *statements: str) -> None:
        with psycopg.connect(self.pg.dsn(self.database), autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement.encode())


@pytest.fixture
def site(pg_server: PostgresServer) -> Iterator[Site]:
    owner = f"owner_{uuid.uuid4().hex[:8]}"
    database = f"g_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {owner} LOGIN CREATEROLE".encode())
        conn.execute(f"CREATE DATABASE {database} OWNER {owner} TEMPLATE template0".encode())
    url = make_url(pg_server.url(database)).set(username=owner).render_as_string(False)
    engine = central_engine(url)
    migrate.upgrade(engine)
    made = Site(pg_server, database, owner, engine)
    yield made
    for each in [*made.engines, engine]:
        each.dispose()
    pg_server.drop_database(database)
    with psycopg.connect(pg_server.dsn(), autocommit=True) as conn:
        for role in [*made.roles, owner]:
            conn.execute(f'DROP ROLE IF EXISTS "{role}"'.encode())


def run(engine: Engine, sql: str, **params: object) -> list[tuple[object, ...]]:
    with engine.begin() as conn:
        result = conn.execute(text(sql), params)
        return [tuple(r) for r in result] if result.returns_rows else []


def changed(engine: Engine, sql: str) -> int:
    with engine.begin() as conn:
        return int(conn.execute(text(sql)).rowcount)


def refused(engine: Engine, sql: str) -> str:
    """The reason PostgreSQL refuses ``sql`` (fails the test when it is allowed)."""
    with pytest.raises(DBAPIError) as caught:
        run(engine, sql)
    return str(caught.value.orig)


# --- the server works as its own role ---------------------------------------------------------


@pytest.fixture
def server(site: Site) -> Iterator[RunningServer]:
    """``agentdesk server`` connected as a login in the server role (overrides the lead's)."""
    apply_grants(site.owner)
    _, as_server = site.login("server")
    seed_reference(site.owner)
    with write_session(site.owner) as s:
        s.execute(update(Agent).values(password_hash=hash_password(PASSWORD)))
        s.execute(update(Agent).where(Agent.id == REF.bob).values(role=Role.AGENT))
    ctx = build_context(as_server, ServerSettings(), cipher=FIELD_KEYRING)
    app = create_app(ctx)
    thread = ServerThread(app, ListenSettings(host="127.0.0.1", port=0))
    url = thread.start()
    yield RunningServer(url, ctx, as_server, app)
    thread.stop()


def test_the_server_does_its_whole_job_as_the_server_role(
    site: Site, server: RunningServer, desktop: Callable[..., Desktop]
) -> None:
    assert run(server.engine, "SELECT current_user")[0][0] != site.owner_name
    stranger = ServerApi(server.url)
    with pytest.raises(ServerRefused):
        stranger.sign_in("bob", "wrong", "ws")  # the failure is counted in signin_throttle
    stranger.close()
    bob, bob2 = desktop("bob"), desktop("bob")
    customer = person()
    case = ticket(customer_id=str(customer["id"]), team_id=str(REF.team_a))
    bob.writer.write("customer.create", customer)
    bob.writer.write("ticket.create", case)
    bob.writer.write(
        "interaction.add",
        {
            "id": str(uuid7()),
            "customer_id": str(customer["id"]),
            "channel": "phone",
            "direction": "inbound",
            "started_at": "2026-12-03T10:00:00+00:00",
            "agent_id": str(REF.bob),
        },
    )
    entry = uuid7()
    bob.writer.write("audit.add", {"id": str(entry), "action": "customer.viewed"})
    bob.syncer.cycle()
    assert not bob.syncer.local.rejected()
    bob2.syncer.cycle()
    with read_session(bob2.engine) as s:
        assert s.get(Customer, customer["id"]) is not None
        assert s.get(Ticket, case["id"]) is not None
    revealed = ServerRevealer(bob.api, lambda: bob.syncer.client_id)(
        customer["id"], "date_of_birth", None, "idv"
    )
    assert revealed.value == "1985-12-10"
    assert httpx.get(server.url + "/ready").status_code == 200  # LISTEN works as this role
    assert server.ctx.store.prune(dt.timedelta(0)) >= 0  # the feed prune deletes as this role
    bob2.api.sign_out()
    with read_session(site.owner) as s:
        assert s.get(AuditEntry, entry) is not None
        assert s.scalar(select(Interaction.id).where(Interaction.customer_id == customer["id"]))
        assert verify_chain(s).ok
        audited = set(s.scalars(select(AuditEntry.action)))
        throttled = s.scalar(select(SigninThrottle.failures).where(SigninThrottle.login == "bob"))
    assert {"customer.viewed", REVEAL_ACTION} <= audited
    assert throttled is None or throttled == 0  # the right password cleared the failure


def test_the_server_role_cannot_rewrite_the_audit_trail_or_the_feed(site: Site) -> None:
    apply_grants(site.owner)
    name, as_server = site.login("server")
    with write_session(as_server) as s:
        append_audit(s, actor="bob", action="customer.viewed")
        append_audit(s, actor="bob", action="customer.viewed")
    assert "permission denied" in refused(as_server, "UPDATE audit_entry SET reason = 'x'")
    assert "permission denied" in refused(as_server, "DELETE FROM audit_entry")
    assert "permission denied" in refused(as_server, "TRUNCATE audit_entry")
    assert "must be owner" in refused(
        as_server, "ALTER TABLE audit_entry DISABLE ROW LEVEL SECURITY"
    )
    unchained = (
        "INSERT INTO audit_entry (id, at, actor, action, details) "
        f"VALUES ('{uuid7()}', now(), 'carol', 'back.dated', '{{}}')"
    )
    assert "row-level security" in refused(as_server, unchained)
    assert "permission denied" in refused(as_server, "UPDATE change_log SET data = NULL")
    forged = (
        "INSERT INTO change_log (xid, entity_type, entity_id, op, version, changed_at) "
        f"VALUES (1, 'customer', '{uuid.uuid4()}', 'upsert', 1, now())"
    )
    assert "row-level security" in refused(as_server, forged)
    assert "permission denied" in refused(as_server, "CREATE TABLE mine (x int)")
    # A GRANT that slips in later still leaves the trail as it was.
    run(site.owner, f"GRANT UPDATE, DELETE ON audit_entry, change_log TO {SERVER}")
    assert changed(as_server, "UPDATE audit_entry SET reason = 'edited'") == 0
    assert changed(as_server, "DELETE FROM audit_entry") == 0
    # FORCE: the owner's own stray statements change nothing either (entries < 1 year old).
    assert changed(site.owner, "UPDATE audit_entry SET reason = 'edited'") == 0
    assert changed(site.owner, "DELETE FROM audit_entry") == 0
    with read_session(site.owner) as s:
        assert verify_chain(s).ok and len(s.scalars(select(AuditEntry.id)).all()) == 2
    apply_grants(site.owner)  # and the next run takes the slipped grant back
    held = run(
        site.owner,
        "SELECT has_table_privilege(:r, 'audit_entry', 'UPDATE'), "
        "has_table_privilege(:r, 'audit_entry', 'DELETE'), "
        "has_table_privilege(:r, 'change_log', 'UPDATE')",
        r=name,
    )
    assert held == [(False, False, False)]


def test_the_reporting_role_reads_reports_and_no_secret(site: Site) -> None:
    apply_grants(site.owner)
    _, as_server = site.login("server")
    _, reports = site.login("reporting")
    seed_reference(site.owner)
    with write_session(as_server) as s:
        append_audit(s, actor="bob", action="customer.viewed")
    run(
        as_server,
        "INSERT INTO change_log (entity_type, entity_id, op, version, changed_at) "
        f"VALUES ('customer', '{uuid.uuid4()}', 'upsert', 1, now())",
    )
    for secret in (
        "SELECT password_hash FROM agent",
        "SELECT * FROM agent",
        "SELECT count(*) FROM auth_session",
        "SELECT count(*) FROM signin_throttle",
        "SELECT date_of_birth_enc FROM customer",
        "SELECT number_enc FROM identity_document",
        "SELECT token FROM product",
        "SELECT count(*) FROM audit_entry",
        "SELECT count(*) FROM change_log",
        "SELECT count(*) FROM sync_pin",
        "SELECT count(*) FROM sync_client",
        "SELECT count(*) FROM sync_state",
        "SELECT count(*) FROM outbox",
        "SELECT count(*) FROM applied_mutation",
        "INSERT INTO queue (id, name, strategy) VALUES (gen_random_uuid(), 'q', 'rrmemory')",
        "UPDATE ticket SET title = 'x'",
    ):
        assert "permission denied" in refused(reports, secret), secret
    assert run(reports, "SELECT login FROM agent ORDER BY login") == [("alice",), ("bob",)]
    for table in ("interaction", "ticket", "ticket_history", "queue", "call_record"):
        assert run(reports, f"SELECT * FROM {table}") == [], table  # allowed; none written
    assert run(reports, "SELECT count(*) FROM team") == [(2,)]
    assert run(reports, "SELECT id, display_name, segment, birth_year FROM customer") == []
    assert run(reports, "SELECT number_masked FROM identity_document") == []
    # Even granted by mistake, server-only rows stay out of sight.
    run(site.owner, f"GRANT SELECT ON change_log, auth_session, sync_state TO {REPORTING}")
    assert run(reports, "SELECT count(*) FROM change_log") == [(0,)]
    assert run(reports, "SELECT count(*) FROM sync_state") == [(0,)]
    assert run(site.owner, "SELECT count(*) FROM change_log") == [(1,)]


# --- the roles themselves ---------------------------------------------------------------------


def test_grants_are_idempotent_and_drop_the_old_per_person_roles(site: Site) -> None:
    alice = f"alice_{uuid.uuid4().hex[:6]}"
    site.roles.append(alice)
    # An install from before the server tier: three group roles and a login per person.
    agent, supervisor, admin = LEGACY_GROUPS
    site.superuser(
        *(f"CREATE ROLE {g} NOLOGIN" for g in LEGACY_GROUPS),
        f"GRANT {agent} TO {supervisor}",
        f"GRANT {supervisor} TO {admin}",
        f"CREATE ROLE {alice} LOGIN PASSWORD 'pw' IN ROLE {agent}",
        f"GRANT SELECT, INSERT, UPDATE ON customer, ticket TO {agent}",
        f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {admin}",
        f"GRANT USAGE ON SCHEMA public TO {agent}",
        "ALTER TABLE audit_entry ENABLE ROW LEVEL SECURITY",
        f"CREATE POLICY agentdesk_audit_own ON audit_entry FOR SELECT TO {agent} USING (true)",
    )
    first = apply_grants(site.owner)
    assert set(first.dropped) == {*LEGACY_GROUPS, f"{alice} (login)"}
    assert first.kept == ()
    again = apply_grants(site.owner)
    assert again == dataclasses.replace(first, dropped=())
    names = {r[0] for r in run(site.owner, "SELECT rolname FROM pg_roles")}
    assert not names & {"agent", "supervisor", "admin", alice, *LEGACY_GROUPS}
    assert {SERVER, REPORTING} <= names
    attributes = run(
        site.owner,
        "SELECT bool_or(rolcanlogin OR rolsuper OR rolbypassrls) FROM pg_roles "
        "WHERE rolname IN (:s, :r)",
        s=SERVER,
        r=REPORTING,
    )
    assert attributes == [(False,)]
    owners = run(
        site.owner,
        "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = current_schema()",
    )
    assert owners == [(site.owner_name,)]
    public = run(
        site.owner,
        "SELECT count(*) FROM information_schema.role_table_grants "
        "WHERE grantee = 'PUBLIC' AND table_schema = current_schema()",
    )
    assert public == [(0,)]
    assert first.server["audit_entry"] == ("SELECT", "INSERT")
    assert "UPDATE" not in first.server["change_log"]
    assert first.reporting["agent"] == ("password_hash",)
    assert {"outbox", "auth_session", "change_log"} <= set(first.owner_only) | set(first.server)
    assert "outbox" in first.owner_only
    assert {"audit_entry", "change_log", "auth_session"} <= set(first.row_security)
    forced = run(
        site.owner, "SELECT relforcerowsecurity FROM pg_class WHERE relname = 'audit_entry'"
    )
    assert forced == [(True,)]
    policies = run(
        site.owner,
        "SELECT policyname FROM pg_policies WHERE tablename = 'audit_entry' ORDER BY 1",
    )
    assert [p[0] for p in policies] == [
        "agentdesk_audit_append",
        "agentdesk_audit_read",
        "agentdesk_audit_retention",
    ]


def test_an_old_role_still_used_elsewhere_is_kept_and_named(site: Site) -> None:
    agent = LEGACY_GROUPS[0]
    other = site.pg.create_database()
    try:
        site.superuser(
            f"CREATE ROLE {agent} NOLOGIN",
            f"GRANT SELECT ON customer TO {agent}",
            f'GRANT CONNECT ON DATABASE "{other}" TO {agent}',
        )
        report = apply_grants(site.owner)
        assert report.dropped == ()
        assert len(report.kept) == 1 and report.kept[0].startswith(f"{agent}: not dropped")
        # Everything else was applied, and the old role lost what it had here.
        assert report.server["audit_entry"] == ("SELECT", "INSERT")
        held = run(site.owner, "SELECT has_table_privilege(:r, 'customer', 'SELECT')", r=agent)
        assert held == [(False,)]
    finally:
        site.pg.drop_database(other)
        site.superuser(f"DROP OWNED BY {agent}", f"DROP ROLE {agent}")


def test_logins_hold_one_role_and_a_hashed_password(site: Site) -> None:
    apply_grants(site.owner)
    name, _ = site.login("server")
    with psycopg.connect(site.pg.dsn(site.database)) as conn:
        row = conn.execute(
            "SELECT rolpassword, rolcanlogin, rolsuper FROM pg_authid WHERE rolname = %s",
            (name,),
        ).fetchone()
    assert row is not None and str(row[0]).startswith("SCRAM-SHA-256$") and row[1] and not row[2]
    assert create_login(site.owner, name, "reporting", "pw2") == REPORTING  # re-homed
    groups = run(
        site.owner,
        "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
        "JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = :n",
        n=name,
    )
    assert groups == [(REPORTING,)]
    with pytest.raises(GrantError, match="cannot be a database login"):
        create_login(site.owner, 'x"; DROP TABLE agent; --', "server", "pw")
    with pytest.raises(GrantError, match="unknown role"):
        create_login(site.owner, "bob", "agent", "pw")
    with pytest.raises(GrantError, match="more power"):
        create_login(site.owner, "postgres", "server", "pw")
    with pytest.raises(GrantError, match="group role's name"):
        create_login(site.owner, SERVER, "server", "pw")
    with pytest.raises(GrantError, match="empty password"):
        create_login(site.owner, "bob", "server", "")
    with pytest.raises(GrantError, match="need PostgreSQL"):
        apply_grants(create_engine("sqlite://"))


def test_unsafe_role_names_and_owners_are_refused(site: Site) -> None:
    for bad in (RoleNames(server="Robert'); --"), RoleNames(server="x", reporting="x")):
        with pytest.raises(GrantError):
            apply_grants(site.owner, bad)
    with pytest.raises(GrantError, match="reserved"):
        apply_grants(site.owner, RoleNames(server="agentdesk_admin"))
    loud = f"loud_{uuid.uuid4().hex[:6]}"
    site.roles.append(loud)
    site.superuser(f"CREATE ROLE {loud} LOGIN")
    with pytest.raises(GrantError, match="LOGIN"):
        apply_grants(site.owner, RoleNames(server=loud))
    apply_grants(site.owner)
    site.superuser("CREATE TABLE sneaky (x int)", f"ALTER TABLE sneaky OWNER TO {SERVER}")
    with pytest.raises(GrantError, match="sneaky"):
        apply_grants(site.owner)
    # A database (and so its public schema) owned by the server: it could drop every table.
    site.superuser("DROP TABLE sneaky", f'ALTER DATABASE "{site.database}" OWNER TO {SERVER}')
    with pytest.raises(GrantError, match="database"):
        apply_grants(site.owner)
    site.superuser(f'ALTER DATABASE "{site.database}" OWNER TO {site.owner_name}')
    apply_grants(site.owner)


def test_agentdesk_db_grants_and_login_commands(
    site: Site, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentdesk.cli import main

    url = site.url(site.owner_name)
    assert main(["db", "grants", "--url", url]) == 0
    out = capsys.readouterr().out
    assert f"{SERVER}: " in out and "agent.password_hash" in out and "owner only:" in out
    name = f"rep_{uuid.uuid4().hex[:6]}"
    site.roles.append(name)
    monkeypatch.setenv("REPORT_PW", "s3cret")
    args = ["db", "login", name, "--role", "reporting", "--url", url]
    assert main([*args, "--password-env", "REPORT_PW"]) == 0
    assert f"as {REPORTING}" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(args) == 2
    assert "--password-env" in capsys.readouterr().err
    assert main(["db", "login", "Bad Name", "--role", "server", "--url", url,
                 "--password-env", "REPORT_PW"]) == 2  # fmt: skip
    assert "cannot be a database login" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["db", "login", name, "--role", "agent", "--url", url])
