"""Replication lag of the reports' hot standby: commit on the primary → visible on the standby.

Starts a real PostgreSQL primary and a streaming hot standby on loopback
(``tests/support/pgserver.py``), then commits ``--writes`` single-row
transactions on the primary — as a burst (back to back) and paced (one every
``--pace-ms``) — while one connection polls the standby for the highest row it
can see. A row's lag is the moment the poller first saw it minus the moment
its commit returned on the primary. Prints p50/p99/max per run, plus a
queue-record-sized burst (``queue_record`` rows as the CTI floor writes them,
``--batch`` per transaction). Last, the primary is restarted: how long it
takes to accept connections again, and for a row written then to reach the
standby (which reconnects to it by itself); and once more under a real server
(in process) that one client asks back to back for a primary read
(``/sync/identity``) and a report (``/supervisor/reports``, from the standby):
how many requests failed, and how soon after the restart they succeed again.

Both servers run with ``fsync`` off (the test servers' ``-F``) and the default
asynchronous streaming (``synchronous_commit = on``, no synchronous standby):
the figures are the replay pipeline's, not a disk's.

    .venv/bin/python bench/standby_lag.py [--writes 2000] [--pace-ms 5] [--batch 50]
"""

from __future__ import annotations

import argparse
import collections
import logging
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests package holds fixtures

import httpx
import psycopg

from tests.support.pgserver import PostgresServer, running_pair

POLL_TIMEOUT_S = 60.0


def _poll(standby_dsn: str, last: int, seen: dict[int, float], ready: threading.Event) -> None:
    """Record when each id first became visible on the standby (ids are committed in order)."""
    with psycopg.connect(standby_dsn, autocommit=True) as conn:
        ready.set()
        upto = 0
        deadline = time.monotonic() + POLL_TIMEOUT_S
        while upto < last and time.monotonic() < deadline:
            row = conn.execute("SELECT coalesce(max(id), 0) FROM lag_probe").fetchone()
            now = time.perf_counter()
            top = int(row[0]) if row else 0
            for i in range(upto + 1, top + 1):
                seen[i] = now
            upto = max(upto, top)


def run(primary: PostgresServer, standby: PostgresServer, db: str, *, writes: int,
        pace_s: float, batch: int, first: int) -> list[float]:  # fmt: skip
    """Lags (ms) of ``writes`` transactions of ``batch`` rows each, ids from ``first``."""
    last = first + writes * batch - 1
    seen: dict[int, float] = {}
    committed: dict[int, float] = {}
    ready = threading.Event()
    poller = threading.Thread(target=_poll, args=(standby.dsn(db), last, seen, ready))
    poller.start()
    ready.wait(10)
    with psycopg.connect(primary.dsn(db), autocommit=True) as conn:
        next_id = first
        for _ in range(writes):
            ids = list(range(next_id, next_id + batch))
            with conn.transaction():
                conn.cursor().executemany(
                    "INSERT INTO lag_probe (id, site, payload) VALUES (%s, 'lab', %s)",
                    [(i, "ENTERQUEUE|cards|+447700900123|1" * 3) for i in ids],
                )
            committed[ids[-1]] = time.perf_counter()
            next_id += batch
            if pace_s:
                time.sleep(pace_s)
    poller.join(POLL_TIMEOUT_S + 5)
    missing = [i for i in committed if i not in seen]
    if missing:
        raise SystemExit(f"{len(missing)} transaction(s) never became visible on the standby")
    return [(seen[i] - committed[i]) * 1000 for i in committed]


def _show(name: str, lags: list[float], seconds: float, rows: int) -> None:
    cuts = statistics.quantiles(lags, n=100, method="inclusive")
    print(f"{name:<34} n={len(lags):>5}  p50 {cuts[49]:7.2f} ms  p99 {cuts[98]:7.2f} ms  "
          f"max {max(lags):7.2f} ms  ({rows / seconds:,.0f} rows/s written)")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--pace-ms", type=float, default=5.0)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    with running_pair() as (primary, standby):
        db = primary.create_database("lag")
        with psycopg.connect(primary.dsn(db), autocommit=True) as conn:
            conn.execute("CREATE TABLE lag_probe (id bigint PRIMARY KEY, site text, payload text)")
        standby.caught_up(primary)
        print(f"PostgreSQL primary :{primary.port} -> hot standby :{standby.port} (loopback)")
        first = 1
        quarter, pace_s = args.writes // 4, args.pace_ms / 1000
        for name, writes, pace, batch in (
            ("burst, 1 row per commit", args.writes, 0.0, 1),
            (f"paced {args.pace_ms:g} ms, 1 row per commit", quarter, pace_s, 1),
            (f"burst, {args.batch} rows per commit", quarter, 0.0, args.batch),
        ):
            began = time.perf_counter()
            lags = run(primary, standby, db, writes=writes, pace_s=pace, batch=batch, first=first)
            _show(name, lags, time.perf_counter() - began, writes * batch)
            first += writes * batch
        _restart(primary, standby, db, first)
        _server_through_restart(primary, standby)
    return 0


def _restart(primary: PostgresServer, standby: PostgresServer, db: str, first: int) -> None:
    """Restart the primary: how long until a row written after it is on the standby."""
    began = time.perf_counter()
    primary.restart()
    up = time.perf_counter()
    with psycopg.connect(primary.dsn(db), autocommit=True) as conn:
        conn.execute("INSERT INTO lag_probe (id, site, payload) VALUES (%s, 'lab', '')", (first,))
    waited = standby.caught_up(primary)
    print(f"primary restart (pg_ctl stop -m fast; start -w): accepting again after "
          f"{(up - began) * 1000:.0f} ms; a row written then visible on the standby "
          f"{waited * 1000:.0f} ms later")  # fmt: skip


def _server_through_restart(primary: PostgresServer, standby: PostgresServer) -> None:
    """A real server (in process) asked twice a request by a client while the primary restarts."""
    from sqlalchemy import update

    from agentdesk.models import Agent, Role
    from agentdesk.server.app import build_context, create_app
    from agentdesk.server.run import ServerThread
    from agentdesk.server.settings import ListenSettings, ServerSettings
    from agentdesk.services.platform.auth import hash_password
    from agentdesk.store import migrate
    from agentdesk.store.engine import central_engine, write_session
    from agentdesk.store.standby import standby_engine
    from tests.sync.factories import REF, seed_reference

    logging.getLogger("agentdesk").setLevel(logging.ERROR)  # the 503s' warnings are counted below
    db = primary.create_database("server")
    engine = central_engine(primary.url(db))
    migrate.upgrade(engine)
    seed_reference(engine)
    with write_session(engine) as s:
        s.execute(update(Agent).values(password_hash=hash_password("pw")))
        s.execute(update(Agent).where(Agent.id == REF.alice).values(role=Role.ADMIN))
    standby.caught_up(primary)
    ctx = build_context(engine, ServerSettings(), standby=standby_engine(standby.url(db)))
    thread = ServerThread(create_app(ctx), ListenSettings(host="127.0.0.1", port=0))
    url = thread.start()
    outcomes: dict[str, list[tuple[float, int]]] = {"sync/identity": [], "supervisor/reports": []}
    stop = threading.Event()
    with httpx.Client(base_url=url + "/api/v1", timeout=10) as http:
        token = http.post("/session", json={"login": "alice", "password": "pw"}).json()["token"]
        http.headers["Authorization"] = f"Bearer {token}"
        report = {"start": "2026-12-01", "end": "2026-12-02", "interval": "day", "tz": "UTC"}

        def ask() -> None:
            while not stop.is_set():
                for path, params in (("sync/identity", {}), ("supervisor/reports", report)):
                    try:
                        status = http.get("/" + path, params=params).status_code
                    except httpx.TransportError:
                        status = 0
                    outcomes[path].append((time.perf_counter(), status))

        asker = threading.Thread(target=ask)
        asker.start()
        time.sleep(1.0)
        began = time.perf_counter()
        primary.restart()
        back = time.perf_counter()
        time.sleep(1.0)
        stop.set()
        asker.join(30)
    thread.stop()
    engine.dispose()
    print(f"a server through that restart ({(back - began) * 1000:.0f} ms down), "
          "one client asking back to back:")  # fmt: skip
    for path, seen in outcomes.items():
        failed = collections.Counter(status for _, status in seen if status != 200)
        after = [at for at, status in seen if status == 200 and at > back]
        first_ok = (after[0] - back) * 1000 if after else float("nan")
        print(f"  {path:<20} {len(seen):>5} requests, {sum(failed.values())} failed "
              f"{dict(failed) or ''}; first success {first_ok:.0f} ms after the primary "
              "accepted again")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
