"""PostgreSQL roles for the server tier: one role that writes, one that reads reports.

Desktops never connect to the central database (DESIGN.md §2, §6): the
``agentdesk server`` is the only process with a login that can change data,
and it authorises every request itself. The database is the second wall
behind it, so a stolen server login, a reporting login or a careless future
GRANT still cannot do the things that matter most:

``agentdesk_server`` (NOLOGIN group; ``create_login(..., "server")`` adds logins)
    What the server's code paths need, table by table (:data:`SERVER_TABLES`).
    The append-only record is append-only here too: ``audit_entry`` gets
    SELECT and INSERT only; the change feed ``change_log`` gets SELECT,
    INSERT and DELETE (the retention prune) but never UPDATE; interactions,
    comments and histories get no UPDATE (interactions: only their ``customer_id``, which
    a merge of duplicate customers re-points). USAGE on the schema's sequences.
``agentdesk_reporting`` (NOLOGIN group; ``create_login(..., "reporting")``)
    SELECT on the tables a report needs (:data:`REPORTING_TABLES`). Where a
    table mixes report data with secrets the grant is per column and leaves
    out ``agent.password_hash``, the ciphertexts ``customer.date_of_birth_enc``
    and ``identity_document.number_enc``, and a product's account number and
    card token. Sessions, sign-in throttling, the audit trail, the sync
    bookkeeping (``sync_*``, ``applied_mutation``, ``change_log``) and the
    cache-only ``outbox`` are not granted at all.

Row-level security, for what a GRANT alone would not hold:

* ``audit_entry`` — ENABLE and FORCE. Policies let the server role (and the
  table owner) SELECT and INSERT, and an inserted entry must carry its chain
  fields (``seq``, ``prev_hash``, ``entry_hash``). There is no UPDATE policy
  for anyone and no DELETE policy for the server: should UPDATE or DELETE
  ever be granted by mistake, the statement matches no row. FORCE holds the
  owner to the same rules, so an operator's stray ``UPDATE`` in ``psql``
  changes nothing; the owner may only DELETE entries older than one year
  (``agentdesk retention purge``; PCI DSS 10.5.1 keeps twelve months). A
  migration that really must rewrite audit rows has to say ``ALTER TABLE
  audit_entry NO FORCE ROW LEVEL SECURITY`` out loud, and the next
  ``agentdesk db grants`` turns it back on. Superusers and BYPASSRLS roles
  skip all of this, which is why the server must be neither.
* ``change_log`` — the server may SELECT, DELETE, and INSERT only rows
  stamped with its own transaction id (``xid = pg_current_xact_id()``, the
  column's default): a feed row with a forged xid could slip below every
  desktop's cursor and never be pulled. No UPDATE policy, so feed rows are
  immutable. No policy names the reporting role: it sees no row even if
  granted.
* ``auth_session``, ``signin_throttle``, ``applied_mutation``, ``sync_client``,
  ``sync_pin``, ``sync_state`` — ENABLE with one policy for the server role:
  server-only data stays invisible to any other non-owner role whatever is
  granted later.

The owner is untouched by ENABLE (only FORCE binds it), so migrations and
``agentdesk seed`` run as before. The policies name columns
(``audit_entry.seq``/``prev_hash``/``entry_hash``/``at``, ``change_log.xid``):
a migration that drops or retypes one must drop the ``agentdesk_*`` policies
first; the next ``agentdesk db grants`` writes them again.

:func:`apply_grants` (``agentdesk db grants``) runs as the schema owner after
every ``agentdesk db upgrade``. It is idempotent: it revokes what the two
roles hold on the schema's tables and grants the policy here again, so a
table a newer migration adds stays owner-only until this module names it
(the report lists such tables). It also revokes everything from PUBLIC,
refuses tables owned by anyone the server or reporting role could act as,
and drops the ``agentdesk_agent``/``agentdesk_supervisor``/``agentdesk_admin``
group roles of older installs together with their people's logins.

Roles are per cluster, grants per database: sites sharing one PostgreSQL
cluster should pick their own names (``--server-role``, ``--reporting-role``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

SERVER = "agentdesk_server"
REPORTING = "agentdesk_reporting"
# Group roles of installs where desktops connected to the database themselves.
LEGACY_GROUPS = ("agentdesk_agent", "agentdesk_supervisor", "agentdesk_admin")
KINDS = ("server", "reporting")

_ALL = ("SELECT", "INSERT", "UPDATE", "DELETE")
_EDIT = ("SELECT", "INSERT", "UPDATE")
_APPEND = ("SELECT", "INSERT")
_APPEND_PURGE = ("SELECT", "INSERT", "DELETE")  # rows never change; retention may remove them

# What the server role may do per table. A table not listed stays owner-only.
SERVER_TABLES: dict[str, tuple[str, ...]] = {
    # reference data: kept up to date by supervisors and the directory mirror
    "agent": _EDIT,  # sign-in updates, LDAP mirror inserts; agents are deactivated, not deleted
    "team": _ALL,
    "agent_team": _ALL,
    "skill": _ALL,
    "agent_skill": _ALL,
    "queue": _ALL,
    "disposition": _ALL,
    "knowledge_article": _ALL,
    "knowledge_article_version": _APPEND,  # every published version, kept unchanged
    "search_kb_doc": _ALL,  # maintained by triggers on knowledge_article, run as the writer
    # customer data (customers are tombstoned; their contact rows are replaced)
    "customer": _EDIT,
    "customer_phone": _ALL,
    "customer_email": _ALL,
    "customer_address": _ALL,
    "identity_document": _ALL,
    "product": _ALL,  # refreshed from the core system
    "customer_history": _APPEND,
    "search_doc": _ALL,  # maintained by triggers on customer data, run as the writer
    # work
    "ticket": _EDIT,  # tombstoned, never deleted
    "ticket_history": _APPEND,
    "ticket_comment": _APPEND,
    "reminder": _EDIT,  # set, moved, made due, closed; removed only with its ticket or customer
    "ticket_alert": _EDIT,  # escalation alerts: written once, marked read
    # A merge of duplicate customers re-points the duplicate's interactions (and only
    # their customer); nothing else of an interaction ever changes.
    "interaction": (*_APPEND_PURGE, "UPDATE (customer_id)"),
    "call_record": _ALL,  # a call's record fills in as the call goes on
    "conflict_review": _EDIT,
    # customer notifications (a merge also re-points the duplicate's to the survivor)
    "notification": _EDIT,
    # duplicate customers: the scan replaces open candidates; merge requests are decided
    "duplicate_candidate": _ALL,
    "merge_request": _EDIT,
    # the trail and the feed
    "audit_entry": _APPEND,
    "change_log": _APPEND_PURGE,
    # sign-in
    "auth_session": _ALL,
    "signin_throttle": _ALL,
    # sync bookkeeping
    "applied_mutation": _APPEND_PURGE,
    "sync_client": _ALL,
    "sync_pin": _ALL,
    "sync_state": _EDIT,  # feed floor and audit chain head
    "alembic_version": ("SELECT",),  # to refuse to serve a schema it does not know
}

# Reporting tables and the columns a report never sees (empty: the whole table).
REPORTING_TABLES: dict[str, frozenset[str]] = {
    "team": frozenset(),
    "agent": frozenset({"password_hash"}),
    "agent_team": frozenset(),
    "skill": frozenset(),
    "agent_skill": frozenset(),
    "queue": frozenset(),
    "disposition": frozenset(),
    "knowledge_article": frozenset(),
    "knowledge_article_version": frozenset(),
    "customer": frozenset({"date_of_birth_enc"}),
    "identity_document": frozenset({"number_enc"}),
    "product": frozenset({"number", "token"}),  # account numbers and card tokens
    "ticket": frozenset(),
    "ticket_history": frozenset(),
    "ticket_comment": frozenset(),
    "interaction": frozenset(),
    "call_record": frozenset(),
}

# Tables only the server role may see rows of, whatever is granted later.
SERVER_ONLY_ROWS = (
    "auth_session",
    "signin_throttle",
    "applied_mutation",
    "sync_client",
    "sync_pin",
    "sync_state",
)
# PCI DSS 10.5.1: audit history is kept at least twelve months.
AUDIT_KEEP = "1 year"

_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_LOGIN = re.compile(r"[a-z_][a-z0-9_.\-]{0,62}")


class GrantError(RuntimeError):
    """Grants cannot be applied here (not PostgreSQL, not the owner, a bad or unsafe name)."""


@dataclass(frozen=True)
class RoleNames:
    """The two group roles' names (defaults for a cluster with one agentdesk site)."""

    server: str = SERVER
    reporting: str = REPORTING

    def check(self) -> None:
        for name in (self.server, self.reporting):
            if not _NAME.fullmatch(name):
                raise GrantError(
                    f"{name!r} cannot be a role name: use lower-case letters, digits and '_' "
                    "(at most 63 characters, not starting with a digit)"
                )
            if name in LEGACY_GROUPS or name.startswith("pg_"):
                raise GrantError(f"{name!r} is reserved; choose another role name")
        if self.server == self.reporting:
            raise GrantError("the server and reporting roles must be two different roles")

    def group(self, kind: str) -> str:
        if kind not in KINDS:
            raise GrantError(f"unknown role {kind!r}; use one of {', '.join(KINDS)}")
        return self.server if kind == "server" else self.reporting


@dataclass(frozen=True)
class GrantReport:
    """What :func:`apply_grants` did.

    ``server`` maps tables to privileges; ``reporting`` maps tables to the
    columns withheld from reports (empty: the whole table); ``owner_only``
    names tables neither role may touch; ``dropped`` and ``kept`` say which
    roles of an older install were removed, or left with the reason.
    """

    roles: RoleNames
    server: dict[str, tuple[str, ...]]
    reporting: dict[str, tuple[str, ...]]
    owner_only: tuple[str, ...]
    row_security: tuple[str, ...]
    dropped: tuple[str, ...] = ()
    kept: tuple[str, ...] = field(default=())


def _require_postgres(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        raise GrantError(
            f"database roles and grants need PostgreSQL; this store is {engine.dialect.name} "
            "(the embedded store is opened by the server process alone)"
        )


def _q(name: str) -> str:
    """A double-quoted identifier (names are checked against a strict pattern first)."""
    return '"' + name.replace('"', '""') + '"'


def apply_grants(engine: Engine, roles: RoleNames | None = None) -> GrantReport:
    """Create the server and reporting roles and (re)apply grants and policies. Idempotent."""
    _require_postgres(engine)
    roles = roles or RoleNames()
    roles.check()
    with engine.begin() as conn:
        _ensure_group(conn, roles.server)
        _ensure_group(conn, roles.reporting)
        schema, database = conn.execute(text("SELECT current_schema(), current_database()")).one()
        tables = _tables(conn)
        _check_owners(conn, roles)
        both = f"{_q(roles.server)}, {_q(roles.reporting)}"
        s = _q(str(schema))
        # Start from nothing every time, so re-running converges on exactly this policy.
        conn.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM PUBLIC, {both}"))
        conn.execute(text(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM PUBLIC, {both}"))
        conn.execute(text(f"REVOKE CREATE ON SCHEMA {s} FROM {both}"))
        conn.execute(text(f"GRANT USAGE ON SCHEMA {s} TO {both}"))
        conn.execute(text(f"GRANT CONNECT ON DATABASE {_q(str(database))} TO {both}"))
        conn.execute(text(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {s} TO {_q(roles.server)}"))
        server: dict[str, tuple[str, ...]] = {}
        reporting: dict[str, tuple[str, ...]] = {}
        for table, privileges in SERVER_TABLES.items():
            if table in tables:
                conn.execute(
                    text(
                        f"GRANT {', '.join(privileges)} ON TABLE {_q(table)} TO {_q(roles.server)}"
                    )
                )
                server[table] = privileges
        for table, withheld in REPORTING_TABLES.items():
            if table in tables:
                _grant_report(conn, table, withheld, roles.reporting)
                reporting[table] = tuple(sorted(withheld & set(tables[table])))
        row_security = _row_security(conn, roles, tables)
        dropped, kept = _drop_legacy(conn, str(schema), str(database))
    owner_only = tuple(t for t in sorted(tables) if t not in server and t not in reporting)
    return GrantReport(roles, server, reporting, owner_only, row_security, dropped, kept)


def _ensure_group(conn: Connection, name: str) -> None:
    row = conn.execute(
        text(
            "SELECT rolcanlogin, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb "
            "FROM pg_roles WHERE rolname = :n"
        ),
        {"n": name},
    ).first()
    if row is None:
        conn.execute(text(f"CREATE ROLE {_q(name)} NOLOGIN"))
        return
    # A group role that could sign in or skip row-level security would void the second wall.
    powers = [
        label
        for flag, label in zip(
            row, ("LOGIN", "SUPERUSER", "BYPASSRLS", "CREATEROLE", "CREATEDB"), strict=True
        )
        if flag
    ]
    if powers:
        raise GrantError(
            f"role {name} exists with {', '.join(powers)}; the group role must be a plain "
            f"NOLOGIN role (ALTER ROLE {name} NO{' NO'.join(powers)}) or pick another name"
        )


def _tables(conn: Connection) -> dict[str, tuple[str, ...]]:
    """The schema's tables and their columns."""
    rows = conn.execute(
        text(
            "SELECT c.relname, a.attname FROM pg_class c "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
            "WHERE c.relnamespace = current_schema()::regnamespace "
            "AND c.relkind IN ('r', 'p') ORDER BY c.relname, a.attnum"
        )
    )
    found: dict[str, list[str]] = {}
    for table, column in rows:
        found.setdefault(str(table), []).append(str(column))
    return {k: tuple(v) for k, v in found.items()}


def _check_owners(conn: Connection, roles: RoleNames) -> None:
    """Refuse when a GRANT would be a no-op or an owner could lift the policy.

    PostgreSQL only warns when a non-owner grants, and an owner bypasses
    grants (and, without FORCE, row-level security): every table and sequence
    must belong to a role we act for, and to no role the server or a report
    could become.
    """
    rows = conn.execute(
        text(
            "SELECT c.relname, pg_get_userbyid(c.relowner), "
            "c.container OR pg_has_role(current_user, c.relowner, 'USAGE'), "
            "EXISTS (SELECT FROM pg_roles r WHERE NOT r.rolsuper "
            "AND (pg_has_role(r.oid, :server, 'MEMBER') "
            "OR pg_has_role(r.oid, :reporting, 'MEMBER')) "
            "AND pg_has_role(r.oid, c.relowner, 'MEMBER')) "
            "FROM (SELECT relname, relowner, false AS container FROM pg_class "
            "      WHERE relnamespace = current_schema()::regnamespace "
            "      AND relkind IN ('r', 'p', 'S', 'v', 'm') "
            # The schema's and the database's owners may drop every table in them.
            "      UNION ALL SELECT 'schema ' || nspname, nspowner, true FROM pg_namespace "
            "      WHERE oid = current_schema()::regnamespace "
            "      UNION ALL SELECT 'database ' || datname, datdba, true FROM pg_database "
            "      WHERE datname = current_database()) AS c ORDER BY c.relname"
        ),
        {"server": roles.server, "reporting": roles.reporting},
    ).all()
    unsafe = [f"{t} (owner {o})" for t, o, _, bad in rows if bad]
    if unsafe:
        raise GrantError(
            f"owned by the server or reporting role, or by a role they can act as: "
            f"{', '.join(unsafe)}. They must belong to the schema owner alone "
            "(ALTER ... OWNER TO the owner)"
        )
    foreign = [f"{t} (owner {o})" for t, o, mine, _ in rows if not mine]
    if foreign:
        raise GrantError(
            f"run 'agentdesk db grants' as the schema owner: not yours to grant: "
            f"{', '.join(foreign[:5])}{' …' if len(foreign) > 5 else ''}"
        )


def _grant_report(conn: Connection, table: str, withheld: frozenset[str], role: str) -> None:
    if not withheld:
        conn.execute(text(f"GRANT SELECT ON TABLE {_q(table)} TO {_q(role)}"))
        return
    # Column grants list what may be read, so a column a later migration adds stays
    # hidden from reports until this policy is applied again.
    columns = [
        str(r[0])
        for r in conn.execute(
            text(
                "SELECT attname FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) "
                "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
            ),
            {"t": _q(table)},
        )
        if str(r[0]) not in withheld
    ]
    listed = ", ".join(_q(c) for c in columns)
    conn.execute(text(f"GRANT SELECT ({listed}) ON TABLE {_q(table)} TO {_q(role)}"))


def _policies(roles: RoleNames, owner: str) -> dict[str, tuple[str, ...]]:
    server, own = _q(roles.server), _q(owner)
    audit = (
        f"CREATE POLICY agentdesk_audit_read ON audit_entry FOR SELECT TO {server}, {own} "
        "USING (true)",
        f"CREATE POLICY agentdesk_audit_append ON audit_entry FOR INSERT TO {server}, {own} "
        "WITH CHECK (seq IS NOT NULL AND prev_hash IS NOT NULL AND entry_hash IS NOT NULL)",
        f"CREATE POLICY agentdesk_audit_retention ON audit_entry FOR DELETE TO {own} "
        f"USING (at < now() - interval '{AUDIT_KEEP}')",
    )
    feed = (
        f"CREATE POLICY agentdesk_feed_read ON change_log FOR SELECT TO {server} USING (true)",
        f"CREATE POLICY agentdesk_feed_write ON change_log FOR INSERT TO {server} "
        "WITH CHECK (xid = pg_current_xact_id()::text::bigint)",
        f"CREATE POLICY agentdesk_feed_prune ON change_log FOR DELETE TO {server} USING (true)",
    )
    found: dict[str, tuple[str, ...]] = {"audit_entry": audit, "change_log": feed}
    for table in SERVER_ONLY_ROWS:
        found[table] = (
            f"CREATE POLICY agentdesk_server_only ON {_q(table)} FOR ALL TO {server} "
            "USING (true) WITH CHECK (true)",
        )
    return found


def _row_security(
    conn: Connection, roles: RoleNames, tables: dict[str, tuple[str, ...]]
) -> tuple[str, ...]:
    """ENABLE (and on the audit trail FORCE) row-level security with this module's policies."""
    owner = conn.execute(
        text(
            "SELECT pg_get_userbyid(relowner) FROM pg_class "
            "WHERE relnamespace = current_schema()::regnamespace AND relname = 'audit_entry'"
        )
    ).scalar()
    done = []
    for table, statements in _policies(roles, str(owner or "")).items():
        if table not in tables or (table == "audit_entry" and owner is None):
            continue
        # Policies we wrote before (including the older agent/admin ones) are replaced whole.
        for (name,) in conn.execute(
            text(
                "SELECT policyname FROM pg_policies "
                "WHERE schemaname = current_schema() AND tablename = :t"
            ),
            {"t": table},
        ).all():
            if str(name).startswith("agentdesk_"):
                conn.execute(text(f"DROP POLICY {_q(str(name))} ON {_q(table)}"))
        conn.execute(text(f"ALTER TABLE {_q(table)} ENABLE ROW LEVEL SECURITY"))
        force = "FORCE" if table == "audit_entry" else "NO FORCE"
        conn.execute(text(f"ALTER TABLE {_q(table)} {force} ROW LEVEL SECURITY"))
        for statement in statements:
            conn.execute(text(statement))
        done.append(table)
    return tuple(sorted(done))


def _drop_legacy(conn: Connection, schema: str, database: str) -> tuple[tuple[str, ...], ...]:
    """Drop the agent/supervisor/admin roles of older installs and their people's logins."""
    groups = [
        str(r[0])
        for r in conn.execute(
            text("SELECT rolname FROM pg_roles WHERE rolname = ANY(:g) ORDER BY rolname"),
            {"g": list(LEGACY_GROUPS)},
        )
    ]
    if not groups:
        return (), ()
    members = conn.execute(
        text(
            "SELECT DISTINCT r.rolname, r.rolsuper OR r.rolname = current_user, "
            "EXISTS (SELECT FROM pg_auth_members m2 JOIN pg_roles g2 ON g2.oid = m2.roleid "
            "        WHERE m2.member = r.oid AND NOT g2.rolname = ANY(:g)) "
            "FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member "
            "JOIN pg_roles g ON g.oid = m.roleid "
            "WHERE g.rolname = ANY(:g) AND r.rolcanlogin ORDER BY r.rolname"
        ),
        {"g": list(LEGACY_GROUPS)},
    ).all()
    dropped: list[str] = []
    kept: list[str] = []
    logins: list[str] = []
    for name, privileged, elsewhere in members:
        if privileged or elsewhere:
            # Somebody's own administrative login, not one 'agentdesk db login' made:
            # dropping the groups below removes only its old membership.
            kept.append(f"{name} (login; also belongs to other roles, only its old role goes)")
        else:
            logins.append(str(name))
    for name in [*logins, *groups]:
        label = f"{name} (login)" if name in logins else name
        reason = _drop_role(conn, name, schema, database)
        (kept if reason else dropped).append(f"{label}: {reason}" if reason else label)
    return tuple(dropped), tuple(kept)


def _drop_role(conn: Connection, name: str, schema: str, database: str) -> str | None:
    """Revoke what ``name`` holds here and drop it; the reason when PostgreSQL refuses."""
    owns = conn.execute(
        text(
            "SELECT count(*) FROM pg_shdepend d JOIN pg_roles r ON r.oid = d.refobjid "
            "WHERE r.rolname = :n AND d.deptype = 'o'"
        ),
        {"n": name},
    ).scalar_one()
    if owns:
        return f"owns {owns} database objects; reassign them, then run grants again"
    role, s = _q(name), _q(schema)
    # Whether or not the role can go, it keeps nothing here: desktops' roles are over.
    # Explicit revokes rather than DROP OWNED, which needs membership in the role.
    conn.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {role}"))
    conn.execute(text(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {role}"))
    conn.execute(text(f"REVOKE ALL ON SCHEMA {s} FROM {role}"))
    conn.execute(text(f"REVOKE ALL ON DATABASE {_q(database)} FROM {role}"))
    savepoint = conn.begin_nested()
    try:
        conn.execute(text(f"DROP ROLE {role}"))
    except DBAPIError as exc:
        savepoint.rollback()
        first = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
        return f"not dropped ({first})"
    savepoint.commit()
    return None


def create_login(
    engine: Engine,
    login: str,
    kind: str,
    password: str,
    roles: RoleNames | None = None,
) -> str:
    """Create (or re-home) a LOGIN role in the server or reporting group; returns the group.

    The password reaches PostgreSQL only as a SCRAM-SHA-256 verifier made by
    libpq on this side, so neither the statement log nor ``pg_stat_activity``
    ever shows it in clear.
    """
    _require_postgres(engine)
    roles = roles or RoleNames()
    roles.check()
    group = roles.group(kind)
    if not _LOGIN.fullmatch(login):
        raise GrantError(
            f"{login!r} cannot be a database login: use lower-case letters, digits, '_', '.', "
            "'-' (at most 63 characters, not starting with a digit)"
        )
    if login in (roles.server, roles.reporting, *LEGACY_GROUPS):
        raise GrantError(f"{login!r} is a group role's name; choose another login")
    if not password:
        raise GrantError("an empty password is refused")
    with engine.begin() as conn:
        if (
            conn.execute(text("SELECT FROM pg_roles WHERE rolname = :n"), {"n": group}).first()
            is None
        ):
            raise GrantError(f"role {group} does not exist yet: run 'agentdesk db grants' first")
        existing = conn.execute(
            text(
                "SELECT rolsuper OR rolbypassrls OR rolcreaterole OR rolcreatedb "
                "OR rolreplication, pg_has_role(oid, current_user, 'MEMBER') "
                "FROM pg_roles WHERE rolname = :n"
            ),
            {"n": login},
        ).first()
        if existing is not None and (existing[0] or existing[1] or login == _current(conn)):
            raise GrantError(
                f"{login} exists with more power than a {kind} login may have (superuser, "
                "BYPASSRLS, CREATEROLE, CREATEDB, REPLICATION or the owner's rights); "
                "choose another login"
            )
        verifier = _scram_verifier(conn, login, password)
        verb = "ALTER" if existing is not None else "CREATE"
        # format() quotes the name (%I) and the verifier (%L) the way PostgreSQL parses them.
        statement = conn.execute(
            text(
                "SELECT format('%s ROLE %I LOGIN INHERIT PASSWORD %L', CAST(:v AS text), "
                "CAST(:n AS text), CAST(:p AS text))"
            ),
            {"v": verb, "n": login, "p": verifier},
        ).scalar_one()
        # As it stands: a verifier may hold ':' followed by letters, which text() would bind.
        conn.exec_driver_sql(statement)
        # One login, one job: a server login is never also a reporting login.
        for other in (roles.server, roles.reporting, *LEGACY_GROUPS):
            if other != group and _is_member(conn, login, other):
                conn.execute(text(f"REVOKE {_q(other)} FROM {_q(login)}"))
        conn.execute(text(f"GRANT {_q(group)} TO {_q(login)}"))
    return group


def _current(conn: Connection) -> str:
    return str(conn.execute(text("SELECT current_user")).scalar_one())


def _is_member(conn: Connection, login: str, group: str) -> bool:
    row = conn.execute(
        text(
            "SELECT FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
            "JOIN pg_roles r ON r.oid = m.member WHERE g.rolname = :g AND r.rolname = :n"
        ),
        {"g": group, "n": login},
    ).first()
    return row is not None


def _scram_verifier(conn: Connection, login: str, password: str) -> str:
    driver = conn.connection.driver_connection
    pgconn = getattr(driver, "pgconn", None)
    if pgconn is None:
        raise GrantError("creating a login needs the psycopg driver (postgresql+psycopg://)")
    raw: bytes = pgconn.encrypt_password(
        password.encode("utf-8"), login.encode("utf-8"), b"scram-sha-256"
    )
    return raw.decode("ascii")
