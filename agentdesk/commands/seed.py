"""``agentdesk seed``: fill the central store with deterministic demo bank data."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from agentdesk.commands.common import settings_from
from agentdesk.config import ConfigError
from agentdesk.services.seeding.generator import SeedOptions, seed
from agentdesk.store import migrate
from agentdesk.store.central import open_central
from agentdesk.store.engine import StoreError, central_engine
from agentdesk.store.field_crypto import KEY_FILE_ENV, FieldKeyError, FieldKeyring, read_key_file


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "seed", help="generate demo customers, products, history, tickets, agents and queues"
    )
    parser.add_argument(
        "--customers", type=_positive, default=10_000, help="how many customers (default 10000)"
    )
    parser.add_argument(
        "--seed", type=int, default=42, help="random seed: same seed, same data (default 42)"
    )
    parser.add_argument(
        "--interactions",
        type=float,
        default=2.0,
        help="mean interactions per customer (default 2.0)",
    )
    parser.add_argument(
        "--heavy-customer",
        type=int,
        default=0,
        metavar="N",
        help="also add one customer (+44 20 7946 0000) with N interactions",
    )
    parser.add_argument("--url", help="database URL (default: the configured central store)")
    parser.add_argument(
        "--field-key-file",
        metavar="PATH",
        help="the server's field key (0600): dates of birth and identity numbers are stored "
        f"encrypted with it, else masked only (default: ${KEY_FILE_ENV})",
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="generator processes (default: 2)"
    )
    parser.add_argument(
        "--bulk",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="bulk mode: indexes and search triggers off during the load, rebuilt after "
        "(default: when the store has no customers yet and at least 20000 are asked for)",
    )
    parser.set_defaults(func=_run)


def _positive(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be zero or more")
    return value


def _run(args: argparse.Namespace) -> int:
    try:
        key_path = args.field_key_file or os.environ.get(KEY_FILE_ENV)
        field_key = read_key_file(key_path) if key_path else None
        keyring = FieldKeyring.parse(field_key, key_path) if field_key and key_path else None
        engine = central_engine(args.url) if args.url else open_central(settings_from(args))
        migrate.upgrade(engine, field_keyring=keyring)
    except (StoreError, ConfigError, FieldKeyError) as exc:
        print(f"agentdesk seed: {exc}", file=sys.stderr)
        return 2
    options = SeedOptions(
        customers=args.customers,
        seed=args.seed,
        interactions_per_customer=args.interactions,
        heavy_customer_interactions=args.heavy_customer,
        field_key=field_key,
    )
    started = time.perf_counter()
    last = [started]

    def progress(done: int, total: int, rows: int) -> None:
        now = time.perf_counter()
        if now - last[0] < 2 and done < total:
            return  # a line every two seconds is plenty for a million customers
        last[0] = now
        elapsed = now - started
        print(
            f"  {done:>10,} / {total:,} customers  {rows:>11,} rows  "
            f"{rows / elapsed if elapsed else 0:>9,.0f} rows/s  {elapsed:6.1f} s",
            flush=True,
        )

    print(
        f"Seeding {engine.url.render_as_string(hide_password=True)} "
        f"with {args.customers:,} customers "
        f"(seed {args.seed})",
        flush=True,
    )
    try:
        report = seed(
            engine,
            options,
            progress,
            workers=args.workers,
            bulk=args.bulk,
            log=lambda line: print(line, flush=True),
        )
    except ValueError as exc:
        print(f"agentdesk seed: {exc}", file=sys.stderr)
        return 2
    print(
        f"Done: {report.rows:,} rows in {report.seconds:.1f} s "
        f"({report.rows_per_second:,.0f} rows/s, "
        f"{report.customers / report.seconds if report.seconds else 0:,.0f} customers/s)"
    )
    print("Store now holds: " + ", ".join(f"{v:,} {k}" for k, v in report.tables.items()))
    return 0
