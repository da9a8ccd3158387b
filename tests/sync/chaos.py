"""Process-level chaos for sync: SIGKILL desktops mid-push/mid-pull, restart PostgreSQL mid-batch.

Used by ``tests/sync/test_chaos.py`` (a bounded number of rounds) and by
``bench/chaos.py --direct --soak N`` (many more). The same chaos through ``agentdesk server``
is ``tests/sync/chaos_server.py``.
"""

from __future__ import annotations

import os
import queue
import random
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from agentdesk.store.engine import encrypted_sqlite_engine
from agentdesk.store.sync import CentralStore, Syncer
from agentdesk.store.sync.local import LocalStore
from tests.sync.chaos_desk import KEY, scope_named
from tests.sync.invariants import DeskView, check_quiescent
from tests.ui_workspace.builders import FIELD_KEYRING

ROOT = Path(__file__).resolve().parents[2]


class DeskProcess:
    """One ``chaos_desk`` child and a thread forwarding its stdout markers to a queue."""

    def __init__(
        self,
        cache: Path,
        central_url: str,
        login: str,
        scope: str,
        seed: int,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.stderr_path = cache.with_suffix(f".{seed}.stderr")
        with self.stderr_path.open("w") as stderr:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.sync.chaos_desk",
                    str(cache),
                    central_url,
                    login,
                    scope,
                    str(seed),
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})},
            )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: Counter[str] = Counter()  # every marker printed so far
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.seen[line.strip()] += 1
            self.lines.put(line.strip())
        self.lines.put("<eof>")

    def wait_marker(self, marker: str, count: int = 1, timeout: float = 60.0) -> bool:
        seen = 0
        while seen < count:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                return False
            if line == "<eof>":
                return False
            seen += line == marker
        return True

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def why(self, *, full: bool = False) -> str:
        text = self.stderr_path.read_text(errors="replace")
        return text if full else text[-3000:]


@dataclass
class ChaosReport:
    """What the chaos run did."""

    rounds: int = 0
    kills_mid_push: int = 0
    kills_mid_pull: int = 0
    pg_restarts: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def run_chaos(
    central: Engine,
    central_url: str,
    work: Path,
    rounds: int,
    stop_pg: Callable[[], None],
    start_pg: Callable[[], None],
    seed: int = 7,
) -> ChaosReport:
    rng = random.Random(seed)
    desks = [("alice", "full"), ("bob", "team")]
    report = ChaosReport()
    for n in range(rounds):
        procs = [
            DeskProcess(work / f"{login}.db", central_url, login, scope, seed * 1000 + n * 10 + i)
            for i, (login, scope) in enumerate(desks)
        ]
        try:
            for p in procs:
                assert p.wait_marker("ready", timeout=90), (
                    f"a desktop never became ready: {p.why()}"
                )
            if n % 3 == 2:  # the centre goes away in the middle of a push batch
                assert procs[0].wait_marker("push-begin", rng.randint(1, 3))
                stop_pg()
                start_pg()
                report.pg_restarts += 1
            for p in procs:
                mid_push = rng.random() < 0.5
                assert p.wait_marker("push-begin" if mid_push else "pull-begin", rng.randint(1, 6))
                p.kill()
                report.kills_mid_push += mid_push
                report.kills_mid_pull += not mid_push
        finally:
            for p in procs:
                p.kill()
        report.rounds += 1
    views = []
    centre = CentralStore(central, FIELD_KEYRING)
    for login, scope in desks:
        engine = encrypted_sqlite_engine(work / f"{login}.db", KEY)
        syncer = Syncer(LocalStore(engine), centre, scope_named(scope), login)
        views.append((syncer, DeskView(login, engine, syncer.scope, syncer.client_id)))
    for _ in range(3):  # quiescence: everything pushed, everything pulled
        for syncer, _view in views:
            syncer.cycle()
    report.counts = check_quiescent(central, [v for _, v in views])
    for _, view in views:
        view.engine.dispose()
    return report
