"""``agentdesk report`` over a year of queue_log: wall time and peak RSS (issue 15).

Target: a year of queue_log (about 1 M lines) reported in at most 10 s with
a peak RSS of at most 300 MB.

The log is written once by the PBX simulator in fast-forward (seeded, so the
same arguments always give the same file) and cached under ``--cache``
(default: the system temp directory); ``--queue-log PATH`` reads an existing
file instead. Traffic follows a day profile (quiet nights, a morning and an
afternoon peak) over ``--days`` days with ``--agents`` virtual agents.

Each measured run is a fresh ``python -m agentdesk report`` process, so the
peak RSS (``ru_maxrss`` of the child) is the whole command's, imports
included, exactly what a supervisor's machine sees. ``--profile`` adds a
cProfile of the report in this process (top functions by own time).

Run: .venv/bin/python bench/reports.py [--days 365] [--agents 12] [--interval day]
     [--by queue] [--runs 3] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC
from pathlib import Path

EPOCH = 1_704_067_200.0  # 2024-01-01 00:00 UTC
TARGET_S = 10.0
TARGET_RSS_MB = 300.0
# Calls per hour, one value per hour of the day: quiet nights, two daytime peaks.
DAY_PROFILE = (
    2, 1, 1, 1, 1, 2, 6, 14, 30, 42, 46, 40, 32, 36, 44, 42, 34, 24, 14, 9, 7, 5, 4, 3,
)  # fmt: skip


def generate(path: Path, days: int, agents: int, scale: float) -> None:
    """Run the simulator day by day into ``path`` (written to a temporary name, then renamed)."""
    from agentdesk.telephony.sim import PbxSimulator, load_config
    from agentdesk.telephony.sim.traffic import RateProfile

    config = load_config()
    profile = RateProfile(tuple(r * scale for r in DAY_PROFILE), slot_seconds=3600.0)
    config = config.with_(traffic=replace(config.traffic, profile=profile))
    partial = path.with_suffix(".partial")
    sim = PbxSimulator(
        config, seed=15, virtual_agents=agents, epoch=EPOCH, queue_log=partial, events=False
    )
    started = time.perf_counter()
    for _ in range(days):
        sim.run_for(86400)
    sim.close()
    stats = sim.stats()
    partial.replace(path)
    print(
        f"generated {path}: {stats.queue_log_lines:,} lines, {days} days, {agents} agents, "
        f"{stats.offered:,} calls ({time.perf_counter() - started:.0f} s)"
    )


def cached_log(cache: Path, days: int, agents: int, scale: float) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"queue_log-{days}d-{agents}a-x{scale:g}-seed15"
    if not path.exists():
        generate(path, days, agents, scale)
    return path


def command(path: Path, args: argparse.Namespace) -> list[str]:
    cmd = [sys.executable, "-m", "agentdesk.cli", "report", "--queue-log", str(path),
           "--interval", args.interval, "--by", args.by, "--tz", "UTC"]  # fmt: skip
    if args.csv:
        cmd += ["--csv", os.devnull]
    return cmd


def measure_isolated(cmd: list[str]) -> tuple[float, float, float, int]:
    """Wall s, peak RSS MB, CPU s and stdout lines of ``cmd``, run under a fresh helper
    process so that RUSAGE_CHILDREN holds this run alone."""
    helper = (
        "import json,resource,subprocess,sys,time\n"
        "t=time.perf_counter()\n"
        "p=subprocess.run(sys.argv[1:],capture_output=True,text=True)\n"
        "w=time.perf_counter()-t\n"
        "u=resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(json.dumps([p.returncode,w,u.ru_maxrss/1024,u.ru_utime+u.ru_stime,"
        "p.stdout.count(chr(10)),p.stderr[-2000:]]))\n"
    )
    import json

    done = subprocess.run(
        [sys.executable, "-c", helper, *cmd], capture_output=True, text=True, check=True
    )
    code, wall, rss, cpu, lines, err = json.loads(done.stdout)
    if code != 0:
        raise SystemExit(f"report failed ({code}): {err.strip()}")
    return wall, rss, cpu, lines


def profile(path: Path, args: argparse.Namespace) -> None:
    from agentdesk.services.supervisor.queue_metrics import MetricsConfig
    from agentdesk.services.supervisor.reports import GroupBy, Interval, report_from_queue_log

    config = MetricsConfig(tz=UTC)
    profiler = cProfile.Profile()
    profiler.enable()
    report_from_queue_log(path, config, interval=Interval(args.interval), group_by=GroupBy(args.by))
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(18)
    print(text.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--agents", type=int, default=12)
    parser.add_argument("--scale", type=float, default=2.15, help="multiply the day profile")
    parser.add_argument("--queue-log", type=Path, help="report on this file instead")
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "agentdesk-bench"
    )
    parser.add_argument("--interval", default="day", choices=["15", "30", "60", "day"])
    parser.add_argument("--by", default="queue", choices=["queue", "agent", "total"])
    parser.add_argument("--csv", action="store_true", help="also write the CSV (to /dev/null)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--generate-only", action="store_true")
    args = parser.parse_args()
    path = args.queue_log or cached_log(args.cache, args.days, args.agents, args.scale)
    if args.generate_only:
        return
    with open(path, "rb") as handle:
        lines = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
    cmd = command(path, args)
    print(f"queue_log: {path} ({lines:,} lines, {path.stat().st_size / 1e6:.0f} MB)")
    print("command:  ", " ".join(cmd))
    walls, peaks, cpus = [], [], []
    printed = 0
    for run in range(1, max(1, args.runs) + 1):
        load = os.getloadavg()[0]
        wall, rss, cpu, printed = measure_isolated(cmd)
        walls.append(wall)
        peaks.append(rss)
        cpus.append(cpu)
        print(
            f"run {run}: {wall:6.2f} s wall, {cpu:6.2f} s CPU, peak RSS {rss:6.1f} MB "
            f"(load average {load:.1f} at start)"
        )
    best, peak = min(walls), max(peaks)
    print(
        f"report lines printed: {printed:,}; load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} CPUs (wall time stretches on a busy machine; CPU does not)"
    )
    verdict = "PASS" if best <= TARGET_S and peak <= TARGET_RSS_MB else "FAIL"
    print(
        f"result: best {best:.2f} s wall / {min(cpus):.2f} s CPU (target ≤ {TARGET_S:g} s), "
        f"peak RSS {peak:.1f} MB (target ≤ {TARGET_RSS_MB:g} MB): {verdict}"
    )
    if args.profile:
        profile(path, args)


if __name__ == "__main__":
    main()
