"""Capacity run: N PBX sites, server instance(s) over PostgreSQL, D desktop protocol clients.

    .venv/bin/python bench/capacity.py [--desktops 500] [--pbxs 2] [--instances 1] [--standby]
        [--seconds 60] [--call-every 120] [--no-failover] [--short | --full]

``--short`` is the CI form (20 desktops, 1 PBX, about 2 minutes:
``tests/bench/test_capacity_short.py``); ``--full`` is issue 16's run (2,000
desktops, 4 PBXs, 2 instances, standby). The sizing in ``docs/scaling.md`` comes
from ``--desktops 500 --pbxs 4 --instances 2 --standby --call-every 300``.

Every part is its own process on loopback, so each one's CPU and memory are its own:

* ``--pbxs`` PBX simulators, one per site (``site0`` …), each ``agentdesk pbx
  --agents 0 --rate R --system-name siteK`` as ``tests/e2e/test_two_sites_e2e.py``
  runs them, in a child of this script (``capacity.py _pbx``) so that a sink after
  the AMI server's own records the instant each ``AgentCalled``/``AgentConnect``
  was written (``time.monotonic()``, shared by every process on the box). No
  virtual agents: the desktops are the queue members. Callers are the
  simulator's known callers (all in the central store), calls go through the IVR
  and the queues; the caller never hangs up first (the desktop does);
* ``agentdesk server`` instance(s) with a settings file (``[central]`` on a
  throwaway PostgreSQL, ``[[pbx]]`` per site with its interfaces); with
  ``--instances`` > 1 a NATS server (``tests/support/nats.py``, ``[bus] url``)
  between them and HAProxy in front (``tests/support/haproxy.py``, the shipped
  ``deploy/haproxy.cfg``), which the desktops connect to; ``--standby`` adds a
  PostgreSQL hot standby (``[central] standby_url``);
* ``--desktops`` desktop protocol clients (no Qt) in one or more client
  processes (``capacity.py _desks``): each signs in (``POST /api/v1/session``),
  keeps its CTI socket (``/api/v1/cti?client_id=``) and live socket
  (``/api/v1/live``) open, joins its site's queues once (``join_queue``), and for
  every offer: answers (``POST /cti/requests`` ``answer``), talks ``--talk``
  seconds, hangs up (``hangup``), and after ``--acw`` seconds files the wrap-up
  as the desk does (``interaction.add`` with its call record through
  ``POST /sync/push``, same mutation id and client seq on every retry, as the
  outbox does); every poke is followed by pulls. Sockets reconnect with
  backoff and full jitter (``store/sync/backoff.Backoff``, as the desktop); a
  ``resync`` that no longer lists an answered call ends it (wrap-up at once),
  one that lists an unknown up call adopts it. One supervisor (an admin:
  ``full_replica_roles``) pulls on every poke, as the supervisor desk does.

Reported: ring (the simulator wrote ``AgentCalled``) -> offer received by the
desktop, p50/p99; wrap-up pushed -> seen in the supervisor's pull, p50/p99;
CPU seconds and peak RSS per process (``/proc``; PostgreSQL summed over its
processes, PSS); interactions expected (calls the PBXs connected to a desktop,
from their own record) vs stored (rows by Linkedid): lost and duplicated.

Then (unless ``--no-failover``) each of: SIGKILL a server instance (and start
it again on its port), SIGKILL NATS (when there is one; started again after
``--down`` s), stop PostgreSQL (``pg_ctl -m immediate``, started again after
``--down`` s), with the calls still flowing; per kill: how long until every desktop
had both sockets up again (max, p99), and lost/duplicated interactions among
the calls connected from that kill to the next. Once the kills are done the
PBXs stop taking new callers and the run waits (bounded) until every call has
ended and every wrap-up is at the centre before counting.

Exit status 1 when an interaction is lost or duplicated, or nothing was measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests package holds fixtures

ROOT = Path(__file__).resolve().parents[1]
API = "/api/v1"
QUEUES = ("general", "cards", "sales", "german")
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
SUPERVISOR = "capsup"
UP = "connected"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def now() -> str:
    return time.strftime("%H:%M:%S")


# ====================================================================== the PBX (child process)
def _pbx_config_text(handle: float) -> str:
    """The shipped simulator config: known callers only, no auto-pause, no ring-all queue,
    a caller who waits for the agent to hang up, and a short queue wrap-up time."""
    from agentdesk.telephony.sim.config import resource_dir

    text = (resource_dir() / "pbx.toml").read_text(encoding="utf-8")
    for old, new in (
        (r"p_unknown = [0-9.]+", "p_unknown = 0.0"),
        (r"p_withheld = [0-9.]+", "p_withheld = 0.0"),
        (r"p_foreign = [0-9.]+", "p_foreign = 0.0"),
        (r"handle = \{[^}]*\}", f'handle = {{ mean = {handle:g}, kind = "fixed" }}'),
        (r'autopause = "yes"', 'autopause = "no"'),
        (r'strategy = "ringall"', 'strategy = "rrmemory"'),
        (r"wrapuptime = \d+", "wrapuptime = 1"),
        (r"patience = \{[^}]*\}", 'patience = { mean = 900, kind = "exponential" }'),
    ):
        text, count = re.subn(old, new, text)
        assert count >= 1, old
    return text


class _Record:
    """A sink after the AMI server's own: when each offer and connect was written."""

    def __init__(self) -> None:
        self.rows: list[tuple[float, str, str, str]] = []  # (t, kind, linkedid, interface)

    def sink(self, message: Any, klass: str) -> None:
        name = message.get("Event") or ""
        if name in ("AgentCalled", "AgentConnect"):
            self.rows.append(
                (
                    time.monotonic(),
                    name,
                    message.get("Linkedid") or "",
                    (message.get("Interface") or "").lower(),
                )
            )


async def _pbx_serve(args: argparse.Namespace) -> int:
    from agentdesk.telephony.sim.config import load_config
    from agentdesk.telephony.sim.simulator import PbxSimulator
    from agentdesk.telephony.sim.traffic import RateProfile

    config = load_config(args.pbx_config)
    from dataclasses import replace

    config = config.with_(traffic=replace(config.traffic, profile=RateProfile((args.rate,))))
    secret = next(u.secret for u in config.users if u.username == "agentdesk")
    # As ``agentdesk pbx --agents 0 --rate R --system-name SITE --seed N --time-scale S``.
    sim = PbxSimulator(
        config,
        seed=args.seed,
        time_scale=args.time_scale,
        virtual_agents=0,
        port=0,
        system_name=args.system_name,
    )
    record = _Record()
    sim.add_sink(record.sink)
    await sim.start()
    loop = asyncio.get_running_loop()

    def reply(body: dict[str, Any]) -> None:
        print(json.dumps(body), flush=True)

    reply({"port": sim.port, "secret": secret})
    try:
        for _ in range(10_000):  # commands (bounded): live, quiet, stop PATH, quit
            line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
            if line in ("", "quit"):
                break
            if line == "quiet":
                sim.traffic_on = False
                reply({"ok": True})
            elif line == "live":
                reply({"live": len(sim.calls), "offered": sim.stats().offered})
            elif line.startswith("stop "):
                with open(line.split(" ", 1)[1], "w", encoding="utf-8") as out:
                    json.dump(record.rows, out)
                reply({"offered": sim.stats().offered, "events": sim.stats().events})
    finally:
        await sim.stop()
        sim.close()
    return 0


# ====================================================================== the desktops (child)
@dataclass
class Call:
    linkedid: str
    offered: float
    caller: str = ""
    customer: str | None = None
    connected: float | None = None
    ended: float | None = None
    filed: bool = False
    queue: str = ""
    hangup: str = ""  # the last hang-up request's outcome (for a call that went astray)


@dataclass
class Desk:
    """One desktop's protocol state."""

    login: str
    interface: str
    token: str = ""
    agent_id: str = ""
    client_id: uuid.UUID = field(default_factory=uuid.uuid4)
    seq: int = 0
    cursor: str = ""
    cti_up: bool = False
    live_up: bool = False
    joined: bool = False
    supervisor: bool = False
    calls: dict[str, Call] = field(default_factory=dict)
    matches: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    poked: asyncio.Event = field(default_factory=asyncio.Event)
    outbox: list[tuple[dict[str, Any], str]] = field(default_factory=list)  # (entry, linkedid)
    outbox_wake: asyncio.Event = field(default_factory=asyncio.Event)
    transitions: list[tuple[float, bool]] = field(default_factory=list)

    def note(self) -> None:
        up = self.cti_up and self.live_up if not self.supervisor else self.live_up
        if not self.transitions or self.transitions[-1][1] != up:
            self.transitions.append((time.monotonic(), up))

    @property
    def connected(self) -> bool:
        return bool(self.transitions) and self.transitions[-1][1]


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Mark a receive that lost the race to the stop as seen (no "never retrieved")."""
    if not task.cancelled():
        task.exception()


class Fleet:
    """The desktops of one client process and what they saw."""

    def __init__(self, args: argparse.Namespace, desks: list[Desk]) -> None:
        import httpx

        self.args = args
        self.url = args.url
        self.ws = args.url.replace("http://", "ws://", 1) + API
        self.desks = desks
        self.stop = asyncio.Event()
        # A shared HTTP client per 20 desktops (one per desktop costs the bench more than the
        # server; a single one serialises them on its pool).
        self.http = [
            httpx.AsyncClient(
                base_url=self.url + API,
                timeout=httpx.Timeout(30.0, connect=10.0, pool=60.0),
                limits=httpx.Limits(max_connections=20, max_keepalive_connections=20),
            )
            for _ in range(max(1, len(desks) // 20))
        ]
        self.offers: list[tuple[float, str, str]] = []  # (t, linkedid, interface)
        self.pushed: dict[str, float] = {}  # interaction id -> first push attempt
        self.seen: dict[str, float] = {}  # interaction id -> supervisor's pull saw it
        self.filed: list[tuple[str, str]] = []  # (linkedid, interaction id) accepted
        self.errors: dict[str, int] = {}
        self.pending = 0  # wrap-ups not yet accepted
        self.tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Any) -> None:
        """Run ``work`` in the background, kept until done (the loop holds tasks weakly)."""
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    def client(self, desk: Desk) -> Any:
        return self.http[hash(desk.login) % len(self.http)]

    async def request(self, desk: Desk, method: str, path: str, **kw: Any) -> Any:
        """One API request; its response, or None after a transport error (counted)."""
        import httpx

        try:
            return await self.client(desk).request(
                method, path, headers={"Authorization": f"Bearer {desk.token}"}, **kw
            )
        except httpx.HTTPError as exc:
            self.error(f"{method} {path.split('?')[0]}: {type(exc).__name__}")
            return None

    # ---- sign-in
    async def sign_in(self, desk: Desk) -> None:
        from agentdesk.store.sync.backoff import Backoff

        backoff = Backoff(0.5, 5.0)
        while not self.stop.is_set():
            import httpx

            try:
                r = await self.client(desk).post(
                    "/session",
                    json={
                        "login": desk.login,
                        "password": self.args.password,
                        "workstation": f"ws-{desk.login}",
                    },
                )
                if r.status_code == 201:
                    body = r.json()
                    desk.token, desk.agent_id = body["token"], body["agent"]["id"]
                    return
                self.error(f"sign-in: HTTP {r.status_code}")
            except httpx.HTTPError as exc:
                self.error(f"sign-in: {type(exc).__name__}")
            await self.sleep(backoff.next_delay())

    async def sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)

    # ---- sockets
    async def socket(self, desk: Desk, kind: str) -> None:
        """Keep one WebSocket (``cti`` or ``live``) open until the end, as the desktop does."""
        import websockets

        from agentdesk.store.sync.backoff import Backoff

        backoff = Backoff(0.5, 5.0)
        url = f"{self.ws}/{kind}?client_id={desk.client_id}"
        while not self.stop.is_set():
            code = None
            try:
                async with websockets.connect(
                    url,
                    additional_headers={"Authorization": f"Bearer {desk.token}"},
                    open_timeout=30,
                    ping_interval=None,
                    max_size=16 * 2**20,
                ) as ws:
                    if kind == "live":
                        desk.live_up = True
                        desk.note()
                        desk.poked.set()  # pull on (re)connect
                    await self.read(desk, kind, ws, backoff)
            except websockets.ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd is not None else None
            except (OSError, websockets.WebSocketException, TimeoutError) as exc:
                code = getattr(exc, "status_code", None) or getattr(
                    getattr(exc, "response", None), "status_code", None
                )
            finally:
                if kind == "cti":
                    desk.cti_up = False
                else:
                    desk.live_up = False
                desk.note()
            if self.stop.is_set():
                break
            self.error(f"{kind} socket dropped or refused ({code or 'no close frame'})")
            if code in (4401, 401):
                await self.sign_in(desk)  # the session ended: sign in again
            await self.sleep(backoff.next_delay())

    async def read(self, desk: Desk, kind: str, ws: Any, backoff: Any) -> None:
        stop = asyncio.create_task(self.stop.wait())
        try:
            while True:
                recv = asyncio.create_task(ws.recv())
                recv.add_done_callback(_retrieve)
                done, _ = await asyncio.wait({recv, stop}, return_when=asyncio.FIRST_COMPLETED)
                if recv not in done:
                    recv.cancel()
                    return
                message = json.loads(recv.result())
                if kind == "live":
                    if message.get("type") == "poke":
                        desk.poked.set()
                else:
                    self.on_cti(desk, message, backoff)
        finally:
            stop.cancel()

    def on_cti(self, desk: Desk, message: dict[str, Any], backoff: Any) -> None:
        t = time.monotonic()
        kind = message.get("type")
        if kind == "resync":
            backoff.reset()
            desk.cti_up = True
            desk.note()
            self.reconcile(desk, message.get("channels", []))
            if not desk.joined:
                desk.joined = True
                self.spawn(self.join(desk))
        elif kind == "match":
            match = message.get("match") or {}
            candidates = match.get("candidates") or []
            number = (
                str((match.get("number") or {}).get("raw", ""))
                if isinstance(match.get("number"), dict)
                else ""
            )
            customer = str(candidates[0]["id"]) if len(candidates) == 1 else None
            desk.matches[str(message.get("linkedid", ""))] = (number, customer)
        elif kind == "event":
            event = message["event"]
            name = event.get("kind")
            linkedid = str((event.get("channel") or {}).get("linkedid") or "")
            if not linkedid:
                return
            if name == "AgentCalled" and linkedid not in desk.calls:
                self.offers.append((t, linkedid, str(event.get("interface", "")).lower()))
                number, customer = desk.matches.pop(linkedid, ("", None))
                caller = str((event.get("channel") or {}).get("caller_num") or number)
                call = Call(linkedid, t, caller, customer, queue=str(event.get("queue", "")))
                desk.calls[linkedid] = call
                self.spawn(self.answer(desk, call))
            elif name == "AgentConnect":
                # An answer whose offer this desk never saw is adopted like a resync's call.
                call = desk.calls.setdefault(linkedid, Call(linkedid, t))
                if call.connected is None:
                    call.connected = t
                    self.spawn(self.hang_up(desk, call))
            elif name == "AgentRingNoAnswer" and linkedid in desk.calls:
                if desk.calls[linkedid].connected is None:
                    del desk.calls[linkedid]
            elif name in ("AgentComplete", "AgentDump") and linkedid in desk.calls:
                self.end(desk, desk.calls[linkedid])
            elif name == "Hangup" and linkedid in desk.calls:
                # The agent's own leg hung up: the call is over even if its AgentComplete
                # was lost (a relay gap while the bus was away).
                channel = str((event.get("channel") or {}).get("channel") or "").lower()
                call = desk.calls[linkedid]
                if call.connected is not None and channel.startswith(desk.interface.lower() + "-"):
                    self.end(desk, call)

    def reconcile(self, desk: Desk, channels: list[dict[str, Any]]) -> None:
        """After a (re)connect: adopt up calls the desk did not know; end those gone."""
        up = set()
        mine = desk.interface.lower() + "-"
        for row in channels:  # the agent's own leg, answered (ChannelState 6): its call
            info = row.get("channel") or {}
            linkedid = str(info.get("linkedid") or "")
            name = str(info.get("channel") or "").lower()
            if linkedid and name.startswith(mine) and str(info.get("state", "")) == "6":
                up.add(linkedid)
        for linkedid in up:  # answered (its AgentConnect may have been missed): adopted
            call = desk.calls.setdefault(linkedid, Call(linkedid, time.monotonic()))
            if call.connected is None:
                call.connected = time.monotonic()
                self.spawn(self.hang_up(desk, call))
        for linkedid, call in list(desk.calls.items()):
            if linkedid in up:
                continue
            if call.connected is not None:
                self.end(desk, call)  # ended while nobody watched: wrap it up now
            else:
                del desk.calls[linkedid]  # a ring that is over

    async def join(self, desk: Desk) -> None:
        for name in QUEUES:
            for _ in range(30):  # bounded
                r = await self.request(
                    desk, "POST", "/cti/requests", json={"kind": "join_queue", "queue": name}
                )
                if r is not None and r.status_code == 200:
                    break
                await self.sleep(1.0)

    async def answer(self, desk: Desk, call: Call) -> None:
        await self.sleep(self.args.answer_after)
        r = await self.request(desk, "POST", "/cti/requests", json={"kind": "answer"})
        if r is None or r.status_code != 200 or not r.json().get("ok"):
            self.error("answer refused" if r is not None else "answer: no server")

    async def hang_up(self, desk: Desk, call: Call) -> None:
        await self.sleep(self.args.talk)
        for _ in range(240):  # bounded: four minutes of retries across an outage
            if call.ended is not None or self.stop.is_set():
                return
            r = await self.request(
                desk, "POST", "/cti/requests", json={"kind": "hangup", "linkedid": call.linkedid}
            )
            call.hangup = "no answer" if r is None else f"HTTP {r.status_code} {r.text[:80]}"
            if r is not None and r.status_code == 200 and r.json().get("ok"):
                return
            await self.sleep(1.0)
        self.error("hangup: gave up")

    def end(self, desk: Desk, call: Call) -> None:
        if call.ended is None:
            call.ended = time.monotonic()
            self.spawn(self.wrap_up(desk, call))

    async def wrap_up(self, desk: Desk, call: Call) -> None:
        """File the call as the desk does: one interaction (with its call record) written to
        the outbox after the wrap-up time; the desk's pusher sends it."""
        self.pending += 1
        await self.sleep(self.args.acw)
        desk.seq += 1
        interaction = str(uuid.uuid4())
        ended = dt.datetime.now(dt.UTC)
        started = ended - dt.timedelta(seconds=max(0.0, time.monotonic() - call.offered))
        entry = {
            "client_seq": desk.seq,
            "mutation_id": str(uuid.uuid4()),
            "name": "interaction.add",
            "args": {
                "id": interaction,
                "customer_id": call.customer,
                "agent_id": desk.agent_id,
                "channel": "phone",
                "direction": "inbound",
                "started_at": started.isoformat(),
                "ended_at": ended.isoformat(),
                "queue": call.queue or None,
                "linkedid": call.linkedid,
                "caller_id": call.caller[:64] or None,
                "subject": "Capacity run call",
                "disposition_code": "resolved",
                "talk_seconds": round(self.args.talk),
                "wrapup_seconds": round(self.args.acw),
                "call": {
                    "id": str(uuid.uuid4()),
                    "uniqueid": call.linkedid,
                    "offered_at": started.isoformat(),
                    "ended_at": ended.isoformat(),
                    "workstation": f"ws-{desk.login}",
                },
            },
        }
        self.pushed[interaction] = time.monotonic()
        desk.outbox.append((entry, call.linkedid))
        desk.outbox_wake.set()
        desk.calls.pop(call.linkedid, None)

    async def pusher(self, desk: Desk) -> None:
        """The outbox, in client-seq order, one batch in flight; each entry sent again with
        its mutation id until the centre has answered it (exactly once there)."""
        while not self.stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(desk.outbox_wake.wait(), 1.0)
            desk.outbox_wake.clear()
            if not desk.outbox:
                continue
            batch = desk.outbox[:50]
            body = {
                "client_id": str(desk.client_id),
                "entries": [entry for entry, _ in batch],
                "give_up": [],
            }
            r = await self.request(desk, "POST", "/sync/push", json=body)
            if r is None or r.status_code != 200:
                if r is not None and r.status_code == 401:
                    await self.sign_in(desk)
                elif r is not None:
                    self.error(f"push: HTTP {r.status_code}")
                await self.sleep(1.0)
                desk.outbox_wake.set()
                continue
            answered = {int(x["client_seq"]): x for x in r.json().get("results", [])}
            for entry, linkedid in batch:
                verdict = answered.get(int(entry["client_seq"]))
                if verdict is None:
                    continue  # not answered (a gap): sent again with the rest
                desk.outbox.remove((entry, linkedid))
                self.pending -= 1
                if verdict.get("state") == "rejected":
                    self.error(f"push rejected: {verdict.get('error')}"[:160])
                else:
                    self.filed.append((linkedid, str(entry["args"]["id"])))
            if desk.outbox:
                desk.outbox_wake.set()

    async def puller(self, desk: Desk) -> None:
        """One pull in flight; pokes that arrive meanwhile fold into the next."""
        while not self.stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(desk.poked.wait(), 1.0)
            if not desk.poked.is_set():
                continue
            desk.poked.clear()
            for _ in range(20):  # bounded pages per poke
                r = await self.request(
                    desk,
                    "GET",
                    "/sync/pull",
                    params={"client_id": str(desk.client_id), "cursor": desk.cursor, "limit": 1000},
                )
                if r is None or r.status_code != 200:
                    if r is not None:
                        self.error(f"pull: HTTP {r.status_code}")
                    break
                body = r.json()
                desk.cursor = body["upto"]
                if desk.supervisor:
                    t = time.monotonic()
                    for row in body["rows"]:
                        ident = str(row.get("entity_id") or "")
                        if row.get("entity_type") == "interaction" and ident not in self.seen:
                            self.seen[ident] = t
                if len(body["rows"]) < 1000:
                    break

    async def run(self, desk: Desk, gate: asyncio.Semaphore) -> None:
        async with gate:
            await self.sign_in(desk)
        tasks = [self.socket(desk, "live"), self.puller(desk), self.pusher(desk)]
        if not desk.supervisor:
            tasks.append(self.socket(desk, "cti"))
        await asyncio.gather(*tasks)

    def status(self) -> dict[str, Any]:
        return {
            "connected": sum(1 for d in self.desks if d.connected),
            "signed": sum(1 for d in self.desks if d.token),
            "total": len(self.desks),
            # Answered calls not yet wrapped up (an offer that rang out unseen stays listed
            # as unanswered; it has nothing to file).
            "calls": sum(1 for d in self.desks for c in d.calls.values() if c.connected),
            "pending": self.pending,
            "joined": sum(1 for d in self.desks if d.joined or d.supervisor),
            "down": [
                f"{d.login} cti={d.cti_up} live={d.live_up} joined={d.joined}"
                for d in self.desks
                if not d.connected
            ][:3],
        }

    def result(self) -> dict[str, Any]:
        return {
            "offers": self.offers,
            "pushed": self.pushed,
            "seen": self.seen,
            "filed": self.filed,
            "errors": self.errors,
            "transitions": {d.login: d.transitions for d in self.desks},
            "open": {
                c.linkedid: f"{d.login}: {'answered' if c.connected else 'never answered'}, "
                f"{'ended' if c.ended else 'not ended'}; last hang-up: {c.hangup or 'none'}"
                for d in self.desks
                for c in d.calls.values()
            },
        }


async def _desks_serve(args: argparse.Namespace) -> int:
    lines = json.loads(Path(args.lines).read_text(encoding="utf-8"))
    desks = [Desk(login, iface, supervisor=not iface) for login, iface in lines]
    fleet = Fleet(args, desks)
    gate = asyncio.Semaphore(16)
    tasks = [asyncio.create_task(fleet.run(d, gate)) for d in desks]
    loop = asyncio.get_running_loop()
    print(json.dumps({"started": len(desks)}), flush=True)
    try:
        for _ in range(100_000):  # commands (bounded): status, finish PATH
            line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
            if line in ("", "quit"):
                break
            if line == "status":
                print(json.dumps(fleet.status()), flush=True)
            elif line.startswith("finish "):
                fleet.stop.set()
                await asyncio.wait(tasks, timeout=30)
                Path(line.split(" ", 1)[1]).write_text(json.dumps(fleet.result()))
                print(json.dumps({"done": True}), flush=True)
                break
    finally:
        fleet.stop.set()
        for task in tasks:
            task.cancel()
        for http in fleet.http:
            await http.aclose()
    return 0


# ====================================================================== processes (this one)
class Child:
    """A child speaking JSON lines on stdin/stdout."""

    def __init__(self, argv: list[str], name: str, log: Path) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log.open("w"),
            text=True,
            cwd=str(ROOT),
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put("")

    def read(self, timeout: float) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"{self.name} did not answer within {timeout:.0f} s") from None
        if not line:
            raise RuntimeError(f"{self.name} exited ({self.proc.poll()})")
        body: dict[str, Any] = json.loads(line)
        return body

    def ask(self, command: str, timeout: float = 60.0) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.read(timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                assert self.proc.stdin is not None
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / TICKS


def proc_peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def pss_mb(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Usage:
    """CPU seconds and peak memory per process, sampled (PostgreSQL: its whole tree)."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}
        self.base: dict[str, float] = {}
        self.rss: dict[str, float] = {}

    def sample(self, name: str, pid: int, tree: bool = False) -> None:
        if tree:
            kids = children_of(pid)
            cpu = proc_cpu(pid) + sum(proc_cpu(k) for k in kids)
            rss = pss_mb(pid) + sum(pss_mb(k) for k in kids)
            # Backends that exited are in the postmaster's cumulated children time.
            self.cpu[name] = max(self.cpu.get(name, 0.0), cpu)
        else:
            cpu = proc_cpu(pid)
            rss = proc_peak_rss_mb(pid)
            if cpu < self.cpu.get(name, 0.0) - 0.01:  # a restarted process: carry the dead one's
                self.base[name] = self.base.get(name, 0.0) + self.cpu[name]
            self.cpu[name] = cpu
        self.rss[name] = max(self.rss.get(name, 0.0), rss)

    def total(self, name: str) -> float:
        return self.base.get(name, 0.0) + self.cpu.get(name, 0.0)


@dataclass
class Server:
    proc: subprocess.Popen[str]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_server(settings: Path, env: dict[str, str], port: int, log: Path) -> Server:
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("agentdesk")),
            *("--config", str(settings), "server", "--port", str(port)),
        ],
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=str(ROOT),
    )
    return Server(proc, port)


def wait_ready(url: str, sites: int, timeout: float) -> float:
    """Seconds until ``/ready`` shows every PBX link connected (raises after ``timeout``)."""
    import httpx

    started = time.monotonic()
    last: object = "no answer"
    while time.monotonic() - started < timeout:
        with contextlib.suppress(httpx.HTTPError, ValueError):
            body = httpx.get(url + "/ready", timeout=5).json()
            links = last = body.get("pbx", {})
            up = sum(
                1 for v in links.values() if isinstance(v, dict) and v.get("state") == "connected"
            )
            if up >= sites:
                return time.monotonic() - started
        time.sleep(0.25)
    raise RuntimeError(
        f"{url} not ready with {sites} PBX links within {timeout:.0f} s; last seen: {last}"
    )


def links_held(urls: list[str]) -> str:
    """Which instance holds each PBX link, as the instances' ``/ready`` say: "a: 2, b: 2"."""
    import collections

    import httpx

    leader: dict[str, str] = {}  # site -> holder (every instance reports every site)
    for url in urls:
        with contextlib.suppress(httpx.HTTPError, ValueError):
            for site, link in httpx.get(url + "/ready", timeout=5).json().get("pbx", {}).items():
                if isinstance(link, dict) and link.get("state") == "connected":
                    leader.setdefault(site, str(link.get("leader") or "-"))
    held = collections.Counter(leader.values())
    return ", ".join(f"{name}: {n}" for name, n in sorted(held.items())) or "none"


def seed(central_url: str, sites: list[str], desktops: int) -> list[tuple[str, str]]:
    """Agents (each on one site's lines), one admin supervisor, the callers as customers."""
    from sqlalchemy import bindparam, update

    from agentdesk.models import Agent, Role
    from agentdesk.store import migrate
    from agentdesk.store.engine import central_engine, write_session
    from agentdesk.telephony.sim.traffic import StaticCallerPool
    from bench._server import add_agents
    from tests.sync.factories import seed_reference
    from tests.ui.data import add_customer

    central = central_engine(central_url)
    migrate.upgrade(central)
    seed_reference(central)
    logins = add_agents(central, "cap", desktops, cheap_hash=True)
    lines = [(lo, f"PJSIP/{sites[i % len(sites)]}-{i:05d}") for i, lo in enumerate(logins)]
    add_agents(central, SUPERVISOR, 1, cheap_hash=True)
    with write_session(central) as s:
        s.connection().execute(
            update(Agent)
            .where(Agent.login == bindparam("b_login"))
            .values(interface=bindparam("b_iface"), extension=bindparam("b_ext")),
            [{"b_login": lo, "b_iface": i, "b_ext": i.rsplit("-", 1)[1]} for lo, i in lines],
        )
        s.execute(update(Agent).where(Agent.login == f"{SUPERVISOR}0000").values(role=Role.ADMIN))
    seen: set[str] = set()
    for caller in StaticCallerPool.demo()._callers:
        if caller.number not in seen:
            seen.add(caller.number)
            add_customer(central, caller.name or "Pat Caller", caller.number)
    central.dispose()
    return lines


def settings_text(
    central_url: str,
    pbxs: dict[str, int],
    secret: Path,
    *,
    standby_url: str | None = None,
    bus_url: str | None = None,
) -> str:
    central = f'[central]\nurl = "{central_url}"\n'
    if standby_url:
        central += f'standby_url = "{standby_url}"\n'
    blocks = [central, '[listen]\nfull_replica_roles = ["admin"]\n']
    if bus_url:
        blocks.append(f'[bus]\nurl = "{bus_url}"\n')
    for site, port in pbxs.items():
        blocks.append(
            f'[[pbx]]\nsite = "{site}"\nhost = "127.0.0.1"\nport = {port}\n'
            f'secret_file = "{secret}"\ninterfaces = ["PJSIP/{site}-*"]\n'
        )
    return "\n".join(blocks)


# ====================================================================== the run
class Run:
    """The orchestration: processes, phases, kills, figures."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.usage = Usage()
        self.pbxs: dict[str, Child] = {}
        self.servers: list[Server] = []
        self.desks: list[Child] = []
        self.pg: Any = None
        self.standby: Any = None  # tests.support.pgserver.PostgresServer
        self.nats: Any = None  # tests.support.nats.NatsServer
        self.haproxy: Any = None  # tests.support.haproxy.HaproxyServer
        self.env: dict[str, str] = {}
        self.settings = work / "server.toml"
        self.kills: list[tuple[str, float, float]] = []  # (what, t_kill, t_back_up)
        self.started = time.monotonic()
        self.steady_cpu: dict[str, float] = {}
        self.ended = float("inf")  # when the calls were drained (the sockets close after)
        self.down: list[str] = []  # a few desktops not connected, at the last status
        self.samples = 0
        self.ami_events = self.offered = 0  # written by the PBXs, callers offered by them
        # Peak (the servers' connections, all client connections but ours).
        self.db_peak = (0, 0)

    # ---- processes
    def count_connections(self) -> None:
        """Peak PostgreSQL backends of the servers (application_name ``agentdesk``), all."""
        import psycopg

        with contextlib.suppress(psycopg.Error):
            with psycopg.connect(self.pg.dsn(), connect_timeout=2) as conn:
                row = conn.execute(
                    "SELECT count(*) FILTER (WHERE application_name = 'agentdesk'), count(*) "
                    "FROM pg_stat_activity WHERE backend_type = 'client backend'"
                ).fetchone()
            if row is not None:
                self.db_peak = (max(self.db_peak[0], row[0]), max(self.db_peak[1], row[1] - 1))

    def sample(self) -> None:
        self.samples += 1
        if self.samples % 5 == 1:
            self.count_connections()
        for site, child in self.pbxs.items():
            self.usage.sample(f"pbx {site}", child.proc.pid)
        for i, server in enumerate(self.servers):
            if server.proc.poll() is None:
                self.usage.sample(f"server {i}", server.proc.pid)
        for i, child in enumerate(self.desks):
            self.usage.sample(f"desktops {i}", child.proc.pid)
        for name, pg in (("postgresql", self.pg), ("pg standby", self.standby)):
            if pg is not None:
                with contextlib.suppress(OSError, ValueError, IndexError):
                    pid = int((pg.data_dir / "postmaster.pid").read_text().split()[0])
                    self.usage.sample(name, pid, tree=True)
        if self.nats is not None and self.nats.process is not None:
            self.usage.sample("nats-server", self.nats.process.pid)
        if self.haproxy is not None:
            self.usage.sample("haproxy", self.haproxy.proc.pid)

    def status(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for child in self.desks:
            for k, v in child.ask("status", 60).items():
                if k == "down":
                    self.down = v
                else:
                    total[k] = total.get(k, 0) + int(v)
        return total

    def wait_connected(self, timeout: float, what: str = "connected") -> dict[str, int]:
        deadline = time.monotonic() + timeout
        st = self.status()
        while time.monotonic() < deadline:
            st = self.status()
            if st[what] >= st["total"]:
                return st
            self.sample()
            time.sleep(0.5)
        return st

    def hold(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(1.0, left))
            self.sample()

    # ---- set-up
    def start(self, pg: Any) -> None:
        args = self.args
        self.pg = pg
        central_url = pg.url(pg.create_database())
        sites = [f"site{k}" for k in range(args.pbxs)]
        lines = seed(central_url, sites, args.desktops)
        config = self.work / "pbx.toml"
        config.write_text(_pbx_config_text(3600.0), encoding="utf-8")
        # Arrivals per site: a call per desktop every --call-every s (with this config nearly
        # every caller reaches a desktop: 563 of 564 in a 500-desktop run); per simulated hour.
        per_site = max(1, args.desktops // args.pbxs)
        rate = per_site * 3600.0 / args.call_every / args.time_scale
        ports: dict[str, int] = {}
        for k, site in enumerate(sites):
            child = Child(
                [
                    sys.executable,
                    __file__,
                    "_pbx",
                    "--system-name",
                    site,
                    "--rate",
                    f"{rate:.1f}",
                    "--seed",
                    str(k + 1),
                    "--pbx-config",
                    str(config),
                    "--time-scale",
                    str(args.time_scale),
                ],
                f"pbx {site}",
                self.work / f"pbx-{site}.log",
            )
            hello = child.read(120)
            ports[site] = int(hello["port"])
            secret = str(hello["secret"])
            self.pbxs[site] = child
        secret_file = self.work / "ami.secret"
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secret + "\n")
        standby_url = bus_url = None
        if args.standby:
            self.standby = pg.start_standby()
            standby_url = self.standby.url(central_url.rsplit("/", 1)[1])
        if args.instances > 1:
            from tests.support.nats import start_nats

            self.nats = start_nats()
            bus_url = self.nats.url
        self.settings.write_text(
            settings_text(
                central_url, ports, secret_file, standby_url=standby_url, bus_url=bus_url
            ),
            encoding="utf-8",
        )
        from agentdesk.store.field_crypto import new_key_text

        key = self.work / "field.key"
        key.write_text(new_key_text("bench"))
        key.chmod(0o600)
        self.env = {
            **os.environ,
            "AGENTDESK_FIELD_KEY_FILE": str(key),
            "PYTHONPATH": str(ROOT),
        }
        self.env.pop("AGENTDESK_CENTRAL_URL", None)
        from bench._server import free_port

        for i in range(args.instances):
            server = start_server(
                self.settings, self.env, free_port(), self.work / f"server-{i}.log"
            )
            self.servers.append(server)
        for server in self.servers:
            wait_ready(server.url, args.pbxs, 90)
        urls = [server.url for server in self.servers]
        print(f"{now()} PBX links held (instance: links): {links_held(urls)}", flush=True)
        self.url = self.servers[0].url
        if args.instances > 1:
            from tests.support.haproxy import Backend, start_haproxy

            self.haproxy = start_haproxy(
                [Backend(f"app{i + 1}", s.port) for i, s in enumerate(self.servers)],
                directory=self.work / "haproxy",
                # Two WebSockets a desktop plus its requests: the test default (2000) capped
                # a 2,000-desktop run at its 1,000th desktop, the rest queued in the kernel.
                maxconn=max(2000, 3 * args.desktops + 1000),
            )
            self.haproxy.wait_all_up(60)
            self.url = self.haproxy.url
        extras = [
            what
            for what, on in (
                ("HAProxy", self.haproxy),
                ("NATS", self.nats),
                ("PostgreSQL standby", self.standby),
            )
            if on is not None
        ]
        print(
            f"{now()} {''.join(e + ', ' for e in extras)}{args.pbxs} PBX(s) at "
            f"{rate * args.time_scale:,.0f} arrivals/h each "
            f"(time scale {args.time_scale:g}), "
            f"{args.instances} server instance(s) ready",
            flush=True,
        )
        # Desktops: split over the client processes; the supervisor in the first.
        procs = args.client_procs or (1 if args.desktops <= 1000 else 2)
        for i in range(procs):
            mine = lines[i::procs]
            if i == 0:
                mine = [(f"{SUPERVISOR}0000", ""), *mine]
            path = self.work / f"desks-{i}.json"
            path.write_text(json.dumps(mine))
            child = Child(
                [
                    sys.executable,
                    __file__,
                    "_desks",
                    "--url",
                    self.url,
                    "--lines",
                    str(path),
                    "--talk",
                    str(args.talk),
                    "--acw",
                    str(args.acw),
                    "--answer-after",
                    str(args.answer_after),
                ],
                f"desktops {i}",
                self.work / f"desks-{i}.log",
            )
            child.read(60)
            self.desks.append(child)
        started = time.monotonic()
        st = self.wait_connected(args.connect_timeout, "signed")
        print(
            f"{now()} {st['signed']}/{st['total']} desktops signed in (POST /session) in "
            f"{time.monotonic() - started:.1f} s",
            flush=True,
        )
        st = self.wait_connected(args.connect_timeout, "joined")
        st = self.wait_connected(max(10.0, args.connect_timeout - (time.monotonic() - started)))
        print(
            f"{now()} {st['connected']}/{st['total']} desktops signed in, both sockets up and "
            f"queues joined in {time.monotonic() - started:.1f} s {self.down or ''}",
            flush=True,
        )

    # ---- kills
    def kill_server(self) -> None:
        server = self.servers[0]
        t = time.monotonic()
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(10)
        self.servers[0] = start_server(
            self.settings, self.env, server.port, self.work / "server-0.log"
        )
        wait_ready(self.servers[0].url, self.args.pbxs, 120)
        self.after_kill("server instance (SIGKILL, restarted)", t)

    def kill_nats(self) -> None:
        t = time.monotonic()
        self.nats.stop(kill=True)
        time.sleep(self.args.down)
        self.nats.start()
        self.after_kill("NATS server (SIGKILL, restarted)", t)

    def kill_postgres(self) -> None:
        t = time.monotonic()
        self.pg.stop("immediate")
        time.sleep(self.args.down)
        self.pg.start()
        self.after_kill("PostgreSQL primary (immediate stop, restarted)", t)

    def after_kill(self, what: str, t: float) -> None:
        st = self.wait_connected(self.args.reconnect_timeout)
        self.kills.append((what, t, time.monotonic()))
        print(
            f"{now()} {what}: {st['connected']}/{st['total']} connected again after "
            f"{time.monotonic() - t:.1f} s",
            flush=True,
        )
        self.hold(self.args.settle)
        urls = [server.url for server in self.servers]
        print(f"{now()} PBX links held (instance: links): {links_held(urls)}", flush=True)

    # ---- drain and count
    def drain(self) -> None:
        for child in self.pbxs.values():
            child.ask("quiet")
        deadline = time.monotonic() + self.args.drain_timeout
        while time.monotonic() < deadline:
            live = sum(int(c.ask("live")["live"]) for c in self.pbxs.values())
            st = self.status()
            if live == 0 and st["calls"] == 0 and st["pending"] == 0:
                break
            self.sample()
            time.sleep(1.0)
        print(
            f"{now()} drained: {live} calls live at the PBXs, {st['calls']} answered calls open at "
            "desktops, "
            f"{st['pending']} wrap-ups pending",
            flush=True,
        )

    def collect(self) -> tuple[list[Any], dict[str, Any]]:
        rows: list[Any] = []
        for site, child in self.pbxs.items():
            path = self.work / f"record-{site}.json"
            done = child.ask(f"stop {path}", 120)
            self.ami_events += int(done["events"])
            self.offered += int(done["offered"])
            rows += json.loads(path.read_text())
        merged: dict[str, Any] = {
            "open": {},
            "offers": [],
            "pushed": {},
            "seen": {},
            "filed": [],
            "errors": {},
            "transitions": {},
        }
        for i, child in enumerate(self.desks):
            path = self.work / f"result-{i}.json"
            child.ask(f"finish {path}", 120)
            part = json.loads(path.read_text())
            merged["offers"] += part["offers"]
            merged["pushed"].update(part["pushed"])
            merged["seen"].update(part["seen"])
            merged["filed"] += part["filed"]
            merged["transitions"].update(part["transitions"])
            merged["open"].update(part["open"])
            for k, v in part["errors"].items():
                merged["errors"][k] = merged["errors"].get(k, 0) + v
        return rows, merged

    def stored(self) -> dict[str, int]:
        import psycopg

        with psycopg.connect(self.pg.dsn(self.central_db())) as conn:
            return dict(
                conn.execute(
                    "SELECT linkedid, count(*) FROM interaction WHERE linkedid IS NOT NULL "
                    "GROUP BY linkedid"
                ).fetchall()
            )

    def filed(self, linkedid: str) -> str:
        """Who filed ``linkedid``'s interactions and when each ended (for a duplicate)."""
        import psycopg

        with psycopg.connect(self.pg.dsn(self.central_db())) as conn:
            rows = conn.execute(
                "SELECT a.login, i.ended_at FROM interaction i LEFT JOIN agent a "
                "ON a.id = i.agent_id WHERE i.linkedid = %s ORDER BY i.ended_at",
                (linkedid,),
            ).fetchall()
        return "; ".join(f"{login} ended {ended:%H:%M:%S.%f}"[:-3] for login, ended in rows)

    def central_db(self) -> str:
        text = self.settings.read_text()
        return text.split('url = "', 1)[1].split('"', 1)[0].rsplit("/", 1)[1]

    def stop_all(self) -> None:
        for child in self.desks:
            child.stop()
        for server in self.servers:
            if server.proc.poll() is None:
                server.proc.send_signal(signal.SIGTERM)
                try:
                    server.proc.wait(15)
                except subprocess.TimeoutExpired:
                    server.proc.kill()
        for child in self.pbxs.values():
            child.stop()
        if self.haproxy is not None:
            self.haproxy.stop()
        if self.nats is not None:
            self.nats.stop(kill=True)
            import shutil

            shutil.rmtree(self.nats.store, ignore_errors=True)
        if self.standby is not None:
            self.standby.remove()


def reconnect_times(
    transitions: dict[str, list[list[Any]]], t_kill: float, t_next: float
) -> list[float]:
    """Per desktop: seconds from the kill until it was connected again for good (its last
    reconnection before the next kill; 0 if it never dropped, inf if it ended down)."""
    out = []
    for marks in transitions.values():
        inside = [(t, up) for t, up in marks if t_kill <= t < t_next]
        if not inside:
            out.append(0.0)
        elif not inside[-1][1]:
            out.append(float("inf"))
        else:
            out.append(inside[-1][0] - t_kill)
    return out


def report(
    run: Run, rows: list[Any], got: dict[str, Any], stored: dict[str, int], t0: float, t1: float
) -> int:
    args = run.args
    called = {(r[2], r[3]): r[0] for r in rows if r[1] == "AgentCalled"}
    connects = [(r[0], r[2]) for r in rows if r[1] == "AgentConnect"]
    ring = []
    for t, linkedid, iface in got["offers"]:
        written = called.get((linkedid, iface))
        if written is not None and t0 <= written <= t1:
            ring.append((t - written) * 1000)
    visible = [
        (got["seen"][k] - t) * 1000
        for k, t in got["pushed"].items()
        if k in got["seen"] and t0 <= t <= t1
    ]
    window = t1 - t0
    print()
    print(
        f"capacity run: {args.pbxs} PBX(s), {args.instances} server instance(s), "
        f"{args.desktops} desktops in {len(run.desks)} client process(es), "
        f"a call per desktop every ~{args.call_every:g} s, {window:.0f} s steady "
        f"({os.cpu_count()} cores on this box)"
    )
    print(
        f"ring -> offer at the desktop      p50 {pct(ring, 50):7.1f} ms  "
        f"p99 {pct(ring, 99):7.1f} ms"
        f"  (n={len(ring):,}, steady phase)"
    )
    print(
        f"wrap-up -> supervisor's pull      p50 {pct(visible, 50):7.1f} ms  "
        f"p99 {pct(visible, 99):7.1f} ms  (n={len(visible):,}, steady phase)"
    )
    steady_calls = sum(1 for t, _ in connects if t0 <= t <= t1)
    print(
        f"PBXs: {run.offered:,} callers, {len(connects):,} calls connected to desktops, "
        f"{run.ami_events:,} AMI events written ({run.ami_events / max(1, len(connects)):.0f} "
        "per connected call)"
    )
    print(f"calls connected in the steady phase: {steady_calls:,} ({steady_calls / window:.1f}/s)")
    print(f"{'process':<16}{'CPU s':>9}{'% of a core':>13}{'peak RSS MB':>13}")
    whole = run.usage
    span = max(1e-6, time.monotonic() - run.started)
    for name in sorted(whole.cpu):
        cpu = whole.total(name)
        print(f"{name:<16}{cpu:>9.1f}{100 * cpu / span:>12.0f}%{whole.rss[name]:>13.0f}")
    print(f"(over the whole run, {span:.0f} s; PostgreSQL: all its processes, RSS as PSS)")
    print(
        f"PostgreSQL connections at most: {run.db_peak[0]} from the server instance(s) "
        f"(application_name agentdesk), {run.db_peak[1]} client connections in all"
    )
    for name, cpu in sorted(run.steady_cpu.items()):
        print(f"steady-phase CPU {name}: {cpu:.1f} s ({100 * cpu / window:.0f}% of a core)")

    # ---- lost / duplicated, overall and per phase
    expected = {linkedid for _, linkedid in connects}
    dup = {k: n for k, n in stored.items() if n > 1}
    lost = expected - set(stored)
    print(
        f"interactions: expected {len(expected):,} (calls the PBXs connected), stored "
        f"{sum(stored.values()):,} under {len(stored):,} Linkedids; lost {len(lost)}, "
        f"duplicated {len(dup)}"
    )
    bounds = [("steady", t0)] + [(what, t) for what, t, _ in run.kills] + [("end", float("inf"))]
    failed = bool(lost or dup) or not ring or not visible
    for (what, t_kill, _back), (_, t_next) in zip(run.kills, bounds[2:], strict=False):
        times = reconnect_times(got["transitions"], t_kill, min(t_next, run.ended))
        dropped = sum(1 for x in times if x > 0)
        window_ids = {lk for t, lk in connects if t_kill <= t < t_next}
        print(
            f"kill {what}: {dropped}/{len(times)} desktops dropped; every desktop connected "
            f"again in {max(times, default=0):.1f} s (p99 {pct(times, 99):.1f} s); "
            f"{len(window_ids):,} calls connected until the next kill: "
            f"lost {len(window_ids & lost)}, duplicated {len(window_ids & set(dup))}"
        )
        if any(x == float("inf") for x in times):
            failed = True
    errors = ", ".join(f"{k}: {n}" for k, n in sorted(got["errors"].items())) or "none"
    print(f"client-side errors (retried): {errors}")
    for linkedid in sorted(lost)[:5]:
        print(f"  lost: {linkedid} (at the desk: {got['open'].get(linkedid, 'not open')})")
    for linkedid in sorted(dup)[:5]:
        print(f"  duplicated: {linkedid} x{dup[linkedid]} ({run.filed(linkedid)})")
    if failed:
        print("FAILED: " + ("lost or duplicated interactions" if lost or dup else "no figures"))
        return 1
    return 0


def bench(args: argparse.Namespace) -> int:
    from tests.support.pgserver import running_server

    work = Path(tempfile.mkdtemp(prefix="agentdesk-bench-capacity-"))
    print(f"{now()} work directory {work}", flush=True)
    with running_server() as pg:
        run = Run(args, work)
        try:
            run.start(pg)
            run.hold(args.warmup)
            cpu0 = dict(run.usage.cpu)
            t0 = time.monotonic()
            run.hold(args.seconds)
            t1 = time.monotonic()
            run.steady_cpu = {k: run.usage.total(k) - cpu0.get(k, 0.0) for k in run.usage.cpu}
            run.hold(args.tail)  # the window's last wrap-ups reach the supervisor before a kill
            if not args.no_failover:
                run.kill_server()
                if run.nats is not None:
                    run.kill_nats()
                run.kill_postgres()
            run.drain()
            run.ended = time.monotonic()
            rows, got = run.collect()
            stored = run.stored()
            return report(run, rows, got, stored, t0, t1)
        finally:
            run.stop_all()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("role", nargs="?", default="bench", choices=["bench", "_pbx", "_desks"])
    parser.add_argument("--desktops", type=int, default=500)
    parser.add_argument("--pbxs", type=int, default=2)
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=60.0, help="steady phase, measured")
    parser.add_argument("--warmup", type=float, default=45.0, help="before the steady phase")
    parser.add_argument("--call-every", type=float, default=120.0, help="s between a desk's calls")
    parser.add_argument("--talk", type=float, default=3.0, help="s from connect to hang-up")
    parser.add_argument("--acw", type=float, default=1.0, help="s from call end to wrap-up")
    parser.add_argument("--answer-after", type=float, default=0.3)
    parser.add_argument("--client-procs", type=int, default=0, help="default: 1, 2 past 1,000")
    parser.add_argument(
        "--time-scale", type=float, default=1.0, help="simulated s per real s at the PBXs"
    )
    parser.add_argument("--standby", action="store_true", help="a PostgreSQL hot standby")
    parser.add_argument(
        "--full",
        action="store_true",
        help="the issue's run: 2,000 desktops, 4 PBXs, 2 instances (HAProxy, NATS), standby",
    )
    parser.add_argument("--no-failover", action="store_true")
    parser.add_argument("--down", type=float, default=3.0, help="s PostgreSQL stays down")
    parser.add_argument("--tail", type=float, default=5.0, help="s after the steady phase")
    parser.add_argument("--settle", type=float, default=20.0, help="s of calls after each kill")
    parser.add_argument(
        "--connect-timeout", type=float, default=0.0, help="default: 120 s + 0.5 s a desktop"
    )
    parser.add_argument("--reconnect-timeout", type=float, default=180.0)
    parser.add_argument("--drain-timeout", type=float, default=240.0)
    parser.add_argument("--short", action="store_true", help="minutes-long CI form")
    # child roles
    parser.add_argument("--system-name", default="")
    parser.add_argument("--rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pbx-config")
    parser.add_argument("--url")
    parser.add_argument("--lines")
    args = parser.parse_args(argv)
    logging.getLogger("asyncio").setLevel(logging.ERROR)
    if args.role == "_pbx":
        return asyncio.run(_pbx_serve(args))
    if args.role == "_desks":
        from bench._server import PASSWORD

        args.password = PASSWORD
        return asyncio.run(_desks_serve(args))
    if args.full:
        args.desktops, args.pbxs, args.instances, args.standby = 2000, 4, 2, True
    if args.short:
        args.desktops, args.pbxs = min(args.desktops, 20), 1
        args.seconds, args.warmup, args.settle, args.time_scale = 20.0, 12.0, 8.0, 4.0
        args.call_every = 15.0
    args.connect_timeout = args.connect_timeout or 120.0 + 0.5 * args.desktops
    if not 1 <= args.desktops <= 5000 or not 1 <= args.pbxs <= 16 or args.instances < 1:
        parser.error("--desktops 1..5000, --pbxs 1..16, --instances >= 1")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return bench(args)


if __name__ == "__main__":
    sys.exit(main())
