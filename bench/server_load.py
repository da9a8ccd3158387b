"""500 simulated desktops against one ``agentdesk server`` process, over a throwaway PostgreSQL 15.

Each desktop is a protocol client (no Qt): its own session, its own client id,
its WebSocket open for pokes, and a realistic mix for a bounded time:

* every poke: pull the feed until it is drained (one pull in flight per desktop);
* every ``--call-every`` seconds (jittered): a call arrives -> match the caller's number
  (screen pop), half the time a search by name, then the wrap-up interaction is pushed.

Latency is timed on the client per endpoint (p50/p95/p99, target p99 <= 50 ms);
errors are counted; the server's CPU and RSS come from ``/proc/<pid>``. The
server runs as its own process (``agentdesk server --port 0``) on loopback.

Run: .venv/bin/python bench/server_load.py [--desktops 500] [--seconds 60] [--call-every 60]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests package holds fixtures

import httpx
import websockets

from agentdesk.store import migrate
from agentdesk.store.engine import central_engine
from bench._server import PASSWORD, ServerProcess, add_agents, start_server
from bench.sync import seed_working_set
from tests.support.pgserver import running_server
from tests.sync.factories import seed_reference

API = "/api/v1"


@dataclass
class Stats:
    """Client-side timings per endpoint, errors by kind."""

    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    pokes: int = 0
    rows_pulled: int = 0
    ws_connected: int = 0
    propagation: list[float] = field(default_factory=list)

    def error(self, what: str) -> None:
        self.errors[what] += 1


@dataclass
class Desktop:
    login: str
    token: str
    agent_id: str
    http: httpx.AsyncClient
    client_id: uuid.UUID = field(default_factory=uuid.uuid4)
    cursor: str = ""
    seq: int = 0
    poked: asyncio.Event = field(default_factory=asyncio.Event)


class Fleet:
    def __init__(self, url: str, stats: Stats, customers: int, deadline: float) -> None:
        self.url = url
        self.ws_url = url.replace("http://", "ws://", 1) + API + "/live"
        self.stats = stats
        self.customers = customers
        self.deadline = deadline
        # Pushed interaction id -> time pushed, to time push -> poke -> pull on others.
        self.pushed_at: dict[str, float] = {}
        self.seen: set[str] = set()

    async def call(
        self, endpoint: str, method: str, path: str, desk: Desktop, **kw: object
    ) -> object:
        started = time.perf_counter()
        try:
            response = await desk.http.request(
                method,
                path,
                headers={"Authorization": f"Bearer {desk.token}"},
                **kw,  # type: ignore[arg-type]
            )
        except httpx.HTTPError as exc:
            self.stats.error(f"{endpoint}: {type(exc).__name__}")
            return None
        self.stats.latency[endpoint].append((time.perf_counter() - started) * 1000)
        if response.status_code >= 400:
            self.stats.error(f"{endpoint}: HTTP {response.status_code}")
            return None
        return response.json()

    # --- one desktop -----------------------------------------------------------------------

    async def live(self, desk: Desktop) -> None:
        """Keep the WebSocket open; every poke sets the desktop's event."""
        while time.monotonic() < self.deadline:
            try:
                async with websockets.connect(
                    # Named like a desktop does, so the server pokes it only for its changes.
                    f"{self.ws_url}?client_id={desk.client_id}",
                    additional_headers={"Authorization": f"Bearer {desk.token}"},
                    open_timeout=30,
                    ping_interval=None,
                ) as ws:
                    self.stats.ws_connected += 1
                    while time.monotonic() < self.deadline:
                        left = self.deadline - time.monotonic()
                        try:
                            text = await asyncio.wait_for(ws.recv(), max(0.1, left))
                        except TimeoutError:
                            break
                        if json.loads(text).get("type") == "poke":
                            self.stats.pokes += 1
                            desk.poked.set()
                    return
            except (OSError, websockets.WebSocketException, TimeoutError) as exc:
                self.stats.error(f"live: {type(exc).__name__}")
                await asyncio.sleep(1.0)

    async def puller(self, desk: Desktop) -> None:
        """One pull (run) in flight at a time; pokes that arrive meanwhile fold into the next."""
        while time.monotonic() < self.deadline:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    desk.poked.wait(), max(0.1, self.deadline - time.monotonic())
                )
            if not desk.poked.is_set():
                continue
            desk.poked.clear()
            for _ in range(20):  # bounded: at most 20 pages per poke
                body = await self.call(
                    "GET /sync/pull",
                    "GET",
                    "/sync/pull",
                    desk,
                    params={"client_id": str(desk.client_id), "cursor": desk.cursor, "limit": 500},
                )
                if not isinstance(body, dict):
                    break
                desk.cursor = body["upto"]
                now = time.perf_counter()
                for row in body["rows"]:
                    self.stats.rows_pulled += 1
                    ident = str(row.get("entity_id") or "")
                    pushed = self.pushed_at.get(ident)
                    if pushed is not None and ident not in self.seen:
                        self.seen.add(ident)
                        self.stats.propagation.append((now - pushed) * 1000)
                if len(body["rows"]) < 500:
                    break

    async def calls(self, desk: Desktop, every: float) -> None:
        """A call every ``every`` seconds (jittered): pop match, maybe a search, the wrap-up."""
        await asyncio.sleep(random.uniform(0, every))
        rng = random.Random(desk.login)
        while time.monotonic() < self.deadline:
            k = rng.randrange(self.customers)
            match = await self.call(
                "POST /customers/match",
                "POST",
                "/customers/match",
                desk,
                params={"client_id": str(desk.client_id)},
                json={"number": f"+4477009{k:05d}"},
            )
            customer = None
            if isinstance(match, dict) and match.get("candidates"):
                customer = match["candidates"][0]["id"]
            if rng.random() < 0.5:
                await self.call(
                    "POST /customers/search",
                    "POST",
                    "/customers/search",
                    desk,
                    params={"client_id": str(desk.client_id)},
                    json={"q": f"Family{rng.randrange(self.customers)}"},
                )
            if customer is not None:
                desk.seq += 1
                interaction = str(uuid.uuid4())
                now = dt.datetime.now(dt.UTC)
                body = {
                    "client_id": str(desk.client_id),
                    "entries": [
                        {
                            "client_seq": desk.seq,
                            "mutation_id": str(uuid.uuid4()),
                            "name": "interaction.add",
                            "args": {
                                "id": interaction,
                                "customer_id": customer,
                                "agent_id": desk.agent_id,
                                "channel": "phone",
                                "direction": "inbound",
                                "started_at": (now - dt.timedelta(minutes=4)).isoformat(),
                                "ended_at": now.isoformat(),
                                "subject": "Card query",
                                "notes": "Resolved on the call; customer informed.",
                                "disposition_code": "resolved",
                                "talk_seconds": 210,
                                "wrapup_seconds": 30,
                            },
                        }
                    ],
                    "give_up": [],
                }
                self.pushed_at[interaction] = time.perf_counter()
                reply = await self.call("POST /sync/push", "POST", "/sync/push", desk, json=body)
                if isinstance(reply, dict):
                    for result in reply["results"]:
                        if result.get("state") == "rejected":
                            self.stats.error(f"push rejected: {result.get('error')}")
            await asyncio.sleep(max(0.5, rng.gauss(every, every / 4)))

    async def run(self, desk: Desktop, every: float) -> None:
        await asyncio.gather(self.live(desk), self.puller(desk), self.calls(desk, every))


# --- set-up ------------------------------------------------------------------------------------


async def sign_in_all(url: str, logins: list[str], parallel: int) -> list[Desktop]:
    """Each desktop signs in with its own session (Argon2id on the server: done before timing)."""
    gate = asyncio.Semaphore(parallel)
    async with httpx.AsyncClient(base_url=url + API, timeout=60) as http:

        async def one(login: str) -> Desktop:
            async with gate:
                response = await http.post(
                    "/session",
                    json={"login": login, "password": PASSWORD, "workstation": f"ws-{login}"},
                )
                response.raise_for_status()
                body = response.json()
                # Each desktop its own client and connections, as on a real workstation (one
                # shared pool of 1000 connections costs the bench more than the server).
                own = httpx.AsyncClient(
                    base_url=url + API,
                    timeout=httpx.Timeout(30.0, connect=10.0),
                    limits=httpx.Limits(max_connections=2, max_keepalive_connections=2),
                )
                return Desktop(login, body["token"], body["agent"]["id"], own)

        return await asyncio.gather(*(one(login) for login in logins))


def pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def load(server: ServerProcess, args: argparse.Namespace, logins: list[str]) -> None:
    started = time.perf_counter()
    desks = await sign_in_all(server.url, logins, 8)
    print(f"{len(desks)} desktops signed in in {time.perf_counter() - started:.1f} s", flush=True)
    stats = Stats()
    deadline = time.monotonic() + args.warmup + args.seconds
    fleet = Fleet(server.url, stats, args.customers, deadline)
    tasks = [asyncio.create_task(fleet.run(d, args.call_every)) for d in desks]
    await asyncio.sleep(args.warmup)  # WebSockets connect, first pulls settle
    stats.latency.clear()
    stats.errors.clear()
    stats.propagation.clear()
    stats.pokes = stats.rows_pulled = 0
    spy = None
    if args.profile:  # py-spy (pip install py-spy) on the server for the measured window
        spy = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("py-spy")),
            *("record", "--pid", str(server.pid), "--format", "raw", "--rate", "50"),
            *("--duration", str(int(args.seconds)), "--output", args.profile, "--nonblocking"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
    cpu0, wall0 = server.cpu_seconds(), time.perf_counter()
    own0 = sum(os.times()[:2])
    lags: list[float] = []

    async def watch_lag() -> None:
        """How late this (client) process's event loop wakes: the bench's own saturation."""
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.05)
            lags.append((time.perf_counter() - before - 0.05) * 1000)

    lag = asyncio.create_task(watch_lag())
    rss_peak = 0.0
    while time.monotonic() < deadline:
        await asyncio.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        rss_peak = max(rss_peak, server.rss_mb())
    cpu, wall = server.cpu_seconds() - cpu0, time.perf_counter() - wall0
    own = sum(os.times()[:2]) - own0
    if spy is not None:
        try:
            await asyncio.wait_for(spy.wait(), 60)
        except TimeoutError:
            spy.send_signal(signal.SIGINT)  # py-spy writes what it has on an interrupt
            await asyncio.wait_for(spy.wait(), 30)
    await asyncio.wait(tasks, timeout=40)
    for task in tasks:
        task.cancel()
    lag.cancel()
    for d in desks:
        await d.http.aclose()
    total = sum(len(v) for v in stats.latency.values())
    print(
        f"server load: {len(desks)} desktops, {stats.ws_connected} WebSockets, "
        f"{args.seconds:.0f} s "
        f"(after {args.warmup:.0f} s warm-up), a call per desktop every ~{args.call_every:.0f} s; "
        f"{total:,} requests ({total / wall:,.0f}/s), {stats.pokes:,} pokes, "
        f"{stats.rows_pulled:,} feed rows pulled"
    )
    print(f"{'endpoint':<24}{'n':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    everything: list[float] = []
    for endpoint in sorted(stats.latency):
        v = stats.latency[endpoint]
        everything += v
        print(
            f"{endpoint:<24}{len(v):>8}{statistics.median(v):>9.1f}{pct(v, 95):>9.1f}"
            f"{pct(v, 99):>9.1f}{max(v):>9.1f}"
        )
    if everything:
        print(
            f"{'all':<24}{len(everything):>8}{statistics.median(everything):>9.1f}"
            f"{pct(everything, 95):>9.1f}{pct(everything, 99):>9.1f}{max(everything):>9.1f}"
            "   (target p99 <= 50 ms)"
        )
    if stats.propagation:
        p = stats.propagation
        print(
            f"push -> poke -> first colleague's pull (under load): {len(p)} wrap-ups, "
            f"p50 {statistics.median(p):.0f} ms, p99 {pct(p, 99):.0f} ms"
        )
    errors = ", ".join(f"{k}: {n}" for k, n in sorted(stats.errors.items())) or "none"
    print(f"errors: {errors}")
    print(
        f"server process: CPU {cpu:.1f} s over {wall:.0f} s ({100 * cpu / wall:.0f}% of one core, "
        f"{os.cpu_count()} cores), RSS peak {rss_peak:.0f} MB, {server.threads()} threads",
        flush=True,
    )
    print(
        f"bench client process: CPU {own:.1f} s ({100 * own / wall:.0f}% of one core), "
        f"event-loop lag p50 {statistics.median(lags):.1f} ms, p99 {pct(lags, 99):.1f} ms "
        "(client-side timings include this)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--desktops", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=60.0, help="measured time")
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--call-every", type=float, default=60.0, help="seconds between calls")
    parser.add_argument("--customers", type=int, default=5000, help="~9 rows per customer")
    parser.add_argument("--profile", help="write a py-spy raw profile of the server here")
    args = parser.parse_args()
    # A TERM ends the bench through its finally blocks: the server and PostgreSQL stop too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="agentdesk-bench-load-"))
    with running_server() as pg:
        url = pg.url(pg.create_database())
        central = central_engine(url)
        migrate.upgrade(central)
        seed_reference(central)
        # Cheaper Argon2id parameters in these accounts' stored hashes (the server verifies
        # with the parameters in the hash): 500 sign-ins then take seconds, not minutes.
        logins = add_agents(central, "load", args.desktops, cheap_hash=True)
        seed_working_set(central, args.customers)
        central.dispose()
        server = start_server(url, work)
        try:
            asyncio.run(load(server, args, logins))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
