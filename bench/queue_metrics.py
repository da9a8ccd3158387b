"""Queue analytics throughput on a realistic ~1M-line queue_log from the PBX simulator.

Figures (rates are per CPU second of this process, so other work on the
machine skews them less; wall time is shown beside them):
1. queue_log parse: ``QueueLogReader.read_file`` streaming the file, lines/s.
2. parse + metrics: the same file through ``build_store`` (what ``agentdesk
   report`` does: interpreter into quarter-hour cells), lines/s.
3. live feed: the parsed records fed one by one to ``LiveQueueMetrics``
   (the wallboard's path), records/s.
4. ``LiveQueueMetrics.snapshot()`` at the end of the feed: median and worst ms.
5. Erlang C staffing (``required_agents``) for 3,333 Erlangs: median ms.

The log is written by the simulator in fast-forward with ``--agents`` virtual
agents (events off: only queue_log is needed) until it holds ``--lines``
lines; ``--queue-log PATH`` reads an existing file instead.

Run: .venv/bin/python bench/queue_metrics.py [--agents 300] [--lines 1000000]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC
from pathlib import Path
from typing import TypeVar

from agentdesk.services.supervisor.erlang import required_agents
from agentdesk.services.supervisor.queue_live import LiveQueueMetrics
from agentdesk.services.supervisor.queue_log import QueueLogReader, QueueLogRecord
from agentdesk.services.supervisor.queue_metrics import MetricsConfig
from agentdesk.services.supervisor.reports import build_store
from agentdesk.telephony.sim import PbxSimulator, load_config
from agentdesk.telephony.sim.config import PbxConfig
from agentdesk.telephony.sim.traffic import RateProfile

EPOCH = 1_709_542_800.0  # 2024-03-04 09:00 UTC
T = TypeVar("T")


def _timed(work: Callable[[], T]) -> tuple[T, float, float]:
    """``work()``'s result, CPU seconds and wall seconds."""
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = work()
    return result, time.process_time() - cpu0, time.perf_counter() - wall0


def _sim_config(agents: int, occupancy: float = 0.85) -> PbxConfig:
    config = load_config()
    # Enough calls to keep the floor at ``occupancy``; about a quarter end in the IVR.
    rate = agents * 3600 / config.traffic.handle.mean * occupancy / 0.75
    return config.with_(traffic=replace(config.traffic, profile=RateProfile((rate,))))


def generate(path: Path, agents: int, lines: int) -> None:
    """Run the simulator hour by hour until its queue_log holds at least ``lines`` lines."""
    sim = PbxSimulator(
        _sim_config(agents),
        seed=7,
        virtual_agents=agents,
        epoch=EPOCH,
        queue_log=path,
        events=False,
    )
    _, cpu, wall = _timed(lambda: _run_until(sim, lines))
    sim.close()
    stats = sim.stats()
    print(
        f"generated: {stats.queue_log_lines:,} queue_log lines, {agents} agents, "
        f"{stats.sim_seconds / 3600:.0f} simulated h, {stats.offered:,} calls "
        f"({wall:.1f} s wall, {cpu:.1f} s CPU)"
    )


def _run_until(sim: PbxSimulator, lines: int) -> None:
    while sim.stats().queue_log_lines < lines:
        sim.run_for(3600)


def bench_parse(path: Path) -> list[QueueLogRecord]:
    reader = QueueLogReader()
    records, cpu, wall = _timed(lambda: list(reader.read_file(path)))
    summary = reader.summary()
    if summary.skipped or summary.flagged:
        raise SystemExit(f"the generated log should parse cleanly: {summary.describe()}")
    print(
        f"parse:            {summary.lines / cpu:>12,.0f} lines/s "
        f"({summary.lines:,} lines in {cpu:.2f} s CPU, {wall:.2f} s wall)"
    )
    return records


def bench_parse_and_metrics(path: Path, config: MetricsConfig) -> None:
    reader = QueueLogReader()
    store, cpu, wall = _timed(lambda: build_store(reader.read_file(path), config))
    print(
        f"parse + metrics:  {reader.lines / cpu:>12,.0f} lines/s "
        f"({len(store.cells):,} quarter-hour cells; {cpu:.2f} s CPU, {wall:.2f} s wall)"
    )


def bench_live(records: list[QueueLogRecord], config: MetricsConfig) -> LiveQueueMetrics:
    live = LiveQueueMetrics(config)

    def feed() -> None:
        for record in records:
            live.feed(record)

    _, cpu, wall = _timed(feed)
    print(
        f"live feed:        {len(records) / cpu:>12,.0f} records/s "
        f"({len(live.agents()):,} agents seen; {cpu:.2f} s CPU, {wall:.2f} s wall)"
    )
    return live


def bench_snapshot(live: LiveQueueMetrics, now: float, repeats: int) -> None:
    walls, cpus = [], []
    for _ in range(repeats):
        snapshot, cpu, wall = _timed(lambda: live.snapshot(now))
        walls.append(wall * 1000)
        cpus.append(cpu * 1000)
    on_call = sum(1 for agent in snapshot.agents if agent.on_call_queue is not None)
    print(
        f"snapshot():       {statistics.median(walls):>12.2f} ms median "
        f"({statistics.median(cpus):.2f} ms CPU), {max(walls):.2f} ms worst "
        f"({len(snapshot.today) - 1} queues, {len(snapshot.agents)} agents, "
        f"{on_call} on a call; {repeats} runs)"
    )


def bench_erlang(erlangs: float, repeats: int) -> None:
    interval_s, aht_s = 900.0, 300.0
    calls = erlangs * interval_s / aht_s
    times = []
    for _ in range(repeats):
        result, _, wall = _timed(lambda: required_agents(calls, interval_s, aht_s))
        times.append(wall * 1000)
    print(
        f"Erlang C staffing: {statistics.median(times):>11.2f} ms median for "
        f"{result.traffic_erlangs:,.0f} Erlangs -> {result.agents:,} agents "
        f"(SL {result.service_level:.1%}, {repeats} runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Queue analytics throughput on a simulated queue_log."
    )
    parser.add_argument("--agents", type=int, default=300)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--queue-log", type=Path, help="read this file instead of generating one")
    args = parser.parse_args()
    config = MetricsConfig(tz=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        path = args.queue_log
        if path is None:
            path = Path(tmp) / "queue_log"
            generate(path, args.agents, args.lines)
        records = bench_parse(path)
        bench_parse_and_metrics(path, config)
    live = bench_live(records, config)
    now = records[-1].timestamp
    # A wallboard does not hold a million parsed records: free them so a garbage
    # collection pass over them does not land inside a timed snapshot.
    del records
    gc.collect()
    bench_snapshot(live, now, repeats=30)
    bench_erlang(3333.0, repeats=20)


if __name__ == "__main__":
    main()
