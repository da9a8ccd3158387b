"""``agentdesk audit verify``: prove the audit log's hash chain is unbroken."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from agentdesk.commands.common import settings_from
from agentdesk.config import ConfigError
from agentdesk.store.audit_log import verify_chain
from agentdesk.store.central import open_central
from agentdesk.store.engine import StoreError, read_session


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("audit", help="check the tamper-evident audit log")
    actions = parser.add_subparsers(dest="audit_action", metavar="ACTION", required=True)
    verify = actions.add_parser(
        "verify", help="walk the hash chain; exit 1 naming the first broken entry"
    )
    verify.add_argument("--url", help="database URL (default: the configured central store)")
    verify.add_argument(
        "--expect-head",
        metavar="SEQ:HASH",
        help="a head printed by an earlier run and kept elsewhere; that entry must still match",
    )
    verify.set_defaults(func=_verify)


def _engine(args: argparse.Namespace) -> Any:
    from agentdesk.store.engine import central_engine

    if args.url:
        return central_engine(args.url)
    return open_central(settings_from(args))


def _verify(args: argparse.Namespace) -> int:
    try:
        engine = _engine(args)
        try:
            with read_session(engine) as session:
                report = verify_chain(session, args.expect_head)
        finally:
            engine.dispose()
    except (StoreError, ConfigError, ValueError) as exc:
        print(f"agentdesk audit verify: {exc}", file=sys.stderr)
        return 2
    if report.broken is not None:
        print(
            f"audit chain BROKEN after {report.entries:,} entries at {report.broken}",
            file=sys.stderr,
        )
        return 1
    head = f"{report.head_seq}:{report.head_hash}"
    print(f"audit chain intact: {report.entries:,} entries; head {head}")
    return 0
