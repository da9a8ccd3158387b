"""Sync figures on this machine, against a throwaway PostgreSQL 15 (and the embedded SQLite centre).

1. initial fill of a ~100k-row working set into an encrypted cache (target <= 5 s);
2. change on one desktop visible on another: p50/p99 latency (targets 250 ms / 1 s);
3. pushing a backlog of 10,000 offline writes, then another desktop pulling them;
4. with ``--soak N``: N rounds of the process-level chaos test (kill -9, PostgreSQL restarts).

Run: .venv/bin/python bench/sync.py [--customers 10000] [--changes 200] [--backlog 10000] [--soak 0]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests package holds the fixtures

from sqlalchemy import Engine, insert

from agentdesk.ids import uuid7
from agentdesk.models import (
    Customer,
    CustomerAddress,
    CustomerEmail,
    CustomerPhone,
    Interaction,
    Ticket,
    TicketHistory,
)
from agentdesk.store import migrate
from agentdesk.store.engine import central_engine, encrypted_sqlite_engine, sqlite_engine
from agentdesk.store.mutators.tickets import ticket_number
from agentdesk.store.sync import CentralStore, Syncer, SyncScope, SyncSettings
from agentdesk.store.sync.engine import SyncEngine
from agentdesk.store.sync.local import LocalStore
from agentdesk.store.writer import LocalWriter
from tests.support.pgserver import running_server
from tests.sync.factories import REF, seed_reference

TEAM = SyncScope(team_ids=frozenset({REF.team_a}), agent_id=REF.bob)
KEY = "66" * 32


def seed_working_set(engine: Engine, customers: int) -> int:
    """Customers with a phone, e-mail and address, one team ticket with history, 3 calls each."""
    now = dt.datetime.now(dt.UTC)
    rows = 0
    batch = 2000
    for start in range(0, customers, batch):
        n = min(batch, customers - start)
        cust = [
            {
                "id": uuid7(),
                "kind": "person",
                "given_name": f"Given{start + i}",
                "family_name": f"Family{start + i}",
                "display_name": f"Given{start + i} Family{start + i}",
                "segment": "retail",
                "preferred_language": "en",
                "preferred_channel": "phone",
                "marketing_opt_out": False,
                "vulnerable": False,
                "legal_hold": False,
                "home_region": "GB",
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(n)
        ]
        ids = [c["id"] for c in cust]
        tickets = [
            {
                "id": uuid7(),
                "customer_id": cid,
                "reason": "card_lost",
                "title": "Lost card",
                "priority": "normal",
                "severity": "minor",
                "status": "open",
                "team_id": REF.team_a,
                "escalation_level": 0,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
            for cid in ids
        ]
        for t in tickets:
            t["number"] = ticket_number(t["id"])
        with engine.begin() as conn:
            conn.execute(insert(Customer), cust)
            conn.execute(
                insert(CustomerPhone),
                [
                    {
                        "id": uuid7(),
                        "customer_id": cid,
                        "label": "mobile",
                        "number_raw": f"07700 9{k:05d}",
                        "e164": f"+4477009{k:05d}",
                        "is_primary": True,
                        "created_at": now,
                    }
                    for k, cid in enumerate(ids, start)
                ],
            )
            conn.execute(
                insert(CustomerEmail),
                [
                    {
                        "id": uuid7(),
                        "customer_id": cid,
                        "label": "personal",
                        "address": f"c{k}@example.org",
                        "address_norm": f"c{k}@example.org",
                        "is_primary": True,
                        "created_at": now,
                    }
                    for k, cid in enumerate(ids, start)
                ],
            )
            conn.execute(
                insert(CustomerAddress),
                [
                    {
                        "id": uuid7(),
                        "customer_id": cid,
                        "label": "home",
                        "line1": f"{k} High Street",
                        "city": "London",
                        "country": "GB",
                        "created_at": now,
                    }
                    for k, cid in enumerate(ids, start)
                ],
            )
            conn.execute(insert(Ticket), tickets)
            conn.execute(
                insert(TicketHistory),
                [
                    {
                        "id": uuid7(),
                        "ticket_id": t["id"],
                        "field": "created",
                        "new_value": t["number"],
                        "changed_by": "seed",
                        "changed_at": now,
                    }
                    for t in tickets
                ],
            )
            conn.execute(
                insert(Interaction),
                [
                    {
                        "id": uuid7(),
                        "customer_id": cid,
                        "channel": "phone",
                        "direction": "inbound",
                        "started_at": now - dt.timedelta(days=j * 7),
                        "agent_id": REF.bob,
                        "created_at": now,
                    }
                    for cid in ids
                    for j in range(3)
                ],
            )
        rows += n * 9
    return rows


def fresh_cache(work: Path, name: str) -> Engine:
    engine = encrypted_sqlite_engine(work / f"{name}.db", KEY)
    migrate.upgrade(engine)
    return engine


def bench_fill(central: Engine, work: Path, customers: int) -> None:
    rows = seed_working_set(central, customers)
    cache = fresh_cache(work, "fill")
    syncer = Syncer(LocalStore(cache), CentralStore(central), TEAM, "bob")
    started = time.perf_counter()
    counts = syncer.fill()
    took = time.perf_counter() - started
    total = sum(v for k, v in counts.items() if k != "reference")
    print(
        f"initial fill: {total:,} rows ({rows:,} seeded) into an encrypted cache in {took:.2f} s "
        f"({total / took:,.0f} rows/s; target <= 5 s for 100k)"
    )
    cache.dispose()


def bench_latency(central_url: str | Engine, work: Path, changes: int, label: str) -> None:
    settings = SyncSettings(poll_interval=30.0)
    desks = []
    for login in ("alice", "bob"):
        cache = fresh_cache(work, f"lat-{label}-{login}")
        engine = SyncEngine(cache, central_url, agent_login=login, scope=TEAM, settings=settings)
        writer = LocalWriter(cache, login)
        writer.add_listener(engine.on_local_write)
        engine.start()
        engine.wait_for(lambda s: s.last_sync_at is not None, 120)
        desks.append((cache, engine, writer))
    (_, _, alice_writer), (_, bob, _) = desks
    arrived: dict[uuid.UUID, float] = {}
    events: dict[uuid.UUID, threading.Event] = {}

    def on_changes(changed: tuple[tuple[str, uuid.UUID], ...]) -> None:
        now = time.perf_counter()
        for kind, ident in changed:
            if kind == "ticket_comment" and ident in events:
                arrived.setdefault(ident, now)
                events[ident].set()

    bob.add_change_listener(on_changes)
    ticket_id = uuid7()
    alice_writer.write(
        "ticket.create",
        {"id": ticket_id, "reason": "bench", "title": "Latency", "team_id": REF.team_a},
    )
    latencies = []
    for _ in range(changes):
        comment = uuid7()
        events[comment] = threading.Event()
        sent = time.perf_counter()
        alice_writer.write(
            "ticket.comment", {"id": comment, "ticket_id": ticket_id, "body": "ping"}
        )
        if events[comment].wait(10):
            latencies.append((arrived[comment] - sent) * 1000)
        time.sleep(0.02)  # an agent does not type 1000 comments a second
    lost = changes - len(latencies)
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    print(
        f"desktop-to-desktop latency ({label}, {len(latencies)} changes, {lost} not seen in 10 s): "
        f"p50 {statistics.median(latencies):.0f} ms, p99 {q[98]:.0f} ms, "
        f"max {max(latencies):.0f} ms "
        f"(targets 250 ms / 1 s)"
    )
    for cache, engine, _ in desks:
        engine.stop()
        cache.dispose()


def bench_backlog(central: Engine, work: Path, backlog: int) -> None:
    cache = fresh_cache(work, "backlog")
    centre = CentralStore(central)
    syncer = Syncer(LocalStore(cache), centre, TEAM, "alice")
    syncer.ensure_filled()
    writer = LocalWriter(cache, "alice")
    ticket_id = uuid7()
    writer.write(
        "ticket.create",
        {"id": ticket_id, "reason": "bench", "title": "Backlog", "team_id": REF.team_a},
    )
    started = time.perf_counter()
    for i in range(backlog - 1):
        if i % 5 == 0:
            writer.write(
                "ticket.update", {"id": ticket_id, "changes": {"priority": ("low", "high")[i % 2]}}
            )
        else:
            writer.write(
                "ticket.comment", {"id": uuid7(), "ticket_id": ticket_id, "body": f"offline {i}"}
            )
    wrote = time.perf_counter() - started
    reader_cache = fresh_cache(work, "backlog-reader")
    reader = Syncer(LocalStore(reader_cache), centre, TEAM, "bob")
    reader.ensure_filled()
    started = time.perf_counter()
    pushed, rejected = syncer.push_all()
    syncer.refresh()
    push_took = time.perf_counter() - started
    started = time.perf_counter()
    reader.pull_all()
    pull_took = time.perf_counter() - started
    print(
        f"offline backlog: {backlog:,} local writes in {wrote:.1f} s; pushed {pushed:,} "
        f"({rejected} rejected) in {push_took:.1f} s ({pushed / push_took:,.0f}/s); "
        f"another desktop pulled them in {pull_took:.1f} s"
    )
    reader_cache.dispose()
    cache.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=11_200, help="~9 rows per customer")
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--backlog", type=int, default=10_000)
    parser.add_argument("--soak", type=int, default=0, help="chaos rounds (0: skip)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="agentdesk-bench-sync-"))
    with running_server() as pg:
        url = pg.url(pg.create_database())
        central = central_engine(url)
        migrate.upgrade(central)
        seed_reference(central)
        bench_fill(central, work, args.customers)
        bench_latency(url, work, args.changes, "PostgreSQL")
        bench_backlog(central, work, args.backlog)
        if args.soak:
            from tests.sync.chaos import run_chaos

            soak_url = pg.url(pg.create_database())
            soak = central_engine(soak_url)
            migrate.upgrade(soak)
            seed_reference(soak)
            started = time.perf_counter()
            report = run_chaos(soak, soak_url, work, args.soak, pg.stop, pg.start, seed=11)
            print(f"chaos soak: {report} in {time.perf_counter() - started:.0f} s")
            soak.dispose()
        central.dispose()
    lite = sqlite_engine(work / "central.db")
    migrate.upgrade(lite)
    seed_reference(lite)
    bench_latency(lite, work, min(args.changes, 100), "embedded SQLite")
    lite.dispose()


if __name__ == "__main__":
    main()
