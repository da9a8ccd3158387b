"""Seeding throughput: `python bench/seed.py [--customers N] [--sqlite-only | --postgres-only]`.

Target (issue 10, item 9): `agentdesk seed --customers 1000000` in at most two
minutes on the 2-core build box, into SQLite and into PostgreSQL. Seeds a
fresh SQLite file and a throwaway PostgreSQL server (started as in the tests,
`tests/support/pgserver.py`) with the same seed, and prints per store the
rows by table, rows/s, the wall time of each phase and the load the box had
(other test suites often share its two cores).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, text

from agentdesk.services.seeding.generator import SeedOptions, SeedReport, seed
from agentdesk.store import migrate
from agentdesk.store.engine import central_engine, sqlite_engine

TABLES = (
    "customer",
    "customer_phone",
    "customer_email",
    "customer_address",
    "identity_document",
    "product",
    "interaction",
    "ticket",
    "ticket_history",
    "search_doc",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--interactions", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=None)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--sqlite-only", action="store_true")
    which.add_argument("--postgres-only", action="store_true")
    args = parser.parse_args()
    options = SeedOptions(
        customers=args.customers, seed=1, interactions_per_customer=args.interactions
    )
    print(f"{os.cpu_count()} CPUs; load before: {_load()}", flush=True)
    if not args.postgres_only:
        with tempfile.TemporaryDirectory() as tmp:
            _run(sqlite_engine(Path(tmp) / "central.db"), options, "SQLite", args.workers)
    if not args.sqlite_only:
        from tests.support.pgserver import running_server

        with running_server() as server:
            engine = central_engine(server.url(server.create_database()))
            _run(engine, options, "PostgreSQL", args.workers)
    return 0


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min)"


def _run(engine: Engine, options: SeedOptions, label: str, workers: int | None) -> SeedReport:
    migrate.upgrade(engine)
    print(f"{label}: seeding {options.customers:,} customers (seed {options.seed})", flush=True)
    started = time.perf_counter()
    last = [started]

    def progress(done: int, total: int, rows: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 5 or done == total:
            last[0] = now
            elapsed = now - started
            print(
                f"  {done:>9,}/{total:,} customers, {rows:,} rows, "
                f"{rows / elapsed:,.0f} rows/s, {elapsed:.1f} s",
                flush=True,
            )

    report = seed(engine, options, progress, workers, log=lambda line: print(line, flush=True))
    with engine.connect() as conn:
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}
    print(
        f"{label}: {report.customers:,} customers, {report.rows:,} rows in "
        f"{report.seconds:.1f} s = {report.rows_per_second:,.0f} rows/s "
        f"({report.customers / report.seconds:,.0f} customers/s); load after: {_load()}"
    )
    print("  phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in report.phases.items()))
    print("  rows: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()), flush=True)
    engine.dispose()
    return report


if __name__ == "__main__":
    sys.exit(main())
