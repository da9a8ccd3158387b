"""``agentdesk db grants`` and ``agentdesk db login``: the server's and reports' database roles.

    agentdesk db grants [--url URL] [--server-role NAME] [--reporting-role NAME]
    agentdesk db login NAME --role server|reporting [--password-env VAR] [--url URL]

Run both as the schema owner, ``grants`` after every ``agentdesk db upgrade``
(``agentdesk.store.grants`` says who may do what and why). A password never
goes on the command line, where ``ps`` and shell history would keep it: it
comes from the named environment variable or is asked for twice.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from agentdesk.config import ConfigError
from agentdesk.store.engine import StoreError
from agentdesk.store.grants import (
    KINDS,
    REPORTING,
    SERVER,
    GrantError,
    GrantReport,
    RoleNames,
    apply_grants,
    create_login,
)

EngineFactory = Callable[[argparse.Namespace], Any]
_FAILURES = (GrantError, StoreError, ConfigError, SQLAlchemyError)


def register_grants(actions: Any, engine: EngineFactory) -> None:
    """Add the ``grants`` and ``login`` actions to ``agentdesk db``."""
    grants = actions.add_parser(
        "grants",
        help="create the server and reporting roles, their grants and row-level security",
    )
    _common(grants)
    grants.set_defaults(func=lambda args: _grants(args, engine))
    login = actions.add_parser(
        "login", help="create a database login for the server or for reports"
    )
    login.add_argument("login", help="the new login's name (e.g. agentdesk_server_site1)")
    login.add_argument(
        "--role",
        choices=KINDS,
        required=True,
        help="server: the login agentdesk server connects with; reporting: read-only reports",
    )
    login.add_argument(
        "--password-env",
        metavar="VAR",
        help="read the password from this environment variable (default: ask for it)",
    )
    _common(login)
    login.set_defaults(func=lambda args: _login(args, engine))


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="database URL (default: the configured central store)")
    parser.add_argument("--server-role", default=SERVER, metavar="NAME", help=f"default {SERVER}")
    parser.add_argument(
        "--reporting-role", default=REPORTING, metavar="NAME", help=f"default {REPORTING}"
    )


def _roles(args: argparse.Namespace) -> RoleNames:
    return RoleNames(server=args.server_role, reporting=args.reporting_role)


def _grants(args: argparse.Namespace, engine: EngineFactory) -> int:
    try:
        db = engine(args)
        try:
            report = apply_grants(db, _roles(args))
        finally:
            db.dispose()
    except _FAILURES as exc:
        print(f"agentdesk db grants: {exc}", file=sys.stderr)
        return 2
    print(describe(report))
    return 0


def describe(report: GrantReport) -> str:
    """What an operator reads after ``db grants``: who got what, what stayed, what went."""
    roles = report.roles
    appends = sorted(t for t, p in report.server.items() if "INSERT" in p and "UPDATE" not in p)
    partial = {t: c for t, c in report.reporting.items() if c}
    lines = [
        f"{roles.server}: {len(report.server)} tables (append-only: {', '.join(appends)})",
        f"{roles.reporting}: SELECT on {len(report.reporting)} tables; withheld columns: "
        + ", ".join(f"{t}.{c}" for t, cols in sorted(partial.items()) for c in cols),
        f"row-level security: {', '.join(report.row_security)}",
    ]
    if report.owner_only:
        lines.append(f"owner only: {', '.join(report.owner_only)}")
    if report.dropped:
        lines.append(
            f"dropped roles of the old direct-to-database setup: {', '.join(report.dropped)}"
        )
    for kept in report.kept:
        lines.append(f"warning: kept {kept}")
    return "\n".join(lines)


def _password(args: argparse.Namespace) -> str | None:
    if args.password_env:
        value = os.environ.get(args.password_env)
        if not value:
            print(f"agentdesk db login: ${args.password_env} is not set", file=sys.stderr)
        return value or None
    if not sys.stdin.isatty():
        print(
            "agentdesk db login: no terminal to ask for the password; use --password-env VAR",
            file=sys.stderr,
        )
        return None
    first = getpass.getpass(f"password for {args.login}: ")
    if first != getpass.getpass("again: "):
        print("agentdesk db login: the passwords differ", file=sys.stderr)
        return None
    return first


def _login(args: argparse.Namespace, engine: EngineFactory) -> int:
    password = _password(args)
    if password is None:
        return 2
    try:
        db = engine(args)
        try:
            group = create_login(db, args.login, args.role, password, _roles(args))
        finally:
            db.dispose()
    except _FAILURES as exc:
        print(f"agentdesk db login: {exc}", file=sys.stderr)
        return 2
    print(f"{args.login} can sign in to the database as {group}")
    return 0
