"""SLA due work on 100k open tickets: the scheduler's "what is due before T", through the index.

    .venv/bin/python bench/sla.py [--tickets 100000] [--due-share 0.1] [--queries 300]
                                  [--postgres-url postgresql+psycopg://…]

Builds a migrated central store (embedded SQLite in a temp dir by default, or the given
PostgreSQL database), inserts the open tickets in Core batches with their clocks and the
indexed ``sla_next_due`` as the mutators keep it (a share already due, the rest spread over
the next 30 days, some paused while waiting for the customer), then times
``services.tickets.due.due_before`` as the scheduler's tick calls it: a page of 500 at a
moving instant, and a full drain of everything due in pages. Target (issue 12): a tick
finds what is due in ≤ 50 ms; RSS printed (peak, from getrusage).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, insert, text

from agentdesk.ids import uuid7
from agentdesk.models import Team, Ticket
from agentdesk.services.tickets.due import due_before
from agentdesk.store import migrate
from agentdesk.store.engine import central_engine, sqlite_engine
from agentdesk.store.mutators.tickets import ticket_number

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
BATCH = 5000
TARGET_MS = 50.0


def _rows(
    n: int, due_share: float, teams: list[uuid.UUID], rng: random.Random
) -> Iterator[dict[str, Any]]:
    for _ in range(n):
        tid = uuid7()
        late = rng.random() < due_share
        offset = -rng.uniform(0, 72 * 3600) if late else rng.uniform(60, 30 * 86400)
        first = NOW + dt.timedelta(seconds=offset)
        resolution = first + dt.timedelta(hours=rng.choice((4, 27, 45)))
        paused = rng.random() < 0.1
        yield {
            "id": tid,
            "number": ticket_number(tid),
            "reason": "general_enquiry",
            "title": "Bench ticket",
            "priority": rng.choice(("low", "normal", "high", "urgent")),
            "severity": "minor",
            "status": "pending" if paused else rng.choice(("new", "open")),
            "team_id": rng.choice(teams),
            "first_response_due": first,
            "resolution_due": resolution,
            "sla_paused_at": NOW - dt.timedelta(hours=1) if paused else None,
            "sla_next_due": None if paused else first,
            "escalation_level": 0,
            "version": 1,
            "created_at": NOW - dt.timedelta(days=1),
            "updated_at": NOW - dt.timedelta(days=1),
        }


def seed(engine: Engine, n: int, due_share: float) -> float:
    rng = random.Random(12)
    teams = [uuid7() for _ in range(6)]
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(insert(Team), [{"id": t, "name": f"Team {i}"} for i, t in enumerate(teams)])
    batch: list[dict[str, Any]] = []
    for row in _rows(n, due_share, teams, rng):
        batch.append(row)
        if len(batch) == BATCH:
            with engine.begin() as conn:
                conn.execute(insert(Ticket), batch)
            batch = []
    if batch:
        with engine.begin() as conn:
            conn.execute(insert(Ticket), batch)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE" if engine.dialect.name == "sqlite" else "ANALYZE ticket"))
    return time.perf_counter() - started


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def measure(engine: Engine, queries: int) -> dict[str, Any]:
    ticks: list[float] = []
    found = 0
    with engine.connect() as conn:
        for n in range(queries):
            when = NOW + dt.timedelta(minutes=n)  # the scheduler's clock moving on
            t0 = time.perf_counter()
            page = due_before(conn, when, limit=500)
            ticks.append((time.perf_counter() - t0) * 1000)
            found = len(page)
        t0 = time.perf_counter()
        drained, pages, after = 0, 0, None
        for _ in range(10_000):  # bounded: 10k pages of 1000 is far more than 100k tickets
            page = due_before(conn, NOW, limit=1000, after=after)
            if not page:
                break
            drained, pages, after = drained + len(page), pages + 1, page[-1].cursor
        drain_ms = (time.perf_counter() - t0) * 1000
    return {
        "ticks": ticks,
        "last_page": found,
        "drained": drained,
        "pages": pages,
        "drain_ms": drain_ms,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--due-share", type=float, default=0.1, help="share already due at T")
    parser.add_argument("--queries", type=int, default=300, help="scheduler ticks measured")
    parser.add_argument("--postgres-url", help="an empty PostgreSQL database (default: SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        engine = (
            central_engine(args.postgres_url)
            if args.postgres_url
            else sqlite_engine(Path(work) / "central.db")
        )
        migrate.upgrade(engine)
        seconds = seed(engine, args.tickets, args.due_share)
        result = measure(engine, args.queries)
        engine.dispose()
    ticks = result["ticks"]
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"store            {'PostgreSQL' if args.postgres_url else 'SQLite (embedded)'}")
    print(
        f"open tickets     {args.tickets:,} (seeded in {seconds:.1f} s), {args.due_share:.0%} due"
    )
    print(
        f"tick (500 due)   p50 {statistics.median(ticks):.2f} ms  p99 {pct(ticks, 99):.2f} ms"
        f"  max {max(ticks):.2f} ms  over {len(ticks)} ticks (target ≤ {TARGET_MS:.0f} ms)"
    )
    print(
        f"drain all due    {result['drained']:,} tickets in {result['pages']} pages of 1000,"
        f" {result['drain_ms']:.0f} ms"
    )
    print(f"RSS peak         {rss_mb:.0f} MB")
    print(f"box              {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    return 0 if pct(ticks, 99) <= TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
