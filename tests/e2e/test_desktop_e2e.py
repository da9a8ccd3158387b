"""End to end, as a site runs it: ``agentdesk pbx``, ``agentdesk server`` and ``agentdesk run``
as separate processes; only the server opens the central store, and only the server logs in to
the PBX (its CTI gateway, ``--pbx`` with a 0600 secret file): the desktop has no AMI secret and
gets its calls over ``/api/v1/cti``.

The PBX simulator's traffic draws callers from its demo pool, every one of
whom is a customer in the central store; the desktop (offscreen, auto-answer
on, a 1 s after-call-work limit, joining the queues at sign-in) pops,
answers, wraps up on the ACW deadline and syncs. The test then reads the
central store: exactly one interaction for that call's Linkedid, filed under
the customer whose number called.
"""

from __future__ import annotations

import collections
import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from agentdesk.models import CustomerPhone, Interaction
from agentdesk.paths import resource
from agentdesk.store import migrate
from agentdesk.store.engine import read_session, sqlite_engine
from agentdesk.telephony.sim.traffic import StaticCallerPool
from tests.e2e.file_keyring import ENV, PASSWORD_ENV, E2eCryptFileKeyring
from tests.ui.data import PASSWORD, add_agent, add_customer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
AGENTDESK = [sys.executable, "-m", "agentdesk.cli"]


class Process:
    """A child process whose output lines are read on a thread and awaited with timeouts."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.log = log.open("w", encoding="utf-8")
        self.proc = subprocess.Popen(
            args,
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.log.write(line)
            self.log.flush()
            self.lines.put(line)

    def expect(self, pattern: str, timeout: float) -> re.Match[str]:
        """The first line matching ``pattern`` within ``timeout`` seconds in all.

        The bound is a deadline, not a per-line wait: a process that keeps printing
        other lines still fails on time, and the failure shows its last lines.
        """
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen: collections.deque[str] = collections.deque(maxlen=40)
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            seen.append(line)
            match = regex.search(line)
            if match:
                return match
        tail = "".join(seen) or "(nothing)\n"
        raise AssertionError(
            f"no line matching {pattern!r} within {timeout}s from {self.log.name};"
            f" its last lines:\n{tail}"
        )

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGUSR1)  # thread dump into the log, then kill
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(2)
                self.proc.kill()
                self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.log.close()
        return self.proc.returncode


def log_tails(tmp: Path, lines: int = 30) -> str:
    """The last lines of every process's log, for a failure message."""
    parts = []
    for log in sorted(tmp.glob("*.log")):
        text = log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        parts.append(f"--- {log.name} (last {len(text)} lines)\n" + "\n".join(text))
    return "\n".join(parts)


def landed(engine: object, linkedid: str) -> bool:
    with read_session(engine) as s:  # type: ignore[arg-type]
        return (
            s.scalars(select(Interaction.id).where(Interaction.linkedid == linkedid)).first()
            is not None
        )


def pbx_config(tmp_path: Path) -> Path:
    """The shipped simulator config with only known callers, short calls and brisk traffic."""
    text = resource("pbx", "pbx.toml").read_text(encoding="utf-8")
    for old, new in (
        (r"p_unknown = [0-9.]+", "p_unknown = 0.0"),
        (r"p_withheld = [0-9.]+", "p_withheld = 0.0"),
        (r"p_foreign = [0-9.]+", "p_foreign = 0.0"),
        (r"rates_per_hour = \[[^\]]*\]", "rates_per_hour = [360]"),
        (r"handle = \{[^}]*\}", 'handle = { mean = 20, kind = "fixed" }'),
    ):
        text, count = re.subn(old, new, text, count=1)
        assert count == 1, old
    path = tmp_path / "pbx.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def site(tmp_path: Path) -> Iterator[dict[str, object]]:
    central_path = tmp_path / "central.db"
    engine = sqlite_engine(central_path)
    migrate.upgrade(engine)
    add_agent(engine)
    pool = StaticCallerPool.demo()
    for caller in {c.number: c for c in pool._callers}.values():
        add_customer(
            engine,
            caller.name or "Caller",
            caller.number,
            products=1,
            open_tickets=0,
            interactions=0,
        )
    keyring_env = {ENV: str(tmp_path / "keyring.cfg"), PASSWORD_ENV: "e2e-only"}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in keyring_env.items():
            patch.setenv(key, value)
        backend = E2eCryptFileKeyring()
        backend.set_password("agentdesk", "remember:alice", PASSWORD)
    # The AMI secret is the server's alone (a 0600 file); the desktop's keyring has none.
    secret = tmp_path / "ami.secret"
    secret.touch(mode=0o600)
    secret.write_text("agentdesk\n", encoding="utf-8")
    env = {
        **os.environ,
        **keyring_env,
        "PYTHONPATH": str(ROOT),
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHON_KEYRING_BACKEND": "tests.e2e.file_keyring.E2eCryptFileKeyring",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "AGENTDESK_DATA_DIR": str(tmp_path / "data"),
        "AGENTDESK_CENTRAL_URL": f"sqlite:///{central_path}",
        "AGENTDESK_WORKSTATION": "e2e-ws",
    }
    yield {"engine": engine, "env": env, "tmp": tmp_path, "secret": secret}
    engine.dispose()


def test_pbx_and_desktop_processes_land_exactly_one_interaction(site: dict) -> None:
    env, tmp, engine = site["env"], site["tmp"], site["engine"]
    pbx = Process(
        [
            *AGENTDESK,
            "pbx",
            "--port",
            "0",
            "--agents",
            "0",
            "--time-scale",
            "10",
            "--pbx-config",
            str(pbx_config(tmp)),
            "--seed",
            "5",
        ],
        env,
        tmp / "pbx.log",
    )
    desk = server = None
    try:
        port = pbx.expect(r"AMI on 127\.0\.0\.1:(\d+)", 30).group(1)
        server = Process(
            [
                *AGENTDESK,
                "server",
                "--port",
                "0",
                "--pbx",
                f"127.0.0.1:{port}",
                "--pbx-secret-file",
                str(site["secret"]),
            ],
            env,
            tmp / "server.log",
        )
        url = server.expect(r"listening on (http://\S+)", 30).group(1)
        desk = Process(
            [
                *AGENTDESK,
                "run",
                "--agent",
                "alice",
                "--auto-sign-in",
                "--auto-answer",
                "--acw-limit",
                "1",
                "--join-queues",
            ],
            # No PBX address and no AMI secret: calls come through the server.
            {**env, "AGENTDESK_SERVER_URL": url},
            tmp / "desk.log",
        )
        desk.expect(r"calls: through the server's CTI gateway", 30)
        saved = desk.expect(r"wrap-up saved: call (\S+) → interaction (\S+)", 90)
        linkedid, interaction_id = saved.group(1), saved.group(2)
        # Each "outbox empty" line follows a push; the first one after our save covers it
        # (a status computed just before the save can precede it, so look again then).
        for _ in range(5):
            desk.expect(r"sync: all local changes are at the centre", 30)
            if landed(engine, linkedid):
                break
    except AssertionError as exc:
        for process in (desk, server, pbx):
            if process is not None:
                process.stop()
        raise AssertionError(f"{exc}\n{log_tails(tmp)}") from None
    finally:
        codes = [p.stop() for p in (desk, server, pbx) if p is not None]
    assert codes and all(code == 0 for code in codes), codes
    # One AMI login at the PBX, the server's; the desktop never opened one.
    desk_log = (tmp / "desk.log").read_text(encoding="utf-8")
    assert "agentdesk.telephony.client" not in desk_log
    pbx_log = (tmp / "pbx.log").read_text(encoding="utf-8")
    assert pbx_log.count("logged in from") == 1, pbx_log[-2000:]
    with read_session(engine) as s:
        rows = s.scalars(select(Interaction).where(Interaction.linkedid == linkedid)).all()
        assert len(rows) == 1 and str(rows[0].id) == interaction_id
        row = rows[0]
        owners = s.scalars(
            select(CustomerPhone.customer_id).where(CustomerPhone.number_raw == row.caller_id)
        ).all()
    assert row.customer_id is not None and owners == [row.customer_id]
    assert row.disposition_code == "acw_timeout" and row.channel == "phone"
