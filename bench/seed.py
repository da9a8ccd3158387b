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
import resource
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
            _run(engine, options, "PostgreSQL", args.workers, _postmaster_pid(server.data_dir))
    return 0


def _postmaster_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _process_cpu(pid: int | None) -> float:
    """CPU seconds of a PostgreSQL server: the postmaster, its live and its exited children."""
    if pid is None:
        return 0.0
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ppid, utime, stime, cutime, cstime = (int(fields[i]) for i in (1, 11, 12, 13, 14))
        if int(entry.name) == pid:
            total += (utime + stime + cutime + cstime) / tick
        elif ppid == pid:
            total += (utime + stime) / tick
    return total


def _own_cpu() -> float:
    """CPU seconds of this process and its reaped children (the seeding workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min)"


def _run(
    engine: Engine,
    options: SeedOptions,
    label: str,
    workers: int | None,
    server_pid: int | None = None,
) -> SeedReport:
    migrate.upgrade(engine)
    cpu_before, server_before = _own_cpu(), _process_cpu(server_pid)
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
    cpu = _own_cpu() - cpu_before
    server_cpu = _process_cpu(server_pid) - server_before
    with engine.connect() as conn:
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}
    print(
        f"{label}: {report.customers:,} customers, {report.rows:,} rows in "
        f"{report.seconds:.1f} s = {report.rows_per_second:,.0f} rows/s "
        f"({report.customers / report.seconds:,.0f} customers/s); load after: {_load()}"
    )
    print("  phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in report.phases.items()))
    print(
        f"  CPU: {cpu:.1f} s in agentdesk processes"
        + (f", {server_cpu:.1f} s in the PostgreSQL server" if server_pid else "")
        + f" (the box has {os.cpu_count()} cores for {report.seconds:.1f} s of wall time)"
    )
    print("  rows: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()), flush=True)
    engine.dispose()
    return report


if __name__ == "__main__":
    sys.exit(main())
