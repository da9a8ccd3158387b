"""``agentdesk db``: migrate and check the central store (and a local cache file)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from agentdesk.commands.common import settings_from
from agentdesk.commands.db_grants import register_grants
from agentdesk.config import ConfigError
from agentdesk.store import migrate
from agentdesk.store.central import open_central
from agentdesk.store.engine import StoreError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("db", help="migrate or check the central database schema")
    actions = parser.add_subparsers(dest="db_action", metavar="ACTION", required=True)
    up = actions.add_parser("upgrade", help="apply all schema migrations (safe to repeat)")
    up.add_argument("--url", help="database URL (default: the configured central store)")
    up.set_defaults(func=_upgrade)
    check = actions.add_parser("check", help="fail if the schema is not at the latest revision")
    check.add_argument("--url", help="database URL (default: the configured central store)")
    check.set_defaults(func=_check)
    register_grants(actions, _engine)


def _engine(args: argparse.Namespace) -> Any:
    from agentdesk.store.engine import central_engine

    if args.url:
        return central_engine(args.url)
    return open_central(settings_from(args))


def _upgrade(args: argparse.Namespace) -> int:
    try:
        engine = _engine(args)
        migrate.upgrade(engine)
    except (StoreError, ConfigError) as exc:
        print(f"agentdesk db upgrade: {exc}", file=sys.stderr)
        return 2
    print(f"{_where(engine)} is at revision {migrate.current_revision(engine)}")
    return 0


def _check(args: argparse.Namespace) -> int:
    try:
        engine = _engine(args)
        migrate.check(engine)
    except (StoreError, ConfigError, migrate.SchemaDriftError) as exc:
        print(f"agentdesk db check: {exc}", file=sys.stderr)
        return 1
    print(f"{_where(engine)}: schema up to date (revision {migrate.current_revision(engine)})")
    return 0


def _where(engine: Any) -> str:
    return str(engine.url.render_as_string(hide_password=True))
