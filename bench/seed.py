"""Seeding throughput: `python bench/seed.py [--customers N] [--postgres]`.

Target (issue 2): 1,000,000 customers with their phones into SQLite in at
most 2 minutes. Prints rows/s and total time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agentdesk.services.seeding.generator import SeedOptions, seed
from agentdesk.store import migrate
from agentdesk.store.engine import central_engine, sqlite_engine


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--interactions", type=float, default=2.0)
    parser.add_argument(
        "--postgres", action="store_true", help="seed a throwaway PostgreSQL instead"
    )
    args = parser.parse_args()
    options = SeedOptions(
        customers=args.customers, seed=1, interactions_per_customer=args.interactions
    )
    with tempfile.TemporaryDirectory() as tmp:
        if args.postgres:
            from tests.support.pgserver import running_server

            with running_server() as server:
                engine = central_engine(server.url(server.create_database()))
                return _run(engine, options, "PostgreSQL")
        return _run(sqlite_engine(Path(tmp) / "central.db"), options, "SQLite")


def _run(engine, options: SeedOptions, label: str) -> int:  # type: ignore[no-untyped-def]
    migrate.upgrade(engine)
    started = time.perf_counter()
    last = [started]

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 5 or done == total:
            last[0] = now
            print(f"  {done:>9,}/{total:,} customers, {done / (now - started):,.0f}/s", flush=True)

    report = seed(engine, options, progress)
    print(
        f"{label}: {report.customers:,} customers, {report.rows:,} rows in {report.seconds:.1f} s "
        f"= {report.rows_per_second:,.0f} rows/s, "
        f"{report.customers / report.seconds:,.0f} customers/s"
    )
    print("tables: " + ", ".join(f"{k}={v:,}" for k, v in report.tables.items()))
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
