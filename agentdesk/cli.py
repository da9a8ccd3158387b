"""The ``agentdesk`` command: argument parsing and dispatch to ``agentdesk.commands``."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from agentdesk.services.scripts.loader import ScriptFileError

# Sub-command modules, in the order ``--help`` lists them. Each adds itself
# through ``register``; a module is listed here only once its command works.
COMMAND_MODULES: tuple[str, ...] = (
    "agentdesk.commands.server",
    "agentdesk.commands.db",
    "agentdesk.commands.audit",
    "agentdesk.commands.seed",
    "agentdesk.commands.retention",
    "agentdesk.commands.report",
    "agentdesk.commands.pbx",
    "agentdesk.commands.corebank",
    "agentdesk.commands.sync",
    "agentdesk.commands.run",
    "agentdesk.commands.demo",
)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or with ``only`` the one command (its module alone is imported:
    ``agentdesk report`` then loads no database, server or Qt code)."""
    parser = argparse.ArgumentParser(
        prog="agentdesk",
        description="Contact-center desktop for agents and supervisors.",
    )
    parser.add_argument(
        "--config", help="path to a TOML settings file (default: platform config dir)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug output")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        if only is None or name.rpartition(".")[2] == only:
            importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    named = words[0] if words and f"agentdesk.commands.{words[0]}" in COMMAND_MODULES else None
    parser = build_parser(only=named)
    args = parser.parse_args(words)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # Alembic narrates every migration step at INFO; keep that for --verbose.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    # httpx logs every request line at INFO, query strings included: never below WARNING,
    # so no URL with an id or a search term reaches a log file.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except ScriptFileError as exc:  # a bad agent script stops the start, naming file and step
        print(f"agentdesk: agent script not usable: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
