"""A throwaway PostgreSQL server on 127.0.0.1 for tests and benchmarks.

Runs ``initdb``/``pg_ctl`` from the machine's PostgreSQL (installing the
Debian package when the binaries are missing). The server refuses to run as
root, so under root every command runs as the ``postgres`` user.

:meth:`PostgresServer.start_standby` makes a streaming-replication hot standby
of a running server on a second loopback port (``pg_basebackup -R``: the
primary's ``initdb -A trust`` already lets 127.0.0.1 connect for replication,
and PostgreSQL 15's default ``wal_level`` is ``replica``). Databases created on
the primary later (``create_database``) replicate too; :meth:`caught_up` waits
until the standby has replayed everything the primary has written so far.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg


class PostgresUnavailable(RuntimeError):
    """PostgreSQL could not be found, installed or started."""


def _bin_dir() -> Path:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        path = Path(out.stdout.strip())
        if (path / "initdb").exists():
            return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=False, env=env, capture_output=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "postgresql"],
            check=False,
            env=env,
            capture_output=True,
        )
        for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
            if (candidate / "initdb").exists():
                return candidate
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found and could not be installed"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    """A running server; ``url(db)`` gives a SQLAlchemy URL for one of its databases."""

    port: int
    data_dir: Path
    bin_dir: Path
    as_postgres: bool

    def _cmd(self, *args: str) -> list[str]:
        return (["runuser", "-u", "postgres", "--"] if self.as_postgres else []) + list(args)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"

    def create_database(self, name: str | None = None) -> str:
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return name

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            self._cmd(
                str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop"
            ),
            check=False,
            capture_output=True,
        )

    def restart(self, mode: str = "fast") -> None:
        """Stop and start again on the same port and data (the server's connections drop)."""
        self.stop(mode)
        self.start()

    def start(self) -> None:
        opts = f"-h 127.0.0.1 -p {self.port} -k {self.data_dir} -F -c max_connections=200"
        result = subprocess.run(
            self._cmd(
                str(self.bin_dir / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-o",
                opts,
                "-l",
                str(self.data_dir / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            log = self.data_dir / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise PostgresUnavailable(f"pg_ctl start failed: {result.stderr}\n{tail}")

    def wal_lsn(self) -> str:
        """The primary's current WAL write position (``pg_current_wal_lsn()``)."""
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        assert row is not None
        return str(row[0])

    def replayed(self, lsn: str) -> bool:
        """On a standby: has it replayed the primary's WAL up to ``lsn``?"""
        with psycopg.connect(self.dsn(), autocommit=True, connect_timeout=5) as conn:
            row = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)).fetchone()
        return bool(row and row[0])

    def caught_up(self, primary: PostgresServer, timeout: float = 30.0) -> float:
        """On a standby: wait until it has replayed ``primary``'s WAL as of now.

        Returns the seconds waited; raises ``TimeoutError`` past ``timeout``.
        """
        lsn = primary.wal_lsn()
        began = time.monotonic()
        deadline = began + timeout
        delay = 0.002
        while True:
            with contextlib.suppress(psycopg.OperationalError):
                if self.replayed(lsn):
                    return time.monotonic() - began
            if time.monotonic() > deadline:
                raise TimeoutError(f"the standby on port {self.port} did not replay {lsn}")
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def start_standby(self) -> PostgresServer:
        """A hot standby of this running server, streaming from it, on another port."""
        base = _base_dir(self.as_postgres)
        standby = PostgresServer(
            port=_free_port(),
            data_dir=base / "data",
            bin_dir=self.bin_dir,
            as_postgres=self.as_postgres,
        )
        backup = subprocess.run(
            self._cmd(
                str(self.bin_dir / "pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-D",
                str(standby.data_dir),
                "-R",  # standby.signal + primary_conninfo in postgresql.auto.conf
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if backup.returncode != 0:
            shutil.rmtree(base, ignore_errors=True)
            raise PostgresUnavailable(f"pg_basebackup failed: {backup.stderr}")
        # Reconnect to a restarted primary within half a second (default: 5 s).
        with (standby.data_dir / "postgresql.auto.conf").open("a") as conf:
            conf.write("wal_retrieve_retry_interval = '500ms'\n")
        standby.start()
        return standby

    def remove(self) -> None:
        """Stop at once and delete the data directory."""
        self.stop("immediate")
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def _base_dir(as_postgres: bool) -> Path:
    base = Path(tempfile.mkdtemp(prefix="agentdesk-pg-"))
    if as_postgres:
        shutil.chown(base, "postgres", "postgres")
    os.chmod(base, 0o755)
    return base


def start_server() -> PostgresServer:
    bin_dir = _bin_dir()
    as_postgres = os.geteuid() == 0
    data_dir = _base_dir(as_postgres) / "data"
    server = PostgresServer(
        port=_free_port(), data_dir=data_dir, bin_dir=bin_dir, as_postgres=as_postgres
    )
    init = subprocess.run(
        server._cmd(
            str(bin_dir / "initdb"),
            "-D",
            str(data_dir),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    if init.returncode != 0:
        raise PostgresUnavailable(f"initdb failed: {init.stderr}")
    server.start()
    return server


@contextlib.contextmanager
def running_server() -> Iterator[PostgresServer]:
    server = start_server()
    try:
        yield server
    finally:
        server.remove()


@contextlib.contextmanager
def running_pair() -> Iterator[tuple[PostgresServer, PostgresServer]]:
    """A primary and its streaming hot standby, both on loopback, removed afterwards."""
    with running_server() as primary:
        standby = primary.start_standby()
        try:
            yield primary, standby
        finally:
            standby.remove()
