"""Wallboard responsiveness under the simulator's overload mode with 500 virtual agents.

    .venv/bin/python bench/wallboard.py [--agents 500] [--rate 20000] [--seconds 60]

The PBX simulator runs as its own process (``agentdesk pbx --overload``), as
a real PBX would; this process is the supervisor desktop: the real
wallboard window, its AMI client and feed on the telephony loop thread.
A 5 ms ``QTimer`` heartbeat on the GUI thread measures event-loop stalls
(how late each beat fires). Target (DESIGN.md §5): p99 ≤ 16 ms; RSS printed.

``--show`` instead keeps the wallboard open with a day of history (for
screenshots under Xvfb): ``--wall`` starts it in wall-screen mode.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt, QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from agentdesk.models import Role
from agentdesk.services.desk.agent_state import load_policy
from agentdesk.services.desk.pop_latency import percentile as nearest_rank
from agentdesk.services.platform.auth import AgentIdentity
from agentdesk.services.supervisor import load_settings
from agentdesk.store import migrate
from agentdesk.store.engine import sqlite_engine
from agentdesk.store.writer import LocalWriter
from agentdesk.telephony.client import AmiClient
from agentdesk.telephony.loop_thread import LoopThread
from agentdesk.telephony.sim import PbxSimulator, load_config
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.supervisor import WallboardWindow, open_wallboard

BEAT_MS = 5


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], pct: float) -> float:
    return nearest_rank(sorted(values), pct)


def quiet_qt(kind: QtMsgType, _context: object, message: str) -> None:
    # The offscreen platform says this on every window-size hint: noise, not a finding.
    if "propagateSizeHints" not in message:
        print(f"qt: {message}", file=sys.stderr)


def start_pbx(
    args: argparse.Namespace, queue_log: Path | None
) -> tuple[subprocess.Popen[str], int]:
    """``agentdesk pbx`` in its own process; returns it and the AMI port it bound."""
    command = [
        sys.executable, "-m", "agentdesk.cli", "pbx", "--port", "0", "--agents", str(args.agents),
        "--rate", str(args.rate), "--seed", "7", "--time-scale", str(args.time_scale),
    ]  # fmt: skip
    if args.overload:
        command.append("--overload")
    if queue_log is not None:
        command += ["--queue-log", str(queue_log)]
    pbx = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert pbx.stdout is not None
    line = pbx.stdout.readline()
    match = re.search(r":(\d+) \(users", line)
    if match is None:
        pbx.kill()
        raise SystemExit(f"the PBX simulator did not start: {line!r}")
    return pbx, int(match.group(1))


def write_history(path: Path, agents: int) -> None:
    """The day so far (up to 10 h) and the same weekday last week, written by the simulator."""
    now = dt.datetime.now().astimezone()
    midnight = dt.datetime.combine(now.date(), dt.time.min, tzinfo=now.tzinfo)
    start = max(midnight, now - dt.timedelta(hours=10))
    week = dt.timedelta(weeks=1)
    for begin, seconds in ((start - week, 12 * 3600.0), (start, (now - start).total_seconds())):
        if seconds < 600:
            continue
        sim = PbxSimulator(load_config(), seed=begin.toordinal(), epoch=begin.timestamp(),
                           queue_log=path, virtual_agents=agents, traffic=True)  # fmt: skip
        sim.run_for(seconds - 120)
        sim.close()


def open_board(
    port: int, queue_log: Path | None, data: Path
) -> tuple[WallboardWindow, list[object]]:
    engine = sqlite_engine(data / "cache.db")
    migrate.upgrade(engine)
    session = AgentIdentity(uuid.uuid4(), "sam", "Sam Supervisor", Role.SUPERVISOR, None, None)
    loop, bridge = LoopThread("bench-telephony"), Bridge()
    client = AmiClient("127.0.0.1", port, "agentdesk", "agentdesk")
    window = open_wallboard(
        session, load_settings(), audit=LocalWriter(engine, "sam"), client=client, loop=loop,
        bridge=bridge, queue_log=queue_log, workstation="bench", reasons=load_policy().reasons,
    )  # fmt: skip
    return window, [client, loop, bridge, engine]


def run_bench(args: argparse.Namespace) -> int:
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory(prefix="agentdesk-bench-") as tmp:
        pbx, port = start_pbx(args, None)
        try:
            window, keep = open_board(port, None, Path(tmp))
            window.show()
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
            events0, snaps = [0], [0]
            window.snapshot_applied.connect(lambda _s: snaps.__setitem__(0, snaps[0] + 1))
            marks: dict[str, float] = {}

            def begin() -> None:
                # The GUI thread stays in Qt's own event loop (app.exec), as in the desktop.
                events0[0], snaps[0] = feed.events_seen, 0
                marks["cpu"], marks["t"] = time.process_time(), time.monotonic()
                measuring[0] = True
                last[0] = time.perf_counter()
                QTimer.singleShot(int(args.seconds * 1000), app.quit)

            QTimer.singleShot(int(args.warmup * 1000), begin)
            app.exec()
            measuring[0] = False
            cpu0, t0 = marks["cpu"], marks["t"]
            elapsed, cpu = time.monotonic() - t0, time.process_time() - cpu0
            heart.stop()
            snap = window.last_snapshot
            events = feed.events_seen - events0[0]
            waiting = sum(q.waiting for q in snap.queues) if snap else 0
            busy = (
                sum(1 for a in snap.agents if a.status.value in ("on_call", "ringing"))
                if snap
                else 0
            )
            print(
                f"wallboard bench: {args.agents} virtual agents, overload={args.overload}, "
                f"rate {args.rate:g}/h, {elapsed:.0f} s measured after {args.warmup:.0f} s warm-up"
            )
            print(
                f"  wallboard events received: {events} ({events / elapsed:.0f}/s); "
                f"snapshots painted: {snaps[0]} ({snaps[0] / elapsed:.1f}/s)"
            )
            print(
                f"  floor at the end: {len(snap.agents) if snap else 0} agents, {busy} on a call, "
                f"{waiting} callers waiting"
            )
            print(
                f"  GUI stall (heartbeat lateness, {len(lateness)} beats of {BEAT_MS} ms): "
                f"p50 {percentile(lateness, 50):.2f} ms, p99 {percentile(lateness, 99):.2f} ms, "
                f"max {max(lateness):.1f} ms, mean {statistics.fmean(lateness):.2f} ms"
            )
            print(f"  process CPU {cpu / elapsed * 100:.0f}% of one core; RSS {rss_mb():.0f} MB")
            ok = percentile(lateness, 99) <= 16.0
            print(f"  target p99 <= 16 ms: {'PASS' if ok else 'FAIL'}")
            window.shutdown()
            client, loop = keep[0], keep[1]
            loop.submit(client.close()).result(5)  # type: ignore[attr-defined]
            loop.stop()  # type: ignore[attr-defined]
            keep[2].shutdown()  # type: ignore[attr-defined]
            return 0 if ok else 1
        finally:
            pbx.terminate()
            out, _ = pbx.communicate(timeout=10)
            match = re.search(r"(\d+) calls, (\d+) events", out or "")
            if match:
                print(
                    f"  PBX simulator (own process): {match.group(1)} calls, "
                    f"{match.group(2)} AMI events in total"
                )


def run_show(args: argparse.Namespace) -> int:
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory(prefix="agentdesk-show-") as tmp:
        history = Path(tmp) / "queue_log"
        write_history(history, 40)
        pbx, port = start_pbx(args, history)
        try:
            window, _keep = open_board(port, history, Path(tmp))
            window.show()
            if args.wall is not None:
                QTimer.singleShot(int(args.wall * 1000), lambda: window.wall.set_enabled(True))
            QTimer.singleShot(int(args.seconds * 1000), app.quit)
            app.exec()
            window.shutdown()
            return 0
        finally:
            pbx.terminate()
            pbx.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument(
        "--rate", type=float, default=20000.0, help="arrivals per hour before the overload factor"
    )
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--no-overload", dest="overload", action="store_false")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds to fill the floor")
    parser.add_argument("--show", action="store_true", help="keep the wallboard open (screenshots)")
    parser.add_argument(
        "--wall", type=float, metavar="S", help="with --show: wall-screen mode after S seconds"
    )
    args = parser.parse_args()
    qInstallMessageHandler(quiet_qt)
    return run_show(args) if args.show else run_bench(args)


if __name__ == "__main__":
    sys.exit(main())
