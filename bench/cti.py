"""CTI gateway at scale: one ``agentdesk server`` process, its one AMI link, 500 agents' sockets.

    .venv/bin/python bench/cti.py [--agents 500] [--seconds 30] [--time-scale 10] [--profile F]

Three processes on loopback, so that each side's CPU is its own:

* the PBX simulator (a child of this script, ``bench/cti.py _pbx``): ``--agents``
  virtual agents (``PJSIP/agent-2001`` …) in overload (arrivals at three times
  what the floor can answer, so every agent is busy and the queues are full),
  simulated time running ``--time-scale`` times real time (500 agents at 10:
  about 2,000 AMI events/s, the gateway's target; at 25 the gateway of
  2026-12 falls behind and the simulator drops its session, which fails the run);
* ``agentdesk server --pbx 127.0.0.1:PORT`` over a throwaway PostgreSQL (as
  ``bench/server_load.py``): its CTI gateway holds the only AMI session;
* this process: one desktop protocol client per agent (no Qt), signed in
  through ``/api/v1/session``, its WebSocket on ``/api/v1/cti?client_id=…``;
  each agent row has the interface of the simulator's virtual agent, and the
  central store holds the simulator's callers, so offers carry real matches.

Measured over ``--seconds`` once every socket has its ``resync``:

* AMI events the gateway received and decoded per second (every event the
  simulator wrote to the gateway's session), the server process's CPU seconds
  per 1,000 events (``/proc``), and so the events per second one core of it
  would carry (events/s divided by its CPU fraction; target >= 2,000);
* fan-out latency, p50/p99: the server's wire is unchanged, so the gateway's
  decode instant is not visible from outside; what is timed is "the simulator
  wrote the event's AMI bytes" -> "the desktop client received its JSON", both
  with ``time.monotonic()`` (CLOCK_MONOTONIC, shared by every process on the
  box). It is an upper bound of what the gateway adds: it also holds the AMI
  socket, the AMI parse and this process's own event-loop lag (printed). An
  event is tied to the write that produced it by a hash of the typed event
  the gateway sends (decoded from the written message with the gateway's own
  ``event_message``); events written twice identically are left out, as are
  IVR results the gateway replays with an offer (they were written earlier);
* events per client per second, and need-to-know violations: an event,
  ``match`` or ``resync`` row naming another agent's interface, a call never
  offered to this agent (the simulator's own ``AgentCalled`` record), or a kind
  no desktop may get (DTMF, ``UserEvent``, ``Newexten``, other ``VarSet``\\ s);
* the AMI sessions the simulator saw: authenticated sessions (at most, and at
  the end) and logins during the whole run (its ``AMI user … logged in`` log
  records), read from the simulator process itself, not over AMI (that would
  be a second session).

Exit status 1 when there is a violation, the PBX saw other than one session
and one login, or nothing was measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import logging
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests package holds fixtures

ROOT = Path(__file__).resolve().parents[1]
API = "/api/v1"
FIRST_EXTENSION = 2001  # resources/pbx/pbx.toml [agents] first_extension
# Event names the gateway may hand to a desktop (gateway.PATTERNS less Newchannel).
CANDIDATE_PREFIXES = ("Agent", "QueueMember", "QueueCaller")
CANDIDATE_NAMES = frozenset({"Hold", "Unhold", "Hangup", "DialEnd", "VarSet", "UserEvent"})
FORBIDDEN_KINDS = frozenset(
    {"UserEvent", "Newexten", "DTMFBegin", "DTMFEnd", "UnknownEvent", "Newchannel"}
)
IVR_KINDS = frozenset({"VarSet", "IvrResult"})
EDGE = 1.0  # seconds recorded before and after the measured window (writes near its edges)
GOAL_EVENTS_PER_CORE = 2000
GOAL_FANOUT_P99_MS = 5.0


def event_key(event: dict[str, Any]) -> str:
    """A short, process-independent hash of one typed event's JSON."""
    text = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


# ====================================================================== the PBX (child process)
class _Logins(logging.Handler):
    """Counts the simulator's ``AMI user %s logged in from %s`` records; shows its warnings."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.logins: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == "AMI user %s logged in from %s":
            self.logins.append(str(record.args[0]) if record.args else "?")  # type: ignore[index]
        elif record.levelno >= logging.WARNING:
            at = time.strftime("%H:%M:%S", time.localtime(record.created))
            print(f"  [pbx {at}] {record.getMessage()}", file=sys.stderr, flush=True)


class _Recorder:
    """A sink after the AMI server's own: the instant each event's bytes were written."""

    def __init__(self, sim: Any) -> None:
        self.server = sim.server
        self.recording = False
        self.written: list[float] = []  # instants of every event written to a session
        self.kept: list[tuple[float, Any]] = []  # those a desktop may be sent, with the message
        self.offers: dict[str, set[str]] = defaultdict(set)  # linkedid -> rung interfaces

    def sink(self, message: Any, klass: str) -> None:
        t = time.monotonic()
        name = message.get("Event") or ""
        if name == "AgentCalled":  # from the warm-up on: calls offered before the window too
            self.offers[message.get("Linkedid") or ""].add((message.get("Interface") or "").lower())
        if self.recording and any(s.wants(klass) for s in self.server.sessions):
            self.written.append(t)
            if name in CANDIDATE_NAMES or name.startswith(CANDIDATE_PREFIXES):
                self.kept.append((t, message))


def _pbx_config(agents: int) -> Any:
    from agentdesk.telephony.sim.config import load_config
    from agentdesk.telephony.sim.traffic import RateProfile

    config = load_config()
    # What the floor can answer (~25 % of callers finish in the IVR); overload triples it.
    rate = agents * 3600 / config.traffic.handle.mean / 0.75
    return config.with_(traffic=replace(config.traffic, profile=RateProfile((rate,))))


async def _pbx_serve(args: argparse.Namespace) -> int:
    from agentdesk.server.cti.gateway import event_message
    from agentdesk.telephony.events import Decoder
    from agentdesk.telephony.sim.simulator import PbxSimulator

    logins = _Logins()
    server_log = logging.getLogger("agentdesk.telephony.server")
    server_log.setLevel(logging.INFO)
    server_log.addHandler(logins)
    config = _pbx_config(args.agents)
    secret = next(u.secret for u in config.users if u.username == "agentdesk")
    sim = PbxSimulator(
        config,
        seed=args.seed,
        time_scale=args.time_scale,
        virtual_agents=args.agents,
        overload=True,
        port=0,
    )
    recorder = _Recorder(sim)
    sim.add_sink(recorder.sink)  # after the AMI server's own sink: the bytes are written
    sim.run_for(args.warm_up)  # fast-forward to a full floor and full queues
    await sim.start()
    most = 0

    async def watch_sessions() -> None:
        nonlocal most
        while True:
            most = max(most, sum(1 for s in sim.server.sessions if s.authenticated))
            await asyncio.sleep(0.1)

    watcher = asyncio.create_task(watch_sessions())
    loop = asyncio.get_running_loop()

    def reply(body: dict[str, Any]) -> None:
        print(json.dumps(body), flush=True)

    reply({"port": sim.port, "secret": secret})
    cpu0 = wall0 = 0.0
    try:
        for _ in range(10):  # commands: record, stop PATH, quit (bounded)
            line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
            if line in ("", "quit"):
                break
            if line == "record":
                recorder.kept.clear()
                recorder.written.clear()
                recorder.recording = True
                cpu0, wall0 = time.process_time(), time.monotonic()
                reply({"t": wall0})
            elif line.startswith("stop "):
                recorder.recording = False
                cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
                decoder = Decoder()
                with open(line.split(" ", 1)[1], "w", encoding="utf-8") as out:
                    for t, message in recorder.kept:
                        typed = decoder.decode(message)
                        if typed is None:
                            continue
                        body = event_message(typed)["event"]
                        out.write(json.dumps([t, event_key(body), body["kind"]]) + "\n")
                    offers = {k: sorted(v) for k, v in recorder.offers.items()}
                    out.write(json.dumps({"offers": offers, "written": recorder.written}) + "\n")
                reply(
                    {
                        "t": time.monotonic(),
                        "cpu": cpu,
                        "wall": wall,
                        "sessions_now": sum(1 for s in sim.server.sessions if s.authenticated),
                        "sessions_max": most,
                        "logins": logins.logins,
                        "offered": sim.stats().offered,
                    }
                )
    finally:
        watcher.cancel()
        await sim.stop()
        sim.close()
    return 0


# ====================================================================== set-up (this process)
@dataclass
class Pbx:
    proc: subprocess.Popen[str]
    port: int
    secret: str

    def ask(self, command: str, timeout: float = 120.0) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return _read_json(self.proc, timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                assert self.proc.stdin is not None
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _read_json(proc: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    """The child's next JSON line (within ``timeout``)."""
    found: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        found.put(proc.stdout.readline())

    threading.Thread(target=read, daemon=True).start()
    try:
        line = found.get(timeout=timeout)
    except queue.Empty:
        raise RuntimeError(f"the PBX simulator did not answer within {timeout:.0f} s") from None
    if not line:
        raise RuntimeError(f"the PBX simulator exited ({proc.poll()})")
    body: dict[str, Any] = json.loads(line)
    return body


def start_pbx(args: argparse.Namespace) -> Pbx:
    proc = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "_pbx",
            "--agents",
            str(args.agents),
            "--time-scale",
            str(args.time_scale),
            "--seed",
            str(args.seed),
            "--warm-up",
            str(args.warm_up),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=str(ROOT),
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    hello = _read_json(proc, 300)
    return Pbx(proc, int(hello["port"]), str(hello["secret"]))


def start_server(central_url: str, work: Path, pbx: Pbx, timeout: float = 60.0) -> Any:
    """``agentdesk server --port 0 --pbx 127.0.0.1:PORT`` (bench/_server.py's way, plus the PBX)."""
    from agentdesk.store.field_crypto import new_key_text
    from bench._server import ServerProcess

    config = work / "server.toml"
    config.write_text("")  # defaults only; the database comes from the environment
    key = work / "field.key"
    key.write_text(new_key_text("bench"))
    key.chmod(0o600)
    secret = work / "ami.secret"
    fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(pbx.secret + "\n")
    env = {
        **os.environ,
        "AGENTDESK_CENTRAL_URL": central_url,
        "AGENTDESK_FIELD_KEY_FILE": str(key),
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("agentdesk")),
            *("--config", str(config), "server", "--port", "0"),
            *("--pbx", f"127.0.0.1:{pbx.port}", "--pbx-secret-file", str(secret)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=str(ROOT),
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        shown = 0
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("listening on "):
                lines.put(line)
            elif shown < 40 and ("WARNING" in line or "ERROR" in line or "Traceback" in line):
                shown += 1
                print(f"  [server] {line.rstrip()}", file=sys.stderr, flush=True)

    threading.Thread(target=pump, name="server-output", daemon=True).start()
    try:
        line = lines.get(timeout=timeout)
    except queue.Empty:
        proc.kill()
        raise RuntimeError(
            f"agentdesk server did not print its URL within {timeout:.0f} s"
        ) from None
    return ServerProcess(proc, line.split()[-1].strip())


def seed_central(central: Any, agents: int) -> list[tuple[str, str]]:
    """Agents whose interfaces are the simulator's virtual agents', and its callers as customers.

    Returns (login, interface) per agent.
    """
    from sqlalchemy import bindparam, update

    from agentdesk.models import Agent
    from agentdesk.store.engine import write_session
    from agentdesk.telephony.sim.traffic import StaticCallerPool
    from bench._server import add_agents
    from tests.sync.factories import seed_reference
    from tests.ui.data import add_customer

    seed_reference(central)
    logins = add_agents(central, "cti", agents, cheap_hash=True)
    lines = [(login, f"PJSIP/agent-{FIRST_EXTENSION + i}") for i, login in enumerate(logins)]
    with write_session(central) as s:
        s.connection().execute(
            update(Agent)
            .where(Agent.login == bindparam("b_login"))
            .values(interface=bindparam("b_iface"), extension=bindparam("b_ext")),
            [{"b_login": lo, "b_iface": i, "b_ext": i.rsplit("-", 1)[1]} for lo, i in lines],
        )
    seen: set[str] = set()
    for caller in StaticCallerPool.demo()._callers:
        if caller.number not in seen:
            seen.add(caller.number)
            add_customer(central, caller.name or "Pat Caller", caller.number)
    return lines


# ====================================================================== the desktops
@dataclass
class Received:
    t: float
    kind: str
    key: str
    linkedid: str
    replay: bool


@dataclass
class Client:
    login: str
    interface: str
    token: str = ""
    client_id: uuid.UUID = field(default_factory=uuid.uuid4)
    events: list[Received] = field(default_factory=list)
    offered: set[str] = field(default_factory=set)  # linkedids of AgentCalled received
    checks: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (what, body)
    resynced: asyncio.Event = field(default_factory=asyncio.Event)
    closed: str = ""

    def take(self, text: str | bytes) -> None:
        t = time.monotonic()
        message = json.loads(text)
        kind = message.get("type")
        if kind == "event":
            event = message["event"]
            linkedid = str((event.get("channel") or {}).get("linkedid") or "")
            name = str(event.get("kind"))
            if name == "AgentCalled":
                self.offered.add(linkedid)
            replay = name in IVR_KINDS and linkedid not in self.offered
            self.events.append(Received(t, name, event_key(event), linkedid, replay))
            self.checks.append(("event", event))
        elif kind == "match":
            self.checks.append(("match", {"linkedid": message.get("linkedid", "")}))
        elif kind == "resync":
            for row in message.get("queue", []):
                self.checks.append(("resync queue", row))
            for row in message.get("channels", []):
                self.checks.append(("resync channel", row))
            self.resynced.set()


async def sign_in(url: str, clients: list[Client], parallel: int = 8) -> None:
    import httpx

    from bench._server import PASSWORD

    gate = asyncio.Semaphore(parallel)
    async with httpx.AsyncClient(base_url=url + API, timeout=60) as http:

        async def one(client: Client) -> None:
            async with gate:
                response = await http.post(
                    "/session",
                    json={
                        "login": client.login,
                        "password": PASSWORD,
                        "workstation": f"ws-{client.login}",
                    },
                )
                response.raise_for_status()
                client.token = response.json()["token"]

        await asyncio.gather(*(one(c) for c in clients))


async def listen(url: str, client: Client, gate: asyncio.Semaphore, until: asyncio.Event) -> None:
    """One desktop's CTI socket, read until ``until`` is set."""
    import websockets

    ws_url = url.replace("http://", "ws://", 1) + f"{API}/cti?client_id={client.client_id}"
    try:
        async with gate:
            ws = await websockets.connect(
                ws_url,
                additional_headers={"Authorization": f"Bearer {client.token}"},
                open_timeout=60,
                ping_interval=None,
                max_size=16 * 2**20,
            )
        async with ws:
            stop = asyncio.create_task(until.wait())
            try:
                while not until.is_set():
                    recv = asyncio.create_task(ws.recv())
                    done, _ = await asyncio.wait({recv, stop}, return_when=asyncio.FIRST_COMPLETED)
                    if recv not in done:
                        recv.cancel()
                        break
                    client.take(recv.result())
            finally:
                stop.cancel()
    except websockets.ConnectionClosed as exc:
        code = exc.rcvd.code if exc.rcvd is not None else None
        client.closed = f"closed by the server ({code})"
    except (OSError, websockets.WebSocketException, TimeoutError) as exc:
        client.closed = f"{type(exc).__name__}: {exc}"


def violations(clients: list[Client], offers: dict[str, set[str]]) -> list[str]:
    """What a desktop received that is not its agent's to know (see the module docstring)."""
    from agentdesk.services.desk.call_data import IVR_VARIABLES

    found: list[str] = []
    for client in clients:
        own = client.interface.lower()
        for what, body in client.checks:
            kind = str(body.get("kind", ""))
            problem = ""
            if kind in FORBIDDEN_KINDS:
                problem = f"a {kind}"
            elif kind == "VarSet" and str(body.get("variable", "")).lstrip("_") not in (
                IVR_VARIABLES
            ):
                problem = f"VarSet {body.get('variable')}"
            elif body.get("interface"):  # Agent*, QueueMember*: by the member's interfaces
                if own not in (
                    str(body.get("interface", "")).lower(),
                    str(body.get("state_interface", "")).lower(),
                ):
                    problem = f"{kind} of {body.get('interface')}"
            else:  # a call's events: only of calls offered to this agent
                channel = body.get("channel") or {}
                linkedid = str(body.get("linkedid") or channel.get("linkedid") or "")
                if linkedid and own not in offers.get(linkedid, set()):
                    problem = f"{kind or what} of call {linkedid}, never offered to it"
            if problem:
                found.append(f"{client.login} ({client.interface}): {what}: {problem}")
    return found


# ====================================================================== the run
async def drive(args: argparse.Namespace, url: str, pbx: Pbx, server: Any, work: Path) -> int:
    import httpx

    lines = args.lines
    clients = [Client(login, iface) for login, iface in lines]
    started = time.perf_counter()
    await sign_in(url, clients)
    print(
        f"{time.strftime('%H:%M:%S')} {len(clients)} desktops signed in in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )
    until = asyncio.Event()
    gate = asyncio.Semaphore(25)
    started = time.perf_counter()
    tasks = [asyncio.create_task(listen(url, c, gate, until)) for c in clients]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if all(c.resynced.is_set() or c.closed for c in clients):
            break
        await asyncio.sleep(0.2)
    ready = sum(1 for c in clients if c.resynced.is_set())
    print(
        f"{time.strftime('%H:%M:%S')} {ready}/{len(clients)} CTI sockets connected and resynced in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )
    await asyncio.sleep(args.settle)
    lags: list[float] = []

    async def watch_lag() -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.05)
            lags.append((time.perf_counter() - before - 0.05) * 1000)

    lag = asyncio.create_task(watch_lag())
    # The simulator records from EDGE s before the window to EDGE s after it; the sockets
    # close before it stops, so every offer a socket heard of is in its record.
    await asyncio.to_thread(pbx.ask, "record")
    await asyncio.sleep(EDGE)
    t0 = time.monotonic()
    cpu0, own0 = server.cpu_seconds(), sum(os.times()[:2])
    spy = None
    if args.profile:  # py-spy (pip install py-spy) on the server for the measured window
        spy = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("py-spy")),
            *("record", "--pid", str(server.pid), "--format", "raw", "--rate", "100"),
            *("--duration", str(int(args.seconds)), "--output", args.profile, "--nonblocking"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
    rss_peak = 0.0
    end = t0 + args.seconds
    while (left := end - time.monotonic()) > 0:
        await asyncio.sleep(min(1.0, left))
        rss_peak = max(rss_peak, server.rss_mb())
    t1 = time.monotonic()
    cpu = server.cpu_seconds() - cpu0
    own = sum(os.times()[:2]) - own0
    await asyncio.sleep(EDGE)
    if spy is not None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(spy.wait(), 60)
    until.set()
    await asyncio.wait(tasks, timeout=30)
    lag.cancel()
    record = work / "written.jsonl"
    stop = await asyncio.to_thread(pbx.ask, f"stop {record}")
    ready_body = httpx.get(url + "/ready", timeout=10).json()

    # ---- what the simulator wrote
    written: dict[str, list[float]] = defaultdict(list)
    offers: dict[str, set[str]] = {}
    events = 0
    with record.open(encoding="utf-8") as fh:
        for text in fh:
            row = json.loads(text)
            if isinstance(row, dict):
                offers = {k: set(v) for k, v in row["offers"].items()}
                events = sum(1 for t in row["written"] if t0 <= t <= t1)
            else:
                written[row[1]].append(float(row[0]))

    # ---- what the desktops received
    window = t1 - t0
    lat_all: list[float] = []
    lat_offer: list[float] = []
    by_kind: dict[str, list[float]] = defaultdict(list)
    ambiguous = unmatched = replays = 0
    per_client: list[float] = []
    delivered = 0
    for client in clients:
        mine = [r for r in client.events if t0 <= r.t <= t1]
        delivered += len(mine)
        per_client.append(len(mine) / window)
        for r in mine:
            if r.replay:
                replays += 1
                continue
            times = [w for w in written.get(r.key, ()) if w <= r.t]
            if not times:  # written before the record (an identical later write is not it)
                unmatched += 1
                continue
            if len(times) > 1:
                ambiguous += 1
                continue
            ms = (r.t - times[0]) * 1000
            lat_all.append(ms)
            by_kind[r.kind].append(ms)
            if r.kind == "AgentCalled":
                lat_offer.append(ms)
    bad = violations(clients, offers)
    closed = [c for c in clients if c.closed]
    rate = events / window
    share = cpu / window
    per_core = rate / share if share > 0 else float("inf")
    sessions_now, sessions_max = int(stop["sessions_now"]), int(stop["sessions_max"])
    logins = list(stop["logins"])

    # ---- report
    print()
    print(
        f"CTI bench: {args.agents} virtual agents in overload (time scale {args.time_scale:g}), "
        f"{len(clients)} desktop sockets, one server process, {window:.1f} s measured "
        f"({os.cpu_count()} cores on this box)"
    )
    rows = [
        ("AMI events decoded by the gateway", f"{events:,}", f"{rate:,.0f}/s"),
        ("server process CPU", f"{cpu:.1f} s", f"{100 * share:.0f}% of one core"),
        ("server CPU per 1,000 AMI events", f"{1000 * cpu / max(events, 1):.3f} s", ""),
        (
            "AMI events/s on one full core",
            f"{per_core:,.0f}",
            f"target >= {GOAL_EVENTS_PER_CORE:,}: "
            + ("met" if per_core >= GOAL_EVENTS_PER_CORE else "MISSED"),
        ),
        ("events delivered to desktops", f"{delivered:,}", f"{delivered / window:,.0f}/s"),
        (
            "events per client per second",
            f"{statistics.mean(per_client):.2f}",
            f"min {min(per_client):.2f}, max {max(per_client):.2f}",
        ),
        (
            "fan-out latency p50 / p99 (all)",
            f"{pct(lat_all, 50):.1f} / {pct(lat_all, 99):.1f} ms",
            f"n={len(lat_all):,}, max {max(lat_all, default=float('nan')):.1f} ms; "
            f"target p99 <= {GOAL_FANOUT_P99_MS:g} ms: "
            + ("met" if pct(lat_all, 99) <= GOAL_FANOUT_P99_MS else "MISSED"),
        ),
        (
            "  offers (AgentCalled, after the match)",
            f"{pct(lat_offer, 50):.1f} / {pct(lat_offer, 99):.1f} ms",
            f"n={len(lat_offer):,}",
        ),
        (
            "  left out of the latency",
            f"{replays + ambiguous + unmatched:,}",
            f"{replays:,} IVR replays, {ambiguous:,} written twice alike, "
            f"{unmatched:,} written before the record",
        ),
        ("need-to-know violations", f"{len(bad)}", "must be 0"),
        (
            "AMI sessions on the PBX",
            f"{sessions_now} now, {sessions_max} at most",
            f"logins during the run: {len(logins)} ({', '.join(logins) or 'none'})",
        ),
        ("sockets closed early", f"{len(closed)}", closed[0].closed if closed else ""),
        ("server RSS peak", f"{rss_peak:.0f} MB", f"{server.threads()} threads"),
        (
            "PBX simulator process CPU",
            f"{float(stop['cpu']):.1f} s",
            f"{100 * float(stop['cpu']) / float(stop['wall']):.0f}% of one core",
        ),
        (
            "bench client process CPU",
            f"{own:.1f} s",
            f"{100 * own / window:.0f}% of one core; loop lag p50 {pct(lags, 50):.1f} ms, "
            f"p99 {pct(lags, 99):.1f} ms (in the latency)",
        ),
        ("gateway link (/ready)", str(ready_body.get("pbx", {}).get("local", {})), ""),
    ]
    width = max(len(r[0]) for r in rows) + 2
    value_width = max(len(r[1]) for r in rows) + 2
    for name, value, note in rows:
        print(f"{name:<{width}}{value:>{value_width}}  {note}".rstrip())
    kinds = sorted(by_kind.items(), key=lambda kv: -len(kv[1]))
    print(
        "latency by kind, p50/p99 ms (n): "
        + ", ".join(f"{k} {pct(v, 50):.1f}/{pct(v, 99):.1f} ({len(v):,})" for k, v in kinds)
    )
    for line in bad[:10]:
        print(f"  violation: {line}")
    failed = []
    if bad:
        failed.append(f"{len(bad)} need-to-know violations")
    if sessions_max != 1 or sessions_now != 1 or len(logins) != 1:
        failed.append("the PBX did not see exactly one AMI session")
    if not lat_all or delivered == 0:
        failed.append("no event reached a desktop")
    if failed:
        print("FAILED: " + "; ".join(failed))
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("role", nargs="?", default="bench", choices=["bench", "_pbx"])
    parser.add_argument("--agents", type=int, default=500, help="virtual agents = desktops")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured time")
    parser.add_argument(
        "--time-scale", type=float, default=10.0, help="simulated seconds per real second"
    )
    parser.add_argument(
        "--warm-up", type=float, default=600.0, help="simulated seconds fast-forwarded first"
    )
    parser.add_argument("--settle", type=float, default=3.0, help="seconds after every resync")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", help="write a py-spy raw profile of the server here")
    args = parser.parse_args(argv)
    # asyncio's "socket.send() raised exception." for each write to a socket its peer reset
    # (the PBX dropping the gateway's session, sockets closing at the end): noise here.
    logging.getLogger("asyncio").setLevel(logging.ERROR)
    if args.role == "_pbx":
        return asyncio.run(_pbx_serve(args))
    if not 1 <= args.agents <= 5000 or args.seconds <= 0:
        parser.error("--agents must be 1..5000 and --seconds positive")

    from agentdesk.store import migrate
    from agentdesk.store.engine import central_engine
    from tests.support.pgserver import running_server

    work = Path(tempfile.mkdtemp(prefix="agentdesk-bench-cti-"))
    with running_server() as pg:
        url = pg.url(pg.create_database())
        central = central_engine(url)
        migrate.upgrade(central)
        args.lines = seed_central(central, args.agents)
        central.dispose()
        started = time.perf_counter()
        pbx = start_pbx(args)
        print(
            f"PBX simulator: {args.agents} virtual agents, {args.warm_up:g} simulated s "
            f"fast-forwarded, AMI on 127.0.0.1:{pbx.port} ({time.perf_counter() - started:.1f} s)",
            flush=True,
        )
        server = None
        try:
            server = start_server(url, work, pbx)
            import httpx

            deadline = time.monotonic() + 60
            state = ""
            while time.monotonic() < deadline:
                body = httpx.get(server.url + "/ready", timeout=10).json()
                state = body.get("pbx", {}).get("local", {}).get("state", "")
                if state == "connected":
                    break
                time.sleep(0.2)
            if state != "connected":
                print(f"the gateway's PBX link is {state or 'absent'}; giving up", file=sys.stderr)
                return 1
            return asyncio.run(drive(args, server.url, pbx, server, work))
        finally:
            if server is not None:
                server.stop()
            pbx.stop()


if __name__ == "__main__":
    sys.exit(main())
