"""PostgreSQL roles and least-privilege grants for agents, supervisors and administrators.

The services check roles before every supervisor use case; on PostgreSQL the
database enforces the same split, so a desktop whose database login is an
agent's cannot read supervisor data even with hand-written SQL:

``agentdesk_agent``
    reads reference data, customers, tickets and interactions; writes what
    an agent's work creates (customer edits, tickets, comments, interactions,
    call records, its own audit entries, the sync bookkeeping). Interactions,
    comments, histories and audit entries are insert-only: append-only in
    the database too. Call records (pop latency per workstation) are write-only.
    Audit entries: row-level security shows an agent only the entries it
    wrote itself, and it can only write entries in its own name.
``agentdesk_supervisor``
    everything an agent may, plus every audit entry, call records and the
    customer-data review queue.
``agentdesk_admin``
    everything a supervisor may, plus maintenance: deletes for the retention
    purge, the change-feed floor, reference-data edits. Nobody, an admin
    included, may UPDATE an audit entry.

The three are NOLOGIN group roles (supervisor includes agent, admin includes
supervisor). People sign in to the database with their own login role,
named like their agentdesk login (``create_login``), which is a member of
one group. Run :func:`apply_grants` (``agentdesk db grants``) as the schema
owner after every ``agentdesk db upgrade``: it is idempotent, and a table
a newer migration added stays admin-only until the policy here names it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

AGENT = "agentdesk_agent"
SUPERVISOR = "agentdesk_supervisor"
ADMIN = "agentdesk_admin"
GROUPS = (AGENT, SUPERVISOR, ADMIN)
_READ = ("SELECT",)
_EDIT = ("SELECT", "INSERT", "UPDATE")
_APPEND = ("SELECT", "INSERT")

# What an agent may do per table. Anything not listed is out of reach for agents.
AGENT_TABLES: dict[str, tuple[str, ...]] = {
    "agent": _READ,  # sign-in and assignee names
    "team": _READ,
    "agent_team": _READ,
    "skill": _READ,
    "agent_skill": _READ,
    "queue": _READ,
    "disposition": _READ,
    "knowledge_article": _READ,
    "customer": _EDIT,
    "customer_phone": _EDIT,
    "customer_email": _EDIT,
    "customer_address": _EDIT,
    "identity_document": _EDIT,
    "product": _READ,
    "customer_history": _APPEND,
    "ticket": _EDIT,
    "ticket_history": _APPEND,
    "ticket_comment": _APPEND,
    "interaction": _APPEND,
    "call_record": ("INSERT",),
    "audit_entry": _APPEND,  # rows limited by row-level security
    "search_doc": ("SELECT", "INSERT", "DELETE"),  # maintained by triggers on customer data
    "change_log": _APPEND,
    "applied_mutation": _APPEND,
    "sync_client": _EDIT,
    "sync_state": _READ,
    "conflict_review": ("INSERT",),
}
# What a supervisor may do on top of an agent.
SUPERVISOR_TABLES: dict[str, tuple[str, ...]] = {
    "call_record": ("SELECT",),
    "conflict_review": ("SELECT", "UPDATE"),
}
# Admins may do everything except rewrite the audit trail.
ADMIN_ALL = ("SELECT", "INSERT", "UPDATE", "DELETE")
ADMIN_EXCEPT: dict[str, tuple[str, ...]] = {"audit_entry": ("SELECT", "INSERT", "DELETE")}

_AUDIT_POLICIES = (
    f"CREATE POLICY agentdesk_audit_own ON audit_entry FOR SELECT TO {AGENT} "
    "USING (actor = current_user)",
    f"CREATE POLICY agentdesk_audit_all ON audit_entry FOR SELECT TO {SUPERVISOR} USING (true)",
    f"CREATE POLICY agentdesk_audit_write ON audit_entry FOR INSERT TO {AGENT} "
    "WITH CHECK (actor = current_user)",
    f"CREATE POLICY agentdesk_audit_purge ON audit_entry FOR DELETE TO {ADMIN} USING (true)",
)
_LOGIN = re.compile(r"[a-z_][a-z0-9_.\-]{0,62}")


class GrantError(RuntimeError):
    """Grants cannot be applied here (not PostgreSQL, not allowed, bad login name)."""


@dataclass(frozen=True)
class GrantReport:
    """What ``apply_grants`` did: tables granted per group, tables left admin-only."""

    granted: dict[str, tuple[str, ...]]
    admin_only: tuple[str, ...]


def _require_postgres(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        raise GrantError(
            f"database roles and grants need PostgreSQL; this store is {engine.dialect.name} "
            "(the embedded store has one user: the desktop itself)"
        )


def _tables(conn: Connection) -> list[str]:
    rows = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))
    return sorted(str(r[0]) for r in rows)


def _ensure_groups(conn: Connection) -> None:
    for name in GROUPS:
        conn.execute(
            text(
                "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = "
                f"'{name}') THEN CREATE ROLE {name} NOLOGIN; END IF; END $$"
            )
        )
    conn.execute(text(f"GRANT {AGENT} TO {SUPERVISOR}"))
    conn.execute(text(f"GRANT {SUPERVISOR} TO {ADMIN}"))


def _grant(conn: Connection, privileges: tuple[str, ...], table: str, role: str) -> None:
    conn.execute(text(f'GRANT {", ".join(privileges)} ON TABLE "{table}" TO {role}'))


def apply_grants(engine: Engine) -> GrantReport:
    """Create the three group roles and (re)apply the least-privilege grants. Idempotent."""
    _require_postgres(engine)
    groups = ", ".join(GROUPS)
    with engine.begin() as conn:
        _ensure_groups(conn)
        tables = _tables(conn)
        schema, database = conn.execute(text("SELECT current_schema(), current_database()")).one()
        conn.execute(text(f'REVOKE ALL ON ALL TABLES IN SCHEMA "{schema}" FROM {groups}'))
        conn.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO {AGENT}'))
        conn.execute(text(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA "{schema}" TO {AGENT}'))
        conn.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO {AGENT}'))
        granted: dict[str, list[str]] = {name: [] for name in GROUPS}
        for table in tables:
            for role, policy in ((AGENT, AGENT_TABLES), (SUPERVISOR, SUPERVISOR_TABLES)):
                if table in policy:
                    _grant(conn, policy[table], table, role)
                    granted[role].append(table)
            _grant(conn, ADMIN_EXCEPT.get(table, ADMIN_ALL), table, ADMIN)
            granted[ADMIN].append(table)
        if "audit_entry" in tables:
            _audit_rls(conn)
    admin_only = tuple(t for t in tables if t not in AGENT_TABLES and t not in SUPERVISOR_TABLES)
    return GrantReport({k: tuple(v) for k, v in granted.items()}, admin_only)


def _audit_rls(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE audit_entry ENABLE ROW LEVEL SECURITY"))
    existing = conn.execute(
        text("SELECT policyname FROM pg_policies WHERE tablename = 'audit_entry'")
    )
    for (name,) in existing:
        if str(name).startswith("agentdesk_"):
            conn.execute(text(f'DROP POLICY "{name}" ON audit_entry'))
    for statement in _AUDIT_POLICIES:
        conn.execute(text(statement))


def create_login(engine: Engine, login: str, group: str, password: str | None = None) -> None:
    """Create (or re-home) a database login for an agentdesk user in one group role."""
    _require_postgres(engine)
    if group not in GROUPS:
        raise GrantError(f"unknown group {group!r}; use one of {', '.join(GROUPS)}")
    if not _LOGIN.fullmatch(login):
        raise GrantError(
            f"{login!r} cannot be a database login: use lower-case letters, digits, '_', '.', "
            "'-' (at most 63 characters, not starting with a digit)"
        )
    with engine.begin() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": login})
        verb = "ALTER" if exists.first() else "CREATE"
        # format() quotes the name (%I) and the password (%L) the way PostgreSQL parses them.
        quoted = (
            "SELECT format('%s ROLE %I LOGIN PASSWORD %L', CAST(:v AS text), "
            "CAST(:n AS text), CAST(:p AS text))"
        )
        statement = conn.execute(text(quoted), {"v": verb, "n": login, "p": password}).scalar_one()
        conn.execute(text(statement))
        for other in GROUPS:
            if other != group:
                conn.execute(text(f'REVOKE {other} FROM "{login}"'))
        conn.execute(text(f'GRANT {group} TO "{login}"'))
