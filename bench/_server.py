"""Shared by the server-tier benches: a central PostgreSQL store and ``agentdesk server`` over it.

The server runs as its own process (``agentdesk server --port 0``), exactly as
a site runs it, so its CPU time and memory can be read from ``/proc`` and the
bench's own clients do not share its interpreter. Loopback only, plain HTTP
(the server refuses plain HTTP anywhere else).
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests package holds fixtures

from argon2 import PasswordHasher
from sqlalchemy import Engine, insert, update

from agentdesk.models import Agent, Role, agent_team
from agentdesk.services.platform.auth import hash_password
from agentdesk.store.engine import write_session
from agentdesk.store.field_crypto import new_key_text
from tests.sync.factories import REF

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery"
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def add_agents(
    engine: Engine,
    prefix: str,
    count: int,
    team: uuid.UUID = REF.team_a,
    *,
    cheap_hash: bool = False,
) -> list[str]:
    """``count`` agents in ``team`` sharing one Argon2id hash of PASSWORD; their logins.

    ``cheap_hash``: an Argon2id hash with minimal cost parameters, for fleets of bench
    accounts (sign-in is not what is measured; the server's own parameters are unchanged).
    """
    hashed = (
        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
        if cheap_hash
        else hash_password(PASSWORD)
    )
    logins = [f"{prefix}{i:04d}" for i in range(count)]
    ids = [uuid.uuid4() for _ in logins]
    with write_session(engine) as s:
        s.execute(
            insert(Agent),
            [
                {"id": i, "login": login, "display_name": login, "password_hash": hashed}
                for i, login in zip(ids, logins, strict=True)
            ],
        )
        s.execute(insert(agent_team), [{"agent_id": i, "team_id": team} for i in ids])
    return logins


def set_reference_passwords(engine: Engine) -> None:
    """alice (team B) and bob (team A) of the sync fixtures, both plain agents, with PASSWORD."""
    with write_session(engine) as s:
        s.execute(update(Agent).values(password_hash=hash_password(PASSWORD), role=Role.AGENT))


@dataclass
class ServerProcess:
    """``agentdesk server`` as a child process; ``url`` once it listens."""

    proc: subprocess.Popen[str]
    url: str

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def rss_mb(self) -> float:
        pages = int(Path(f"/proc/{self.pid}/statm").read_text().split()[1])
        return pages * PAGE / 1e6

    def threads(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
        return 0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    central_url: str,
    work: Path,
    *,
    port: int = 0,
    timeout: float = 60.0,
    extra: tuple[str, ...] = (),
) -> ServerProcess:
    """Start ``agentdesk server --port PORT`` over ``central_url``; wait for its URL.

    ``extra``: more ``agentdesk server`` options (``--pbx HOST:PORT`` …)."""
    config = work / "server.toml"
    config.write_text("")  # defaults only; the database comes from the environment
    key = work / "field.key"
    if not key.exists():
        key.write_text(new_key_text("bench"))
        key.chmod(0o600)
    env = {
        **os.environ,
        "AGENTDESK_CENTRAL_URL": central_url,
        "AGENTDESK_FIELD_KEY_FILE": str(key),
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("agentdesk")),
            "--config",
            str(config),
            "server",
            "--port",
            str(port),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=str(ROOT),
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
            if not line.startswith("listening on "):
                print(f"  [server] {line.rstrip()}", file=sys.stderr)

    threading.Thread(target=pump, name="server-output", daemon=True).start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            if proc.poll() is not None:
                raise RuntimeError(f"agentdesk server exited with {proc.returncode}") from None
            continue
        if line.startswith("listening on "):
            return ServerProcess(proc, line.split()[-1].strip())
    proc.kill()
    raise RuntimeError(f"agentdesk server did not print its URL within {timeout:.0f} s")
