"""Chaos soak through ``agentdesk server``: N rounds of desktops SIGKILLed mid-push/mid-pull,
the server process SIGKILLed mid-batch and restarted on its port, PostgreSQL restarted
mid-batch; then every write each desktop made must be at the centre exactly once.

Run: .venv/bin/python bench/chaos.py [--soak 30] [--seed 11] [--direct]

``--direct`` runs the older chaos instead (desktops connected to PostgreSQL directly, no
server), as ``tests/sync/test_chaos.py`` does. Exits non-zero on any lost or doubled write.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests package holds the harness

from agentdesk.store import migrate
from agentdesk.store.engine import central_engine
from tests.support.pgserver import running_server
from tests.sync.chaos import run_chaos
from tests.sync.chaos_server import prepare_central, run_server_chaos
from tests.sync.factories import seed_reference


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--soak", type=int, default=30, help="chaos rounds")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--direct", action="store_true", help="desktops on PostgreSQL, no server")
    args = parser.parse_args()
    started = time.perf_counter()
    with running_server() as pg, tempfile.TemporaryDirectory(prefix="agentdesk-chaos-") as tmp:
        url = pg.url(pg.create_database())
        engine = central_engine(url)
        migrate.upgrade(engine)
        try:
            if args.direct:
                seed_reference(engine)
                direct = run_chaos(engine, url, Path(tmp), args.soak, pg.stop, pg.start, args.seed)
                print(f"direct chaos: {direct}", flush=True)
            else:
                prepare_central(engine)
                report = run_server_chaos(
                    engine,
                    url,
                    Path(tmp),
                    args.soak,
                    pg.stop,
                    pg.start,
                    seed=args.seed,
                    log=lambda line: print(f"  {line}", flush=True),
                )
                print(
                    f"chaos through the server: {report.rounds} rounds, desktops killed "
                    f"{report.kills_mid_push} mid-push / {report.kills_mid_pull} mid-pull, "
                    f"server killed {report.server_kills}x (desktops back on their session "
                    f"{report.desk_outages_seen}x, {report.requests_cut} with a request cut "
                    f"off), PostgreSQL restarted {report.pg_restarts}x; "
                    f"{report.counts.get('writes', 0)} writes, "
                    f"{report.counts.get('applied', 0)} verdicts at the centre, "
                    f"{report.counts.get('interactions', 0)} interactions each there once; "
                    "0 lost, 0 doubled",
                    flush=True,
                )
        finally:
            engine.dispose()
    print(f"took {time.perf_counter() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
