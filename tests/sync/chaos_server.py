"""Process-level chaos through ``agentdesk server``: desktops and the server SIGKILLed, PostgreSQL
restarted, and afterwards every write each desktop made is at the centre exactly once.

The server runs as its own process (``agentdesk server --port P``) so it can be killed with
SIGKILL in the middle of a push batch and started again on the same port; desktops
(``tests.sync.chaos_desk`` with an ``http://`` URL) sign in once per process and must ride
out the restart on the same session (sessions live in the database) after backing off.

Used by ``tests/server/test_chaos_through_server.py`` (a few rounds) and ``bench/chaos.py``
(a soak of many more).
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, func, select, update

from agentdesk.client.central import HttpCentral
from agentdesk.models import (
    Agent,
    AuditEntry,
    ChangeLog,
    Interaction,
    OutboxEntry,
    OutboxState,
    Role,
)
from agentdesk.services.platform.auth import hash_password
from agentdesk.store.engine import encrypted_sqlite_engine, read_session, write_session
from agentdesk.store.field_crypto import new_key_text
from agentdesk.store.sync import Syncer
from agentdesk.store.sync.local import LocalStore
from tests.sync.chaos import ROOT, DeskProcess
from tests.sync.chaos_desk import KEY, PASSWORD_ENV, scope_of, sign_in
from tests.sync.factories import REF, seed_reference
from tests.sync.invariants import DeskView, check_quiescent

PASSWORD = "chaos: correct horse"
# Alice's desktop holds a full replica (a supervisor's role, as configured below); Bob's a
# working set (his team, his tickets, customers handed to him).
DESKS = (("alice", "full"), ("bob", "team"))
# How httpx reports a connection the server's death cut in the middle of a request.
_CUT = ("(RemoteProtocolError)", "(ReadError)", "(WriteError)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare_central(engine: Engine) -> None:
    """Reference data, a password for each agent, Alice a supervisor."""
    seed_reference(engine)
    with write_session(engine) as s:
        s.execute(update(Agent).values(password_hash=hash_password(PASSWORD)))
        s.execute(update(Agent).where(Agent.id == REF.alice).values(role=Role.SUPERVISOR))


class ServerProcess:
    """``agentdesk server`` in its own process on a fixed port, restartable after SIGKILL."""

    def __init__(self, work: Path, central_url: str, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        home = work / "server-home"
        (home / "data").mkdir(parents=True, exist_ok=True)
        self.key_file = home / "field.key"
        self.key_file.write_text(new_key_text("chaos"))
        self.key_file.chmod(0o600)
        self.config = home / "agentdesk.toml"
        self.config.write_text('[listen]\nfull_replica_roles = ["supervisor"]\n')
        self.log_path = home / "server.log"
        self.env = {
            **os.environ,
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "config"),
            "AGENTDESK_DATA_DIR": str(home / "data"),
            "AGENTDESK_CENTRAL_URL": central_url,
            "PYTHONWARNINGS": "ignore",
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout: float = 60.0) -> None:
        """Start and wait for ``listening on URL`` (a restart reuses the port)."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "agentdesk.cli",
                    "--config",
                    str(self.config),
                    "server",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--field-key-file",
                    str(self.key_file),
                ],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
            )
        deadline = time.monotonic() + timeout
        wanted = f"listening on {self.url}".encode()
        while time.monotonic() < deadline:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                if wanted in log.read():
                    self.starts += 1
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"agentdesk server did not start:\n{self.why()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, connections are cut mid-request."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def why(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


@dataclass
class ServerChaosReport:
    """What the run did, and what landed."""

    rounds: int = 0
    kills_mid_push: int = 0
    kills_mid_pull: int = 0
    server_kills: int = 0
    pg_restarts: int = 0
    desk_outages_seen: int = 0  # desktops that went offline and came back on their session
    requests_cut: int = 0  # of those, desktops with a request in flight when the server died
    counts: dict[str, int] = field(default_factory=dict)


def run_server_chaos(
    central: Engine,
    central_url: str,
    work: Path,
    rounds: int,
    stop_pg: Callable[[], None],
    start_pg: Callable[[], None],
    seed: int = 7,
    log: Callable[[str], None] = lambda _line: None,
) -> ServerChaosReport:
    """``rounds`` rounds of chaos through one server process, then quiescence and the checks.

    Each round starts both desktops, then (round 1, 4, …) SIGKILLs the server in the middle
    of a push batch and restarts it on the same port, or (round 2, 5, …) restarts PostgreSQL
    in the middle of a batch, and finally SIGKILLs each desktop mid-push or mid-pull.
    ``central`` must be migrated and prepared (``prepare_central``).
    """
    rng = random.Random(seed)
    report = ServerChaosReport()
    server = ServerProcess(work, central_url)
    began = time.monotonic()
    server.start()
    log(f"server up in {time.monotonic() - began:.1f}s")
    try:
        for n in range(rounds):
            began = time.monotonic()
            _round(n, rng, server, work, report, stop_pg, start_pg, seed)
            report.rounds += 1
            log(f"round {n + 1}/{rounds} in {time.monotonic() - began:.1f}s: {report}")
        began = time.monotonic()
        report.counts = _quiesce_and_check(central, server.url, work)
        log(f"quiescent and checked in {time.monotonic() - began:.1f}s: {report.counts}")
    finally:
        server.stop()
    return report


def _round(
    n: int,
    rng: random.Random,
    server: ServerProcess,
    work: Path,
    report: ServerChaosReport,
    stop_pg: Callable[[], None],
    start_pg: Callable[[], None],
    seed: int,
) -> None:
    env = {PASSWORD_ENV: PASSWORD}
    procs = [
        DeskProcess(work / f"{login}.db", server.url, login, scope, seed * 1000 + n * 10 + i, env)
        for i, (login, scope) in enumerate(DESKS)
    ]
    try:
        for p in procs:
            assert p.wait_marker("ready", timeout=90), f"a desktop never became ready: {p.why()}"
        if n % 3 == 1:  # the server dies in the middle of a push batch
            pusher = rng.choice(procs)
            assert pusher.wait_marker("push-begin", rng.randint(1, 3)), pusher.why()
            time.sleep(rng.uniform(0.0, 0.06))  # before, during or after the transaction
            server.kill()
            report.server_kills += 1
            time.sleep(rng.uniform(0.2, 1.0))  # long enough for desktops to notice
            server.start()
            for p in procs:  # each backs off, then carries on with the session it had
                assert p.wait_marker("offline", timeout=60), f"never saw the outage: {p.why()}"
                assert p.wait_marker("online", timeout=60), f"never came back: {p.why()}"
                report.desk_outages_seen += 1
                # A request the kill cut off (rather than one refused at connect).
                report.requests_cut += any(c in p.why(full=True) for c in _CUT)
        elif n % 3 == 2:  # the database goes away in the middle of a push batch
            assert procs[0].wait_marker("push-begin", rng.randint(1, 3)), procs[0].why()
            stop_pg()
            start_pg()
            report.pg_restarts += 1
        for p in procs:
            mid_push = rng.random() < 0.5
            marker = "push-begin" if mid_push else "pull-begin"
            assert p.wait_marker(marker, rng.randint(1, 6)), f"no {marker}: {p.why()}"
            p.kill()
            report.kills_mid_push += mid_push
            report.kills_mid_pull += not mid_push
        for p in procs:
            assert not p.seen["session-ended"], f"a server restart ended a session: {p.why()}"
    finally:
        for p in procs:
            p.kill()


def _quiesce_and_check(central: Engine, url: str, work: Path) -> dict[str, int]:
    """Sync each cache through the server until nothing moves, then check every invariant."""
    views: list[tuple[Syncer, DeskView]] = []
    apis = []
    try:
        for login, _scope in DESKS:
            api, grant = sign_in(url, login, PASSWORD)
            apis.append(api)
            engine = encrypted_sqlite_engine(work / f"{login}.db", KEY)
            syncer = Syncer(LocalStore(engine), HttpCentral(api), scope_of(grant), login)
            views.append((syncer, DeskView(login, engine, syncer.scope, syncer.client_id)))
        for _ in range(3):  # everything pushed, everything pulled
            for syncer, _view in views:
                syncer.cycle()
        counts = check_quiescent(
            central, [v for _, v in views], {"audit_entry": _server_audit(central)}
        )
        counts["interactions"] = _interactions_exactly_once(central, [v for _, v in views])
    finally:
        for api in apis:
            api.close()
        for _, view in views:
            view.engine.dispose()
    return counts


def _server_audit(central: Engine) -> set[str]:
    """Audit entries the server appended itself (sign-ins, sign-outs): they have no feed row,
    so a full replica gets them only with its next fill. Nothing else may be missing."""
    with read_session(central) as s:
        fed = select(ChangeLog.entity_id).where(ChangeLog.entity_type == "audit_entry")
        rows = s.execute(select(AuditEntry.id, AuditEntry.action).where(AuditEntry.id.not_in(fed)))
        unfed = {str(i): action for i, action in rows}
    assert all(a.startswith(("signin.", "signout")) for a in unfed.values()), set(unfed.values())
    return set(unfed)


def _interactions_exactly_once(central: Engine, desks: list[DeskView]) -> int:
    """Every interaction a desktop logged and the centre accepted is there once, and only those."""
    landed = 0
    with read_session(central) as s:
        at_centre = {
            row_id: n
            for row_id, n in s.execute(
                select(Interaction.id, func.count()).group_by(Interaction.id)
            )
        }
    for desk in desks:
        with read_session(desk.engine) as s:
            entries = list(
                s.scalars(select(OutboxEntry).where(OutboxEntry.name == "interaction.add"))
            )
        for e in entries:
            if e.state == OutboxState.ACKED:
                assert at_centre.get(e.entity_id) == 1, f"{desk.name}: interaction lost or doubled"
                landed += 1
    return landed
