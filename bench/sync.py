"""Sync figures through ``agentdesk server`` on this machine, over a throwaway PostgreSQL 15.

Desktops speak only to the server (``ServerApi`` + ``HttpCentral`` over an
encrypted cache), which runs as its own process (``agentdesk server --port 0``):

1. initial fill of a ~100k-row working set through the server (target <= 5 s);
2. change on one desktop visible on another, through push -> NOTIFY -> WebSocket
   poke -> pull (targets p50 <= 100 ms, p99 <= 500 ms);
3. 10,000 writes made offline, pushed when the server is back, then pulled by another desktop;
4. with ``--sqlite``: the latency run again with the server over the embedded store.

Run: .venv/bin/python bench/sync.py [--customers 11200] [--changes 300] [--backlog 10000] [--sqlite]
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests package holds the fixtures

from sqlalchemy import Engine, insert

from agentdesk.client.api import ServerApi
from agentdesk.client.central import HttpCentral
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
from agentdesk.store.engine import central_engine, encrypted_sqlite_engine
from agentdesk.store.mutators.tickets import ticket_number
from agentdesk.store.sync import Syncer, SyncScope, SyncSettings
from agentdesk.store.sync.engine import SyncEngine
from agentdesk.store.sync.local import LocalStore
from agentdesk.store.sync.protocol import SyncError
from agentdesk.store.writer import LocalWriter
from bench._server import (
    PASSWORD,
    ServerProcess,
    add_agents,
    free_port,
    set_reference_passwords,
    start_server,
)
from tests.support.pgserver import running_server
from tests.sync.factories import REF, seed_reference

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


@dataclass
class Desk:
    """A desktop as the server sees it: a session, a cache, a syncer over ``HttpCentral``."""

    login: str
    api: ServerApi
    cache: Engine
    scope: SyncScope
    syncer: Syncer

    def close(self) -> None:
        self.api.close()
        self.cache.dispose()


def desk(url: str, work: Path, login: str, name: str) -> Desk:
    api = ServerApi(url)
    grant = api.sign_in(login, PASSWORD, f"bench-{name}")
    scope = SyncScope(
        team_ids=grant.team_ids, agent_id=grant.agent_id, full_replica=grant.full_replica
    )
    cache = fresh_cache(work, name)
    central = HttpCentral(api)
    syncer = Syncer(LocalStore(cache), central, scope, login)
    central.client_id = syncer.client_id
    return Desk(login, api, cache, scope, syncer)


def bench_fill(url: str, work: Path, login: str, rows: int) -> None:
    d = desk(url, work, login, "fill")
    started = time.perf_counter()
    counts = d.syncer.fill()
    took = time.perf_counter() - started
    total = sum(v for k, v in counts.items() if k != "reference")
    print(
        f"initial fill through the server: {total:,} rows ({rows:,} seeded) into an encrypted "
        f"cache in {took:.2f} s ({total / took:,.0f} rows/s; target <= 5 s for 100k)",
        flush=True,
    )
    d.close()


def bench_latency(url: str, work: Path, logins: tuple[str, str], changes: int, label: str) -> None:
    settings = SyncSettings(poll_interval=30.0)  # only pokes and local writes drive a cycle
    desks = []
    for n, login in enumerate(logins):
        d = desk(url, work, login, f"lat-{label}-{n}")
        central = HttpCentral(d.api)
        engine = SyncEngine(d.cache, central, agent_login=login, scope=d.scope, settings=settings)
        central.client_id = engine.client_id
        writer = LocalWriter(d.cache, login)
        writer.add_listener(engine.on_local_write)
        engine.start()
        if not engine.wait_for(lambda s: s.last_sync_at is not None, 120):
            raise RuntimeError(f"desktop {n} never finished its first sync")
        desks.append((d, engine, writer))
    (_, _, writer_a), (_, reader, _) = desks
    # Let both live links connect before timing (the first poke after a connect is free).
    time.sleep(1.0)
    arrived: dict[uuid.UUID, float] = {}
    events: dict[uuid.UUID, threading.Event] = {}

    def on_changes(changed: tuple[tuple[str, uuid.UUID], ...]) -> None:
        now = time.perf_counter()
        for kind, ident in changed:
            if kind == "ticket_comment" and ident in events:
                arrived.setdefault(ident, now)
                events[ident].set()

    reader.add_change_listener(on_changes)
    ticket_id = uuid7()
    team = next(iter(desks[0][0].scope.team_ids))
    writer_a.write(
        "ticket.create", {"id": ticket_id, "reason": "bench", "title": "Latency", "team_id": team}
    )
    time.sleep(0.5)
    latencies = []
    for _ in range(changes):
        comment = uuid7()
        events[comment] = threading.Event()
        sent = time.perf_counter()
        writer_a.write("ticket.comment", {"id": comment, "ticket_id": ticket_id, "body": "ping"})
        if events[comment].wait(10):
            latencies.append((arrived[comment] - sent) * 1000)
        time.sleep(0.05)  # an agent does not type 1000 comments a second
    lost = changes - len(latencies)
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    print(
        f"desktop-to-desktop through the server ({label}, {len(latencies)} changes, "
        f"{lost} not seen in 10 s): p50 {statistics.median(latencies):.0f} ms, "
        f"p90 {q[89]:.0f} ms, p99 {q[98]:.0f} ms, max {max(latencies):.0f} ms "
        f"(targets p50 <= 100 ms, p99 <= 500 ms)",
        flush=True,
    )
    for d, engine, _ in desks:
        engine.stop()
        d.close()


def bench_backlog(
    server: ServerProcess,
    restart: Callable[[], ServerProcess],
    work: Path,
    logins: tuple[str, str],
    backlog: int,
) -> ServerProcess:
    writer_desk = desk(server.url, work, logins[0], "backlog")
    writer_desk.syncer.ensure_filled()
    reader_desk = desk(server.url, work, logins[1], "backlog-reader")
    reader_desk.syncer.ensure_filled()
    team = next(iter(writer_desk.scope.team_ids))
    server.stop()  # the server goes away; the agent keeps working from the cache
    writer = LocalWriter(writer_desk.cache, writer_desk.login)
    ticket_id = uuid7()
    writer.write(
        "ticket.create", {"id": ticket_id, "reason": "bench", "title": "Backlog", "team_id": team}
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
    try:
        writer_desk.syncer.push_all()
    except SyncError as exc:
        print(f"  (while the server is down a push fails: {type(exc).__name__})", flush=True)
    server = restart()  # same port: the desktops' sessions live in the database and still hold
    started = time.perf_counter()
    pushed = rejected = retries = 0
    for _ in range(30):  # as the sync engine would: a timed-out batch is simply sent again
        try:
            done, bad = writer_desk.syncer.push_all()
        except SyncError as exc:
            retries += 1
            print(f"  (push retried after {type(exc).__name__}: {exc})", flush=True)
            time.sleep(1.0)
            continue
        pushed, rejected = pushed + done, rejected + bad
        break
    pushed = backlog - writer_desk.syncer.local.outbox_counts()[0]
    writer_desk.syncer.refresh()
    push_took = time.perf_counter() - started
    started = time.perf_counter()
    reader_desk.syncer.pull_all()
    pull_took = time.perf_counter() - started
    print(
        f"offline backlog: {backlog:,} local writes in {wrote:.1f} s while the server was down; "
        f"pushed {pushed:,} ({rejected} rejected, {retries} retried batches) through the server "
        f"in {push_took:.1f} s "
        f"({pushed / push_took:,.0f}/s); another desktop pulled them in {pull_took:.1f} s",
        flush=True,
    )
    writer_desk.close()
    reader_desk.close()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=11_200, help="~9 rows per customer")
    parser.add_argument("--changes", type=int, default=300)
    parser.add_argument("--backlog", type=int, default=10_000)
    parser.add_argument("--sqlite", action="store_true", help="also over the embedded store")
    args = parser.parse_args()
    # A TERM ends the bench through its finally blocks: the server and PostgreSQL stop too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="agentdesk-bench-sync-"))
    with running_server() as pg:
        url = pg.url(pg.create_database())
        central = central_engine(url)
        migrate.upgrade(central)
        seed_reference(central)
        set_reference_passwords(central)
        logins = add_agents(central, "desk", 4)
        rows = seed_working_set(central, args.customers)
        central.dispose()
        port = free_port()
        server = start_server(url, work, port=port)
        try:
            bench_fill(server.url, work, logins[0], rows)
            bench_latency(server.url, work, (logins[0], logins[1]), args.changes, "PostgreSQL")
            server = bench_backlog(
                server,
                lambda: start_server(url, work, port=port),
                work,
                (logins[2], logins[3]),
                args.backlog,
            )
        finally:
            server.stop()
    if args.sqlite:
        lite_url = f"sqlite:///{work / 'central.db'}"
        lite = central_engine(lite_url)
        migrate.upgrade(lite)
        seed_reference(lite)
        set_reference_passwords(lite)
        logins = add_agents(lite, "desk", 2)
        lite.dispose()
        server = start_server(lite_url, work)
        try:
            bench_latency(
                server.url, work, (logins[0], logins[1]), min(args.changes, 100), "embedded SQLite"
            )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
