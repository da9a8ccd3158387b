"""SLA due work on 100k open tickets: the scheduler's "what is due before T", through the index.

    .venv/bin/python bench/sla.py [--tickets 100000] [--due-share 0.1] [--queries 300]
                                  [--postgres-url postgresql+psycopg://…]

Builds a migrated central store (embedded SQLite in a temp dir by default, or the given
PostgreSQL database), inserts the open tickets in Core batches with their clocks and the
indexed ``sla_next_due`` as the mutators keep it (a share already due, the rest spread over
the next 30 days, some paused while waiting for the customer) and one unfired escalation
timer per running clock, then times what the scheduler's work asks at a moving instant:

* ``tick (timers)``: the leader's tick, ``TimerRunner.due`` — the unfired timers due now,
  200 at most (the default batch), on the partial index of ``scheduled_timer``;
* ``tick (due keys)``: ``services.tickets.due.due_keys``, a page of 500 ``(due, id)``
  read from the index ``(sla_next_due, id)`` alone (the escalation sweep's query);
* ``rows page``: ``due_before``, the same 500 with every clock and field (lists, tools),
  printed for comparison, not the tick;
* a full drain of everything due in pages of 1000 keys.

Target (issue 12): a tick finds what is due in ≤ 50 ms at p99; RSS printed (peak, from
getrusage). The exit status is 0 when both tick figures meet it.
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
from agentdesk.models import ScheduledTimer, Team, Ticket
from agentdesk.server.scheduler.clock import ManualClock
from agentdesk.server.scheduler.lease import LeaderLease
from agentdesk.server.scheduler.timers import TimerRunner
from agentdesk.services.tickets.due import due_before, due_keys
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

    def flush() -> None:
        timers = [
            {
                "id": uuid7(),
                "kind": "sla.escalation",
                "subject": f"{row['id']}:1",
                "due_at": row["sla_next_due"],
                "payload": {"level": 1},
                "attempts": 0,
            }
            for row in batch
            if row["sla_next_due"] is not None
        ]
        with engine.begin() as conn:
            conn.execute(insert(Ticket), batch)
            conn.execute(insert(ScheduledTimer), timers)
        batch.clear()

    for row in _rows(n, due_share, teams, rng):
        batch.append(row)
        if len(batch) == BATCH:
            flush()
    if batch:
        flush()
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("ANALYZE ticket"))
            conn.execute(text("ANALYZE scheduled_timer"))
    return time.perf_counter() - started


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def measure(engine: Engine, queries: int) -> dict[str, Any]:
    timer_ticks: list[float] = []
    key_ticks: list[float] = []
    row_pages: list[float] = []
    found = 0
    runner = TimerRunner(
        engine, LeaderLease(engine, "bench", "bench", clock=ManualClock(NOW)), ManualClock(NOW)
    )
    for n in range(queries):
        when = NOW + dt.timedelta(minutes=n)  # the scheduler's clock moving on
        t0 = time.perf_counter()
        due_timers = runner.due(when, 200)
        timer_ticks.append((time.perf_counter() - t0) * 1000)
        found = len(due_timers)
    with engine.connect() as conn:
        for n in range(queries):
            when = NOW + dt.timedelta(minutes=n)
            t0 = time.perf_counter()
            keys = due_keys(conn, when, limit=500)
            key_ticks.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            due_before(conn, when, limit=500)
            row_pages.append((time.perf_counter() - t0) * 1000)
            found = min(found, len(keys))
        t0 = time.perf_counter()
        drained, pages = 0, 0
        after: tuple[dt.datetime, uuid.UUID] | None = None
        for _ in range(10_000):  # bounded: 10k pages of 1000 is far more than 100k tickets
            page = due_keys(conn, NOW, limit=1000, after=after)
            if not page:
                break
            drained, pages, after = drained + len(page), pages + 1, page[-1]
        drain_ms = (time.perf_counter() - t0) * 1000
    return {
        "timer_ticks": timer_ticks,
        "key_ticks": key_ticks,
        "row_pages": row_pages,
        "last_page": found,
        "drained": drained,
        "pages": pages,
        "drain_ms": drain_ms,
    }


def line(name: str, values: list[float], target: bool = True) -> str:
    goal = f" (target ≤ {TARGET_MS:.0f} ms)" if target else ""
    return (
        f"{name:<17}p50 {statistics.median(values):.2f} ms  p99 {pct(values, 99):.2f} ms"
        f"  max {max(values):.2f} ms  over {len(values)} queries{goal}"
    )


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
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"store            {'PostgreSQL' if args.postgres_url else 'SQLite (embedded)'}")
    print(
        f"open tickets     {args.tickets:,} (seeded in {seconds:.1f} s), {args.due_share:.0%} due,"
        " one escalation timer per running clock"
    )
    print(line("tick (timers)", result["timer_ticks"]) + " — 200 due timers a tick")
    print(line("tick (due keys)", result["key_ticks"]) + " — 500 keys a page")
    print(line("rows page", result["row_pages"], target=False) + " — 500 full rows, for lists")
    print(
        f"drain all due    {result['drained']:,} tickets in {result['pages']} pages of 1000 keys,"
        f" {result['drain_ms']:.0f} ms"
    )
    print(f"RSS peak         {rss_mb:.0f} MB")
    print(f"box              {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    met = all(pct(result[k], 99) <= TARGET_MS for k in ("timer_ticks", "key_ticks"))
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
