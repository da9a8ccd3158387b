"""A real HAProxy on 127.0.0.1 in front of given ``agentdesk server`` instances, for tests.

The configuration is the shipped one, ``deploy/haproxy.cfg``, with only what a
test must change rewritten (:func:`render`): the frontend listens on a free
loopback port (plain HTTP, or TLS with a given PEM), the backend lists the
given instances (plain HTTP on loopback), the stats socket is a file in the
test's directory, the log goes to stderr, and the process stays in the
foreground (``-db``) as a child of the test. Health checks, timeouts, retries,
``balance leastconn`` and ``option redispatch`` are the shipped ones, so a
test through this proxy tests the file operators install.

The admin socket tells when the instances are up (their ``/ready`` check
passed) or down; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "deploy" / "haproxy.cfg"
FRONTEND = "agentdesk_https"
BACKEND = "agentdesk"
# Global settings that only make sense for the system service.
_SERVICE_ONLY = ("chroot", "user", "group", "daemon", "log", "stats socket", "maxconn")


class HaproxyUnavailable(RuntimeError):
    """HAProxy is not installed, rejected its configuration or did not start."""


@dataclass(frozen=True)
class Backend:
    """One instance behind the proxy: its name in HAProxy and its loopback port."""

    name: str
    port: int
    host: str = "127.0.0.1"


def binary() -> str:
    found = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
    )
    if found is None:
        raise HaproxyUnavailable("haproxy not found (scripts/bootstrap installs it)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PASSTHROUGH = ("agentdesk_tls", "agentdesk_tls")  # its frontend and backend


def passthrough(template: str) -> str:
    """The shipped file with its commented TLS pass-through block in place of the HTTP
    frontend and backend (what its comments tell an operator to do)."""
    lines = template.splitlines()
    start, end = lines.index("# >>> pass-through"), lines.index("# <<< pass-through")
    block = [line[2:] if line.startswith("# ") else "" for line in lines[start + 1 : end]]
    kept: list[str] = []
    skipping = False
    for line in lines[:start]:
        if line and not line[0].isspace() and not line.startswith("#"):
            skipping = line.strip() in (f"frontend {FRONTEND}", f"backend {BACKEND}")
        if not skipping or line.startswith("#"):
            kept.append(line)
    return "\n".join([*kept, *block]) + "\n"


def render(
    template: str,
    *,
    port: int,
    backends: Sequence[Backend],
    stats_socket: Path,
    pem: Path | None = None,
    names: tuple[str, str] = (FRONTEND, BACKEND),
    ca_file: Path | None = None,
    maxconn: int = 2000,
) -> str:
    """The shipped configuration with the test's address, instances and admin socket.

    ``names``: the frontend and backend to rewrite; ``ca_file``: the CA the instances'
    certificates are checked against (TLS to the instances, as in pass-through).
    """
    frontend, backend = names
    out: list[str] = []
    section = ""
    for line in template.splitlines():
        stripped = line.strip()
        if line and not line[0].isspace() and not line.startswith("#"):
            section = stripped
            if section.startswith("frontend stats"):
                continue
            out.append(line)
            if section == "global":
                out.append(f"    stats socket {stats_socket} mode 600 level admin")
                out.append("    log stderr format raw local0 info")
                # The shipped 20000 needs 40000+ descriptors; tests need far fewer. The
                # frontend inherits it: each desktop holds two WebSockets and HTTP requests.
                out.append(f"    maxconn {maxconn}")
            continue
        if section.startswith("frontend stats"):
            continue
        if section == "global" and stripped.startswith(_SERVICE_ONLY):
            continue
        if section == f"frontend {frontend}" and stripped.startswith("bind "):
            tls = f" ssl crt {pem} alpn http/1.1" if pem is not None else ""
            out.append(f"    bind 127.0.0.1:{port}{tls}")
            continue
        if section == f"backend {backend}" and stripped.startswith("server "):
            continue
        if section == f"backend {backend}" and stripped.startswith("default-server "):
            if ca_file is not None:
                line = re.sub(r"ca-file \S+", f"ca-file {ca_file}", line)
            out.append(line)
            out.extend(f"    server {b.name} {b.host}:{b.port}" for b in backends)
            continue
        out.append(line)
    text = "\n".join(out) + "\n"
    if f"bind 127.0.0.1:{port}" not in text or not all(
        f"server {b.name} " in text for b in backends
    ):
        raise HaproxyUnavailable("deploy/haproxy.cfg no longer has the sections render() rewrites")
    return text


@dataclass
class HaproxyServer:
    """A running HAProxy; ``url`` is where desktops connect."""

    proc: subprocess.Popen[bytes]
    port: int
    stats_socket: Path
    directory: Path
    backends: tuple[Backend, ...]
    tls: bool
    _log: io.BufferedWriter | None = field(default=None, repr=False)
    backend: str = BACKEND

    @property
    def url(self) -> str:
        return f"{'https://localhost' if self.tls else 'http://127.0.0.1'}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.directory / "haproxy.log"

    def command(self, line: str, timeout: float = 5.0) -> str:
        """One admin-socket command's answer (``show stat``, ``set server …``)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(self.stats_socket))
            s.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode("utf-8", errors="replace")

    def states(self) -> dict[str, tuple[str, str]]:
        """Each instance's (status, last check): ("UP", "L7OK"), ("DOWN", "L4CON")…"""
        text = self.command("show stat").lstrip("# ")
        found = {}
        for row in csv.DictReader(io.StringIO(text)):
            if row.get("pxname") == self.backend and row.get("svname") not in (
                "BACKEND",
                "FRONTEND",
            ):
                found[row["svname"]] = (row.get("status", ""), row.get("check_status", ""))
        return found

    def streams(self) -> list[tuple[str, str]]:
        """(instance, age) of each stream open to an instance now (``show sess``): a
        WebSocket is one for as long as it is open, a request only while it runs."""
        found = []
        for line in self.command("show sess").splitlines():
            fields = dict(p.split("=", 1) for p in line.split() if "=" in p)
            if fields.get("be") == self.backend and fields.get("srv", "<none>") != "<none>":
                found.append((fields["srv"], fields.get("age", "")))
        return found

    def wait_for(self, want: dict[str, str], timeout: float = 20.0) -> float:
        """Until each named instance has the given status ("UP", "DOWN"); seconds taken."""
        start = time.monotonic()
        states: dict[str, tuple[str, str]] = {}
        while time.monotonic() - start < timeout:
            if self.proc.poll() is not None:
                raise HaproxyUnavailable(f"haproxy exited ({self.proc.returncode}):\n{self.tail()}")
            with contextlib.suppress(OSError):
                states = self.states()
                if all(_is(states.get(name), status) for name, status in want.items()):
                    return time.monotonic() - start
            time.sleep(0.05)
        raise AssertionError(f"haproxy: wanted {want} within {timeout}s, have {states}")

    def wait_all_up(self, timeout: float = 20.0) -> float:
        return self.wait_for({b.name: "UP" for b in self.backends}, timeout)

    def tail(self, chars: int = 3000) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]

    def stop(self, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        if self._log is not None:
            self._log.close()
        return self.proc.returncode


def _is(state: tuple[str, str] | None, status: str) -> bool:
    if state is None:
        return False
    current, check = state
    if status == "UP":  # and its /ready check has answered at least once
        return current == "UP" and check == "L7OK"
    return current.split(" ")[0] == status


def start_haproxy(
    backends: Sequence[Backend],
    *,
    directory: Path | None = None,
    pem: Path | None = None,
    template: Path = SHIPPED,
    timeout: float = 20.0,
    passthrough_ca: Path | None = None,
    maxconn: int = 2000,
) -> HaproxyServer:
    """Start HAProxy in front of ``backends`` and wait until it answers on its admin socket.

    ``pem``: terminate TLS with this certificate and key (else plain HTTP on loopback).
    ``passthrough_ca``: run the shipped pass-through variant instead (``mode tcp``; the
    instances serve TLS themselves, checked against this CA).
    """
    exe = binary()
    directory = directory or Path(tempfile.mkdtemp(prefix="agentdesk-haproxy-"))
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    sock = directory / "admin.sock"
    cfg = directory / "haproxy.cfg"
    text = template.read_text(encoding="utf-8")
    names = (FRONTEND, BACKEND)
    if passthrough_ca is not None:
        text, names, pem = passthrough(text), PASSTHROUGH, None
    cfg.write_text(
        render(
            text,
            port=port,
            backends=backends,
            stats_socket=sock,
            pem=pem,
            names=names,
            ca_file=passthrough_ca,
            maxconn=maxconn,
        ),
        encoding="utf-8",
    )
    check = subprocess.run([exe, "-c", "-q", "-f", str(cfg)], capture_output=True, text=True)
    if check.returncode != 0:
        raise HaproxyUnavailable(f"haproxy -c refused the configuration:\n{check.stderr}")
    log = (directory / "haproxy.log").open("wb")
    proc = subprocess.Popen(
        [exe, "-db", "-f", str(cfg)], stdout=log, stderr=subprocess.STDOUT, cwd=directory
    )
    tls = pem is not None or passthrough_ca is not None
    server = HaproxyServer(proc, port, sock, directory, tuple(backends), tls, log, names[1])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            server.stop()
            raise HaproxyUnavailable(f"haproxy exited ({proc.returncode}):\n{server.tail()}")
        with contextlib.suppress(OSError):
            server.states()
            return server
        time.sleep(0.05)
    server.stop()
    raise HaproxyUnavailable(f"haproxy did not open its admin socket within {timeout}s")


@contextlib.contextmanager
def running_haproxy(backends: Sequence[Backend], **kwargs: object) -> Iterator[HaproxyServer]:
    server = start_haproxy(backends, **kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        server.stop()


def served_by(log_text: str, backend: str = BACKEND) -> list[str]:
    """The instance named on each request line of the log (``agentdesk/app1``)."""
    return re.findall(rf"{backend}/(\S+)", log_text)
