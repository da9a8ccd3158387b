"""How long the abandoned-call worklist takes over a busy day's queue records.

Builds a synthetic day (``--calls`` calls into 4 queues; a share abandons, some
callers call again and are answered, some ring back several times) as the
records the CTI floor stores, then times :func:`build_worklist` over them (pure
Python, no database: the route adds one indexed read of the same rows).
Prints records, rows, seconds and peak memory of the build.

    .venv/bin/python bench/abandoned.py --calls 50000
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import time
import tracemalloc

from agentdesk.services.supervisor.abandoned import build_worklist
from agentdesk.services.supervisor.queue_log import QueueLogRecord

QUEUES = ("cards", "general", "loans", "german")


def day(calls: int, abandon_share: float, seed: int) -> list[QueueLogRecord]:
    rng = random.Random(seed)
    start = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC).timestamp()
    callers = [f"+4477009{n:05d}" for n in range(max(1, calls // 3))]  # repeat callers
    out: list[QueueLogRecord] = []
    for n in range(calls):
        at = start + n * (10 * 3600 / calls)
        call, queue, number = f"c{n}", rng.choice(QUEUES), rng.choice(callers)
        out.append(QueueLogRecord(0, at, call, queue, "NONE", "ENTERQUEUE", ("", number, "1")))
        wait = rng.randint(1, 300)
        if rng.random() < abandon_share:
            out.append(QueueLogRecord(0, at + wait, call, queue, "NONE", "ABANDON",
                                      ("1", "1", str(wait))))  # fmt: skip
        else:
            out.append(QueueLogRecord(0, at + wait, call, queue, "PJSIP/1001", "CONNECT",
                                      (str(wait), call + "b", "2")))  # fmt: skip
    out.sort(key=lambda r: r.timestamp)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=50_000)
    parser.add_argument("--abandon-share", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    records = day(args.calls, args.abandon_share, args.seed)
    lo = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    began = time.perf_counter()
    work = build_worklist(records, lo, lo + dt.timedelta(days=1))
    took = time.perf_counter() - began
    tracemalloc.start()  # a second build for the memory figure (tracing slows it down)
    build_worklist(records, lo, lo + dt.timedelta(days=1))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"records {len(records):,}  abandoned {work.abandoned:,}  settled {work.settled:,}  "
          f"rows {len(work.rows):,}  truncated {work.truncated:,}")  # fmt: skip
    rate = len(records) / took
    print(f"build {took:.3f} s  ({rate:,.0f} records/s)  peak {peak / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
