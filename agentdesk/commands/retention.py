"""``agentdesk retention purge``: apply the retention policy to a store."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from agentdesk.commands.common import settings_from
from agentdesk.config import ConfigError
from agentdesk.services.platform.retention import RetentionPolicy, purge
from agentdesk.store import migrate
from agentdesk.store.central import open_central
from agentdesk.store.engine import StoreError, central_engine


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "retention", help="purge records older than the retention policy"
    )
    actions = parser.add_subparsers(dest="retention_action", metavar="ACTION", required=True)
    run = actions.add_parser(
        "purge", help="delete interactions, call records and audit entries past their time"
    )
    run.add_argument("--url", help="database URL (default: the configured central store)")
    run.add_argument("--policy", help="retention TOML (default: resources/retention.toml)")
    run.add_argument("--dry-run", action="store_true", help="count what would go, delete nothing")
    run.set_defaults(func=_purge)


def _purge(args: argparse.Namespace) -> int:
    try:
        policy = RetentionPolicy.load(Path(args.policy) if args.policy else None)
        engine = central_engine(args.url) if args.url else open_central(settings_from(args))
        migrate.check(engine)
    except (StoreError, ConfigError, ValueError, OSError, migrate.SchemaDriftError) as exc:
        print(f"agentdesk retention purge: {exc}", file=sys.stderr)
        return 2
    report = purge(engine, policy, actor=f"cli:{getpass.getuser()}", dry_run=args.dry_run)
    verb = "would delete" if report.dry_run else "deleted"
    print(
        f"{verb} {report.interactions:,} interactions "
        f"(before {report.cutoff_interactions:%Y-%m-%d}), "
        f"{report.call_records:,} call records, {report.audit_entries:,} audit entries; "
        "customers under legal hold kept"
    )
    return 0
