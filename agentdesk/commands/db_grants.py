"""``agentdesk db grants`` and ``agentdesk db login``: PostgreSQL roles for agents and supervisors.

    agentdesk db grants [--url URL]
    agentdesk db login LOGIN --role agent|supervisor|admin [--password-env VAR] [--url URL]

Run as the schema owner after every ``agentdesk db upgrade`` (see
``agentdesk.store.grants`` for who may do what).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from agentdesk.config import ConfigError
from agentdesk.store.engine import StoreError
from agentdesk.store.grants import ADMIN, AGENT, SUPERVISOR, GrantError, apply_grants, create_login

_GROUPS = {"agent": AGENT, "supervisor": SUPERVISOR, "admin": ADMIN}
EngineFactory = Callable[[argparse.Namespace], Any]


def register_grants(actions: Any, engine: EngineFactory) -> None:
    """Add the ``grants`` and ``login`` actions to ``agentdesk db``."""
    grants = actions.add_parser(
        "grants", help="create the agent/supervisor/admin roles and least-privilege grants"
    )
    grants.add_argument("--url", help="database URL (default: the configured central store)")
    grants.set_defaults(func=lambda args: _grants(args, engine))
    login = actions.add_parser("login", help="create a database login in one of the roles")
    login.add_argument("login", help="the person's agentdesk login (also the database login)")
    login.add_argument("--role", choices=sorted(_GROUPS), required=True)
    login.add_argument(
        "--password-env", metavar="VAR", help="read the password from this environment variable"
    )
    login.add_argument("--url", help="database URL (default: the configured central store)")
    login.set_defaults(func=lambda args: _login(args, engine))


def _grants(args: argparse.Namespace, engine: EngineFactory) -> int:
    try:
        db = engine(args)
        try:
            report = apply_grants(db)
        finally:
            db.dispose()
    except (GrantError, StoreError, ConfigError, SQLAlchemyError) as exc:
        print(f"agentdesk db grants: {exc}", file=sys.stderr)
        return 2
    for group, tables in report.granted.items():
        print(f"{group}: {len(tables)} tables")
    if report.admin_only:
        print(f"admin only: {', '.join(report.admin_only)}")
    return 0


def _login(args: argparse.Namespace, engine: EngineFactory) -> int:
    password = os.environ.get(args.password_env) if args.password_env else None
    if args.password_env and password is None:
        print(f"agentdesk db login: ${args.password_env} is not set", file=sys.stderr)
        return 2
    try:
        db = engine(args)
        try:
            create_login(db, args.login, _GROUPS[args.role], password)
        finally:
            db.dispose()
    except (GrantError, StoreError, ConfigError, SQLAlchemyError) as exc:
        print(f"agentdesk db login: {exc}", file=sys.stderr)
        return 2
    print(f"{args.login} can sign in to the database as {_GROUPS[args.role]}")
    return 0
