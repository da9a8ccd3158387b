"""Ring → screen-pop-painted latency of the real desktop (offscreen) against a 1 M-customer store.

    .venv/bin/python bench/screen_pop.py [--via server|direct] [--customers 1000000]
                                         [--calls 500] [--db PATH]

Seeds (once, then reused) an SQLite store with the demo generator, starts a PBX
simulator in-process (no traffic of its own) and replays Asterisk 20
``AgentCalled`` bytes for the bench agent's interface (90 % callers from the
store, 10 % unknown numbers), one call at a time, dismissing each with
``AgentRingNoAnswer``.

``--via server`` (the default, as sites run it): the seeded store is the
central store of an ``agentdesk server`` process whose CTI gateway holds the
PBX's only AMI session, matches the caller against the 1 M customers and sends
the offer with its match over ``/api/v1/cti``; the desktop signs in to that
server with an empty cache. ``--via direct``: the seeded store is the
desktop's own cache and the desktop logs in to the PBX itself (labs).

For every call it records

* desktop: ``AgentCalled`` decoded on the desktop → pop painted (what the
  desktop stores per call, ``PopLatencyRecorder``), and
* wire: ``AgentCalled`` bytes written by the PBX → pop painted.

Targets: p50 ≤ 15 ms and p99 ≤ 30 ms through the server (issue 11), p50 ≤ 15 ms
and p99 ≤ 50 ms direct (DESIGN.md §5).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from sqlalchemy import func, select

from agentdesk.app import AmiCredentials, Stores, build_desktop, server_connection
from agentdesk.client.api import ServerApi
from agentdesk.client.signin import DesktopSignIn
from agentdesk.config import Settings
from agentdesk.models import Agent, Customer, Role
from agentdesk.services.desk.pop_latency import percentile
from agentdesk.services.platform.auth import AgentIdentity, hash_password
from agentdesk.services.seeding.generator import SeedOptions, seed
from agentdesk.store import migrate
from agentdesk.store.engine import sqlite_engine, write_session
from agentdesk.telephony.codec import AmiMessage
from agentdesk.telephony.loop_thread import LoopThread
from agentdesk.telephony.sim.config import load_config
from agentdesk.telephony.sim.simulator import PbxSimulator
from agentdesk.ui.bridge import Bridge
from bench._server import PASSWORD, ServerProcess, start_server

IFACE = "PJSIP/1999"  # the bench agent's phone (the seeded agents use 1001…)
LOGIN = "popbench"
TARGETS = {"server": {"p50": 15.0, "p99": 30.0}, "direct": {"p50": 15.0, "p99": 50.0}}


def prepare_store(path: Path, customers: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = sqlite_engine(path)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        have = conn.execute(select(func.count()).select_from(Customer)).scalar() or 0
    if have < customers:
        print(
            f"seeding {customers - have:,} customers into {path} (once; reused next time) …",
            flush=True,
        )
        started = time.perf_counter()
        seed(engine, SeedOptions(customers=customers - have, seed=11), workers=2)
        print(f"  seeded in {time.perf_counter() - started:.0f} s", flush=True)
    engine.dispose()


def ensure_bench_agent(path: Path) -> None:
    """The bench's agent (``popbench`` on PJSIP/1999) in the seeded store, once."""
    engine = sqlite_engine(path)
    with write_session(engine) as s:
        if s.scalar(select(Agent.id).where(Agent.login == LOGIN)) is None:
            s.add(
                Agent(
                    id=uuid.uuid4(),
                    login=LOGIN,
                    display_name="Pop Bench",
                    role=Role.AGENT,
                    password_hash=hash_password(PASSWORD),
                    interface=IFACE,
                    extension="1999",
                    active=True,
                )
            )
    engine.dispose()


def sample_numbers(path: Path, count: int, rng: random.Random) -> list[str]:
    """Random stored numbers, by random rowid (point reads, fast on a million rows)."""
    engine = sqlite_engine(path)
    numbers: list[str] = []
    with engine.connect() as conn:
        top = conn.exec_driver_sql("SELECT max(rowid) FROM customer_phone").scalar() or 0
        for _ in range(count * 2):
            if len(numbers) >= count or not top:
                break
            number = conn.exec_driver_sql(
                "SELECT e164 FROM customer_phone WHERE rowid = ?", (rng.randint(1, top),)
            ).scalar()
            if number:
                numbers.append(number)
    engine.dispose()
    return numbers


def agent_called(linkedid: str, number: str) -> AmiMessage:
    agent_chan = f"{IFACE}-{int(linkedid.split('.')[1]):08x}"
    ext = IFACE.split("/", 1)[1]
    pairs = [("Event", "AgentCalled"), ("Privilege", "agent,all")]
    for prefix, chan, state, num in (
        ("", "PJSIP/carrier-00000001", "6", number),
        ("Dest", agent_chan, "5", ext),
    ):
        pairs += [
            (f"{prefix}Channel", chan),
            (f"{prefix}ChannelState", state),
            (f"{prefix}ChannelStateDesc", "Up" if state == "6" else "Ringing"),
            (f"{prefix}CallerIDNum", num),
            (f"{prefix}CallerIDName", "<unknown>"),
            (f"{prefix}ConnectedLineNum", "<unknown>"),
            (f"{prefix}ConnectedLineName", "<unknown>"),
            (f"{prefix}Language", "en"),
            (f"{prefix}AccountCode", ""),
            (f"{prefix}Context", "from-carrier"),
            (f"{prefix}Exten", "s"),
            (f"{prefix}Priority", "1"),
            (f"{prefix}Uniqueid", linkedid),
            (f"{prefix}Linkedid", linkedid),
        ]
        if not prefix:
            pairs += [
                ("ChanVariable", f"IVR_SESSION={uuid.uuid4()}"),
                ("ChanVariable", "IVR_INTENT=balance"),
                ("ChanVariable", "IVR_LANGUAGE=en"),
                ("ChanVariable", "IDV_RESULT=passed"),
                ("ChanVariable", "IDV_METHOD=pin"),
                ("ChanVariable", "IDV_ATTEMPTS=1"),
            ]
    pairs += [("Queue", "general"), ("Interface", IFACE), ("MemberName", "Bench Agent")]
    return AmiMessage(tuple(pairs))


def ring_no_answer(called: AmiMessage) -> AmiMessage:
    headers = [(k, v) for k, v in called.headers if k != "Event"]
    return AmiMessage((("Event", "AgentRingNoAnswer"), *headers[1:], ("RingTime", "15000")))


class Bench:
    """Drives one call at a time through the real desktop and collects both latencies."""

    def __init__(self, numbers: list[str], calls: int, warmup: int, rng: random.Random) -> None:
        self.numbers, self.calls, self.warmup, self.rng = numbers, calls, warmup, rng
        # The simulator answers the gateway's resync (QueueStatus, CoreShowChannels); it
        # makes no calls of its own: the bench writes each AgentCalled itself.
        self.sim = PbxSimulator(load_config(None), seed=1, traffic=False, virtual_agents=0)
        self.server = self.sim.server
        self.loop = LoopThread("bench-ami")
        self.loop.start()
        self.loop.submit(self.sim.start()).result(10)
        self.sent: dict[str, float] = {}
        self.wire: list[float] = []
        self.desk: list[float] = []
        self.kinds: dict[str, str] = {}
        self.count = 0

    def send(self) -> None:
        self.count += 1
        linkedid = f"1700000000.{self.count}"
        known = self.rng.random() < 0.9
        number = (
            self.rng.choice(self.numbers) if known else f"+4477009{self.rng.randrange(10**5):05d}"
        )
        self.kinds[linkedid] = "known" if known else "unknown"
        message = agent_called(linkedid, number)

        def publish() -> None:
            self.sent[linkedid] = time.perf_counter()
            self.server.publish(message, "agent")

        self.loop.call_soon(publish)

    def on_painted(self, linkedid: str, desk_ms: float) -> None:
        wire_ms = (time.perf_counter() - self.sent[linkedid]) * 1000
        if self.count > self.warmup:
            self.desk.append(desk_ms)
            self.wire.append(wire_ms)

    def dismiss_and_next(self, linkedid: str, app: QApplication) -> None:
        number = "x"
        self.loop.call_soon(
            self.server.publish, ring_no_answer(agent_called(linkedid, number)), "agent"
        )
        if self.count >= self.calls + self.warmup:
            QTimer.singleShot(50, app.quit)
        else:
            QTimer.singleShot(5, self.send)  # let the dismissal land first


def report(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    return (
        f"{name:>8}: n={len(ordered)}  p50={percentile(ordered, 50):6.2f} ms  "
        f"p95={percentile(ordered, 95):6.2f} ms  p99={percentile(ordered, 99):6.2f} ms  "
        f"max={ordered[-1]:6.2f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--via", choices=("server", "direct"), default="server")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args()
    db = args.db or Path.home() / ".cache" / "agentdesk-bench" / f"customers-{args.customers}.db"
    prepare_store(db, args.customers)
    ensure_bench_agent(db)
    rng = random.Random(5)
    numbers = sample_numbers(db, 2000, rng)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    bench = Bench(numbers, args.calls, args.warmup, rng)
    work = Path(tempfile.mkdtemp(prefix="agentdesk-popbench-"))
    bridge = Bridge()
    server: ServerProcess | None = None
    if args.via == "server":
        secret = work / "ami.secret"
        secret.write_text("agentdesk\n", encoding="utf-8")
        secret.chmod(0o600)
        pbx = ("--pbx", f"127.0.0.1:{bench.sim.port}", "--pbx-secret-file", str(secret))
        server = start_server(f"sqlite:///{db}", work, extra=pbx)
        api = ServerApi(server.url)
        signin = DesktopSignIn(api, "ws-popbench")
        identity = signin.authenticate(LOGIN, PASSWORD)
        connection = server_connection(api, signin.grant)
        local = sqlite_engine(work / "cache.db")  # an empty cache: the match is the server's
        migrate.upgrade(local)
        desktop = build_desktop(
            Settings(data_dir=work),
            Stores(local),
            identity,
            bridge,
            None,
            server=connection,
            with_sync=False,
        )
        where = f"central store {db} behind agentdesk server {server.url}, empty cache"
    else:
        local = sqlite_engine(db)
        identity = AgentIdentity(uuid.uuid4(), LOGIN, "Pop Bench", Role.AGENT, IFACE, "1999")
        desktop = build_desktop(
            Settings(data_dir=work),
            Stores(local),
            identity,
            bridge,
            AmiCredentials("127.0.0.1", bench.sim.port, "agentdesk", "agentdesk", "md5"),
            server=None,
        )
        where = f"local store {db} (the desktop's own AMI login)"
    desktop.window.show()
    pop = desktop.window.pop
    pop.pop_painted.connect(bench.on_painted)
    pop.pop_painted.connect(lambda linkedid, _ms: bench.dismiss_and_next(linkedid, app))

    def start_when_connected() -> None:
        if desktop.link.state.value == "connected":
            QTimer.singleShot(500, bench.send)  # the resync lands first
        else:
            QTimer.singleShot(50, start_when_connected)

    QTimer.singleShot(0, start_when_connected)
    QTimer.singleShot(600_000, app.quit)  # a hung run still ends
    started = time.perf_counter()
    app.exec()
    elapsed = time.perf_counter() - started
    with sqlite_engine(db).connect() as conn:
        customers = conn.execute(select(func.count()).select_from(Customer)).scalar()
    print(
        f"screen pop via {args.via}, real desktop offscreen, {where} ({customers:,} customers), "
        f"{len(bench.desk)} calls in {elapsed:.1f} s"
    )
    if server is not None:
        print(f"  server process: {server.cpu_seconds():.1f} CPU-s, RSS {server.rss_mb():.0f} MB")
    ok = bool(bench.wire)
    if ok:
        print(report("desktop", bench.desk) + "   (AgentCalled decoded on the desktop → painted)")
        print(report("wire", bench.wire) + "   (AgentCalled bytes written by the PBX → painted)")
        ordered = sorted(bench.wire)
        target = TARGETS[args.via]
        ok = percentile(ordered, 50) <= target["p50"] and percentile(ordered, 99) <= target["p99"]
        verdict = "met" if ok else "MISSED"
        print(f"targets p50 ≤ {target['p50']:.0f} ms, p99 ≤ {target['p99']:.0f} ms: {verdict}")
    else:
        print("no pop was painted: nothing measured (see the server's lines above)")
    desktop.shutdown()
    bridge.shutdown()
    if server is not None:
        server.stop()
    bench.loop.submit(bench.sim.stop()).result(5)
    bench.loop.stop()
    local.dispose()
    desktop.window.deleteLater()
    app.processEvents()
    app.shutdown()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
