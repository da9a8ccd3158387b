"""Wallboard responsiveness on the server path: 500 virtual agents in overload, one supervisor.

    .venv/bin/python bench/wallboard.py [--agents 500] [--seconds 60] [--time-scale 10]

Three processes on loopback, as a site runs them:

* the PBX simulator (``bench/cti.py _pbx``, a child): ``--agents`` virtual agents in
  overload (arrivals at three times what the floor answers: every agent busy, queues
  full), ``--warm-up`` simulated seconds fast-forwarded, then ``--time-scale`` times
  real time (500 agents at 10: about 2,000 AMI events/s);
* ``agentdesk server --pbx`` over a throwaway PostgreSQL: its CTI gateway holds the only
  AMI login and its floor (``server/cti/floor.py``) computes the board;
* this process: the supervisor's desktop side, signed in to the server, with the real
  wallboard window fed by ``/api/v1/cti/floor`` (``ServerFloorFeed`` on its own loop
  thread, ``SupervisorFeed`` evaluating alerts and posting snapshots to the GUI thread).

A 5 ms ``QTimer`` heartbeat on the GUI thread measures event-loop stalls (how late
each beat fires). Target (DESIGN.md §5): p99 <= 16 ms. Printed as well: floor
messages and snapshots painted per second; the GUI thread's time in each snapshot
applied and each clock tick (wall and the thread's own CPU: on a loaded box the
first grows, the second does not); CPU per thread, garbage-collection pauses, this
process's CPU and RSS, the server's CPU. ``--profile`` adds a cProfile of the GUI
thread. The heartbeat is only as steady as the box: ``--baseline S`` first runs
the same heartbeat for S seconds with the server and simulator busy but no
wallboard open, and prints it as the box's floor. ``--show`` keeps the window
open for ``--seconds`` instead (for screenshots under Xvfb); ``--wall S``
switches to wall-screen mode after S seconds.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import logging
import os
import pstats
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt, QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from agentdesk.models import Role
from agentdesk.services.desk.pop_latency import percentile as nearest_rank
from agentdesk.services.platform.auth import AgentIdentity

BEAT_MS = 5
SUPERVISOR = "bench.supervisor"


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def thread_cpu() -> dict[str, float]:
    """CPU seconds of each live Python thread of this process (by thread name)."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[str, float] = {}
    for thread in threading.enumerate():
        try:
            with open(f"/proc/self/task/{thread.native_id}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        found[thread.name] = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return found


def percentile(values: list[float], pct: float) -> float:
    return nearest_rank(sorted(values), pct) if values else 0.0


def quiet_qt(kind: QtMsgType, _context: object, message: str) -> None:
    # The offscreen platform says this on every window-size hint: noise, not a finding.
    if "propagateSizeHints" not in message:
        print(f"qt: {message}", file=sys.stderr)


class GcPauses:
    """How long each of Python's garbage collections held the interpreter, by generation."""

    def __init__(self) -> None:
        self.recording = False
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._started = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self.recording:
            self.pauses[info["generation"]].append((time.perf_counter() - self._started) * 1000)

    def report(self) -> None:
        parts = [
            f"gen {gen}: {len(ms)}, max {max(ms):.1f} ms" for gen, ms in self.pauses.items() if ms
        ]
        print("  garbage collections: " + ("; ".join(parts) or "none"))


class GuiWork:
    """Times the wallboard's two GUI-thread handlers: a snapshot applied, a clock tick.

    Wraps them on the class before the window connects them, so the window
    itself is unchanged. Wall time and the GUI thread's own CPU time (this
    thread only: the same work on a loaded box shows in the first, not the second).
    """

    NAMES = ("_on_feed_snapshot_ready", "_on_tick_timeout")

    def __init__(self) -> None:
        self.recording = False
        self.samples: dict[str, list[tuple[float, float]]] = {n: [] for n in self.NAMES}

    def install(self, cls: type) -> None:
        for name in self.NAMES:
            setattr(cls, name, self._timed(name, getattr(cls, name)))

    def _timed(self, name: str, handler: Any) -> Any:
        samples = self.samples[name]

        def timed(window: Any, *args: Any) -> None:
            wall, cpu = time.perf_counter(), time.thread_time()
            handler(window, *args)
            if self.recording:
                samples.append(((time.perf_counter() - wall) * 1000,
                                (time.thread_time() - cpu) * 1000))  # fmt: skip

        return timed

    def report(self) -> None:
        for name, label in zip(self.NAMES, ("snapshot applied", "clock tick"), strict=True):
            samples = self.samples[name]
            if not samples:
                continue
            wall, cpu = [s[0] for s in samples], [s[1] for s in samples]
            print(
                f"  GUI time per {label} ({len(samples)}): wall p50 {percentile(wall, 50):.1f} "
                f"p99 {percentile(wall, 99):.1f} max {max(wall):.1f} ms; thread CPU p50 "
                f"{percentile(cpu, 50):.1f} p99 {percentile(cpu, 99):.1f} max {max(cpu):.1f} ms"
            )


def seed(central_url: str, agents: int) -> None:
    """The simulator's agents (interfaces, callers as customers) and one supervisor."""
    from sqlalchemy import update

    from agentdesk.models import Agent
    from agentdesk.store import migrate
    from agentdesk.store.engine import central_engine, write_session
    from bench._server import add_agents
    from bench.cti import seed_central

    central = central_engine(central_url)
    try:
        migrate.upgrade(central)
        seed_central(central, agents)
        (login,) = add_agents(central, "bench.sup", 1)
        with write_session(central) as s:
            s.execute(
                update(Agent)
                .where(Agent.login == login)
                .values(login=SUPERVISOR, role=Role.SUPERVISOR)
            )
    finally:
        central.dispose()


def wait_connected(url: str, timeout: float = 60.0) -> bool:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = httpx.get(url + "/ready", timeout=10).json()
        if body.get("pbx", {}).get("local", {}).get("state") == "connected":
            return True
        time.sleep(0.2)
    return False


def open_board(url: str, data: Path) -> tuple[Any, list[Any]]:
    """The supervisor's wallboard on the server's floor, as the desktop opens it."""
    from agentdesk.client.api import ServerApi
    from agentdesk.client.floor import ServerFloorFeed
    from agentdesk.services.desk.agent_state import load_policy
    from agentdesk.services.supervisor import load_settings
    from agentdesk.store import migrate
    from agentdesk.store.engine import sqlite_engine
    from agentdesk.store.writer import LocalWriter
    from agentdesk.ui.bridge import Bridge
    from agentdesk.ui.supervisor import open_wallboard
    from bench._server import PASSWORD

    engine = sqlite_engine(data / "cache.db")
    migrate.upgrade(engine)
    api = ServerApi(url)
    api.sign_in(SUPERVISOR, PASSWORD, "bench-wallboard")
    session = AgentIdentity(uuid.uuid4(), SUPERVISOR, "Bench Supervisor", Role.SUPERVISOR,
                            None, None)  # fmt: skip
    bridge = Bridge()
    window = open_wallboard(
        session, load_settings(), audit=LocalWriter(engine, SUPERVISOR),
        source=ServerFloorFeed(api), bridge=bridge, workstation="bench",
        reasons=load_policy().reasons,
    )  # fmt: skip
    return window, [api, bridge, engine]


def heartbeat(app: QApplication, seconds: float) -> list[float]:
    """How late each 5 ms beat fires over ``seconds`` of Qt's event loop (nothing else)."""
    lateness: list[float] = []
    last = [time.perf_counter()]

    def beat() -> None:
        t = time.perf_counter()
        lateness.append(max(0.0, (t - last[0]) * 1000 - BEAT_MS))
        last[0] = t

    heart = QTimer()
    heart.setTimerType(Qt.TimerType.PreciseTimer)
    heart.setInterval(BEAT_MS)
    heart.timeout.connect(beat)
    heart.start()
    QTimer.singleShot(int(seconds * 1000), app.quit)
    app.exec()
    heart.stop()
    return lateness


def describe(lateness: list[float]) -> str:
    return (
        f"{len(lateness)} beats of {BEAT_MS} ms: p50 {percentile(lateness, 50):.2f} ms, "
        f"p99 {percentile(lateness, 99):.2f} ms, max {max(lateness):.1f} ms, "
        f"mean {statistics.fmean(lateness):.2f} ms"
    )


def measure(
    app: QApplication, window: Any, args: argparse.Namespace, server: Any, work: GuiWork
) -> bool:
    lateness: list[float] = []
    last = [time.perf_counter()]
    measuring = [False]

    def beat() -> None:
        t = time.perf_counter()
        if measuring[0]:
            lateness.append(max(0.0, (t - last[0]) * 1000 - BEAT_MS))
        last[0] = t

    heart = QTimer()
    heart.setTimerType(Qt.TimerType.PreciseTimer)
    heart.setInterval(BEAT_MS)
    heart.timeout.connect(beat)
    heart.start()
    feed = window.feed
    snaps = [0]
    window.snapshot_applied.connect(lambda _s: snaps.__setitem__(0, snaps[0] + 1))
    marks: dict[str, float] = {}
    gc_pauses = GcPauses()
    threads_at_start: dict[str, float] = {}

    def begin() -> None:
        # The GUI thread stays in Qt's own event loop (app.exec), as in the desktop.
        marks["messages"], snaps[0] = feed.messages_seen, 0
        marks["cpu"], marks["t"] = time.process_time(), time.monotonic()
        marks["server_cpu"] = server.cpu_seconds()
        threads_at_start.update(thread_cpu())
        measuring[0] = work.recording = gc_pauses.recording = True
        last[0] = time.perf_counter()
        QTimer.singleShot(int(args.seconds * 1000), app.quit)

    QTimer.singleShot(int(args.warmup * 1000), begin)
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        # GUI thread only (a profiler hooks the thread that enables it).
        QTimer.singleShot(int(args.warmup * 1000), profiler.enable)
    app.exec()
    measuring[0] = work.recording = gc_pauses.recording = False
    heart.stop()
    if profiler is not None:
        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(25)
    if "t" not in marks:
        print("nothing measured", file=sys.stderr)
        return False
    elapsed = time.monotonic() - marks["t"]
    cpu = time.process_time() - marks["cpu"]
    server_cpu = server.cpu_seconds() - marks["server_cpu"]
    messages = feed.messages_seen - marks["messages"]
    snap = window.last_snapshot
    waiting = sum(q.waiting for q in snap.queues) if snap else 0
    busy = sum(1 for a in snap.agents if a.status.value in ("on_call", "ringing")) if snap else 0
    print(
        f"wallboard bench (server path): {args.agents} virtual agents in overload, time scale "
        f"{args.time_scale:g}, {elapsed:.0f} s measured after {args.warmup:.0f} s warm-up; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"  floor messages received: {messages} ({messages / elapsed:.1f}/s); "
        f"snapshots painted: {snaps[0]} ({snaps[0] / elapsed:.1f}/s)"
    )
    print(
        f"  floor at the end: {len(snap.agents) if snap else 0} agents, {busy} ringing or on a "
        f"call, {waiting} callers waiting; PBX badge: {window.ui.link.text()!r}"
    )
    if lateness:
        print(f"  GUI stall (heartbeat lateness, {describe(lateness)})")
    work.report()
    gc_pauses.report()
    used = {
        name: (cpu_s - threads_at_start[name]) / elapsed * 100
        for name, cpu_s in thread_cpu().items()
        if name in threads_at_start
    }
    print("  CPU by thread (% of one core): " + ", ".join(
        f"{name} {pct:.1f}" for name, pct in sorted(used.items(), key=lambda i: -i[1]) if pct >= 0.1
    ))  # fmt: skip
    print(
        f"  desktop process CPU {cpu / elapsed * 100:.0f}% of one core; RSS {rss_mb():.0f} MB; "
        f"server process CPU {server_cpu / elapsed * 100:.0f}% of one core"
    )
    ok = bool(lateness) and percentile(lateness, 99) <= 16.0 and snaps[0] > 0
    print(f"  target p99 <= 16 ms with snapshots painted: {'PASS' if ok else 'FAIL'}")
    return ok


def run(args: argparse.Namespace) -> int:
    from bench.cti import start_pbx, start_server
    from tests.support.pgserver import running_server

    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    work = Path(tempfile.mkdtemp(prefix="agentdesk-bench-wallboard-"))
    with running_server() as pg:
        url = pg.url(pg.create_database())
        seed(url, args.agents)
        pbx = start_pbx(args)
        server = None
        try:
            server = start_server(url, work, pbx)
            if not wait_connected(server.url):
                print("the server's gateway never logged in to the PBX", file=sys.stderr)
                return 1
            from agentdesk.ui.supervisor.wallboard import WallboardWindow

            if args.baseline > 0 and not args.show:
                floor = heartbeat(app, args.baseline)
                print(f"box floor: no wallboard, server and simulator busy, load "
                      f"{os.getloadavg()[0]:.1f}: {describe(floor)}")  # fmt: skip

            timing = GuiWork()
            timing.install(WallboardWindow)
            window, keep = open_board(server.url, work)
            window.show()
            if args.show:
                if args.wall is not None:
                    QTimer.singleShot(int(args.wall * 1000),
                                      lambda: window.wall.set_enabled(True))  # fmt: skip
                QTimer.singleShot(int(args.seconds * 1000), app.quit)
                app.exec()
                ok = True
            else:
                ok = measure(app, window, args, server, timing)
            window.shutdown()
            keep[0].close()
            keep[1].shutdown()
            keep[2].dispose()
            return 0 if ok else 1
        finally:
            if server is not None:
                server.stop()
            pbx.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument(
        "--time-scale", type=float, default=3.0, help="simulated seconds per real second"
    )
    parser.add_argument(
        "--warm-up", type=float, default=600.0, help="simulated seconds fast-forwarded first"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=60.0, help="measured (or shown) time")
    parser.add_argument("--warmup", type=float, default=15.0, help="real seconds before measuring")
    parser.add_argument(
        "--baseline", type=float, default=10.0, metavar="S",
        help="first S seconds of the heartbeat with no wallboard open (the box's floor)",
    )  # fmt: skip
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the GUI thread while measuring"
    )
    parser.add_argument("--show", action="store_true", help="keep the wallboard open (screenshots)")
    parser.add_argument(
        "--wall", type=float, metavar="S", help="with --show: wall-screen mode after S seconds"
    )
    args = parser.parse_args()
    if not 1 <= args.agents <= 5000 or args.seconds <= 0:
        parser.error("--agents must be 1..5000 and --seconds positive")
    qInstallMessageHandler(quiet_qt)
    # asyncio's per-write complaint after a peer reset (sockets closing at the end): noise.
    logging.getLogger("asyncio").setLevel(logging.ERROR)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
