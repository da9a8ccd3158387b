"""A PostgreSQL primary and its streaming hot standby, both real, on loopback (issue 16 item 3).

Reports read the standby (proved by pausing its replay: a record just written
to the primary is missing from the report until replay resumes), a write on
the standby's engine is refused, a stopped standby sends reports to the
primary without failing one, and the server lives through a restart of the
primary: sign-in, push, pull and live pokes work afterwards, nothing lost or
applied twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import DBAPIError

from agentdesk.client.api import ServerApi, ServerUnavailable
from agentdesk.config import load_settings
from agentdesk.models import Agent, Customer, QueueRecord, Role
from agentdesk.server.app import build_context, create_app
from agentdesk.server.cti.queue_store import QueueStore, insert_rows
from agentdesk.server.run import ServerThread
from agentdesk.server.settings import ListenSettings, ServerSettings
from agentdesk.services.platform.auth import hash_password
from agentdesk.services.supervisor.queue_log import QueueLogRecord
from agentdesk.store import migrate
from agentdesk.store.engine import StoreError, central_engine, read_session, write_session
from agentdesk.store.field_crypto import new_key_text
from agentdesk.store.standby import ReportReader, open_standby, standby_engine
from agentdesk.store.sync.protocol import CentralUnavailable
from tests.server.conftest import PASSWORD, Desktop, RunningServer
from tests.server.test_live_targeted import QUIET, Socket
from tests.support.pgserver import PostgresServer, running_pair
from tests.sync.factories import REF, person, seed_reference, ticket
from tests.ui_workspace.builders import FIELD_KEYRING

pytestmark = pytest.mark.postgres

DAY = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
T0 = DAY.timestamp() + 9 * 3600
REPORT = {"start": "2026-12-01", "end": "2026-12-02", "interval": "day", "by": "queue", "tz": "UTC"}


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[PostgresServer, PostgresServer]]:
    with running_pair() as both:
        yield both


@pytest.fixture
def primary(pair: tuple[PostgresServer, PostgresServer]) -> PostgresServer:
    return pair[0]


@pytest.fixture
def standby(pair: tuple[PostgresServer, PostgresServer]) -> Iterator[PostgresServer]:
    primary, standby = pair
    yield standby
    try:  # a test that stopped or paused it leaves it streaming again for the next one
        psycopg.connect(standby.dsn(), connect_timeout=5).close()
    except psycopg.OperationalError:
        standby.start()
    with psycopg.connect(standby.dsn(), autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_resume()")
    standby.caught_up(primary)


@pytest.fixture
def database(primary: PostgresServer, standby: PostgresServer) -> Iterator[str]:
    name = primary.create_database()
    yield name
    primary.drop_database(name)


@pytest.fixture
def engines(
    primary: PostgresServer, standby: PostgresServer, database: str
) -> Iterator[tuple[Engine, Engine]]:
    """The primary's engine (migrated, seeded) and the standby's, caught up with it."""
    engine = central_engine(primary.url(database))
    migrate.upgrade(engine)
    seed_reference(engine)
    with write_session(engine) as s:
        s.execute(update(Agent).values(password_hash=hash_password(PASSWORD)))
        s.execute(update(Agent).where(Agent.id == REF.bob).values(role=Role.AGENT))
        s.execute(update(Agent).where(Agent.id == REF.alice).values(role=Role.ADMIN))
    standby.caught_up(primary)
    replica = standby_engine(standby.url(database))
    yield engine, replica
    replica.dispose()
    engine.dispose()


@pytest.fixture
def server(engines: tuple[Engine, Engine]) -> Iterator[RunningServer]:
    """The server over the primary, its reports over the standby (replaces conftest's)."""
    engine, replica = engines
    ctx = build_context(engine, ServerSettings(), cipher=FIELD_KEYRING, standby=replica)
    app = create_app(ctx)
    thread = ServerThread(app, ListenSettings(host="127.0.0.1", port=0))
    url = thread.start()
    yield RunningServer(url, ctx, engine, app)
    thread.stop()


def calls(engine: Engine, first: int, count: int) -> None:
    """``count`` answered calls in queue cards at site lab, numbered from ``first``."""
    rows: list[dict[str, Any]] = []
    for n in range(first, first + count):
        at = T0 + 60 * n
        rows.append(_record(n, 2 * n, at, "ENTERQUEUE", "", "+447700900123", "1"))
        rows.append(_record(n, 2 * n + 1, at + 5, "CONNECT", "5", f"c{n}b", "2"))
    insert_rows(engine, rows)


def _record(n: int, seq: int, epoch: float, kind: str, *data: str) -> dict[str, Any]:
    agent = "PJSIP/1001" if kind == "CONNECT" else "NONE"
    return {
        "site": "lab", "seq": seq, "epoch": epoch, "kind": kind, "call_id": f"c{n}",
        "queue": "cards", "agent": agent, "wait_s": None, "talk_s": None,
        "data": list(data), "dedupe_key": f"c{n}|{kind}",
    }  # fmt: skip


def offered(api: ServerApi) -> int:
    body = api.request("GET", "/supervisor/reports", params=REPORT)
    return int(body["grand_total"]["offered"])


def stored(engine: Engine, model: type[Any] = QueueRecord) -> int:
    with read_session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_reports_read_the_standby_and_the_standby_refuses_writes(
    server: RunningServer,
    alice: ServerApi,
    engines: tuple[Engine, Engine],
    primary: PostgresServer,
    standby: PostgresServer,
) -> None:
    engine, replica = engines
    calls(engine, 0, 3)
    standby.caught_up(primary)
    assert offered(alice) == 3
    with psycopg.connect(standby.dsn(), autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
    calls(engine, 3, 2)  # committed on the primary, not replayed on the standby
    assert stored(engine) == 10
    assert offered(alice) == 3  # the report came from the standby
    assert alice.request("GET", "/supervisor/breached-tickets") is not None
    assert alice.request("GET", "/supervisor/audit/verify")["ok"]
    with psycopg.connect(standby.dsn(), autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_resume()")
    standby.caught_up(primary)
    assert offered(alice) == 5
    with pytest.raises(DBAPIError, match="read-only"):
        calls(replica, 10, 1)
    ready = httpx.get(server.url + "/ready", timeout=30).json()
    assert ready["standby"] == "ok" and ready["status"] == "ready"


def test_a_stopped_standby_sends_reports_to_the_primary(
    server: RunningServer,
    alice: ServerApi,
    engines: tuple[Engine, Engine],
    primary: PostgresServer,
    standby: PostgresServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine, replica = engines
    now = [0.0]
    server.ctx.reports = ReportReader(engine, replica, retry_s=30, clock=lambda: now[0])
    calls(engine, 0, 2)
    standby.caught_up(primary)
    standby.stop()
    calls(engine, 2, 1)
    with caplog.at_level(logging.WARNING, logger="agentdesk.store.standby"):
        assert offered(alice) == 3  # from the primary, nothing failed
        assert offered(alice) == 3
    warnings = [r for r in caplog.records if "standby does not answer" in r.getMessage()]
    assert len(warnings) == 1  # once, not once per report
    ready = httpx.get(server.url + "/ready", timeout=30).json()
    assert ready["status"] == "ready"
    assert ready["standby"].startswith("unavailable") and "primary" in ready["standby"]
    standby.start()
    standby.caught_up(primary)
    with psycopg.connect(standby.dsn(), autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
    calls(engine, 3, 1)
    assert offered(alice) == 4  # still the primary: the standby is left alone retry_s
    now[0] = 31.0
    assert offered(alice) == 3  # back on the (paused) standby


def test_the_server_survives_a_primary_restart(
    server: RunningServer,
    desktop: Callable[..., Desktop],
    primary: PostgresServer,
    standby: PostgresServer,
    engines: tuple[Engine, Engine],
) -> None:
    bob, colleague = desktop("bob"), desktop("bob")

    def new_customer() -> dict[str, Any]:
        customer = person()
        bob.writer.write("customer.create", customer)
        case = ticket(customer_id=str(customer["id"]), team_id=str(REF.team_a))
        bob.writer.write("ticket.create", case)
        return customer

    sock = Socket(server, "alice", None)
    try:
        first = new_customer()
        bob.syncer.cycle()
        _drain(sock)

        primary.restart()
        assert sock.poked(30)  # the LISTEN connection came back (a reconnect pokes everyone)
        _drain(sock)
        again = ServerApi(server.url)  # a sign-in right after the restart
        assert again.sign_in("bob", PASSWORD, "ws-bob-2").agent_id == REF.bob
        again.close()
        second = new_customer()
        bob.syncer.cycle()
        assert sock.poked(10)  # pokes flow again over the new LISTEN connection

        primary.stop()  # down while a push is attempted: the desktop keeps it and retries
        third = new_customer()
        with pytest.raises((CentralUnavailable, ServerUnavailable)):
            bob.syncer.cycle()
        primary.start()
        bob.syncer.cycle()
        assert bob.syncer.local.outbox_counts()[0] == 0
    finally:
        sock.close()

    engine, _ = engines
    with read_session(engine) as s:
        ids = list(s.scalars(select(Customer.id)))
    assert sorted(ids) == sorted(c["id"] for c in (first, second, third))  # none lost, none twice
    colleague.syncer.cycle()  # a pull after it all brings the three
    with read_session(colleague.engine) as s:
        assert {c["id"] for c in (first, second, third)} <= set(s.scalars(select(Customer.id)))


def test_queue_records_counted_while_the_primary_restarts_are_stored_once(
    engines: tuple[Engine, Engine], primary: PostgresServer, standby: PostgresServer
) -> None:
    """The CTI floor's record writer retries through the outage; a record sent twice is kept once
    (the standby gets them all too)."""
    engine, replica = engines

    def record(n: int) -> QueueLogRecord:
        return QueueLogRecord(n, T0 + n, f"c{n}", "cards", "NONE", "ENTERQUEUE", ("", "+44", "1"))

    async def scenario() -> QueueStore:
        store = QueueStore(engine, "lab", flush_s=0.05)
        await store.start()
        for n in range(5):
            store.add(f"k{n}", record(n))
        assert await store.flushed(store.seq, 10)
        await asyncio.to_thread(primary.stop)
        for n in range(5, 10):
            store.add(f"k{n}", record(n))
        for _ in range(200):  # bounded: until the writer has met the outage
            if store.failures:
                break
            await asyncio.sleep(0.05)
        assert store.failures
        await asyncio.to_thread(primary.start)
        store.add("k4", record(4))  # a repeat of a stored record: skipped, not doubled
        assert await store.flushed(store.seq, 60)
        await store.stop()
        return store

    store = asyncio.run(scenario())
    assert store.dropped == 0
    standby.caught_up(primary)
    for db in (engine, replica):
        with read_session(db) as s:
            keys = list(s.scalars(select(QueueRecord.dedupe_key)))
        assert sorted(keys) == sorted(f"k{n}" for n in range(10))


def _drain(sock: Socket) -> None:
    """Take pokes already sent (the connect poke, the first push) off the socket."""
    for _ in range(20):
        if not sock.poked(QUIET):
            return


def test_agentdesk_server_takes_the_standby_from_its_settings(
    engines: tuple[Engine, Engine],
    primary: PostgresServer,
    standby: PostgresServer,
    database: str,
    tmp_path: Path,
) -> None:
    """``agentdesk server`` as a site runs it: ``[central] standby_url`` in its settings file."""
    key = tmp_path / "field.key"
    key.write_text(new_key_text("standby"))
    key.chmod(0o600)
    config = tmp_path / "server.toml"
    config.write_text(
        f'[central]\nurl = "{primary.url(database)}"\nstandby_url = "{standby.url(database)}"\n'
    )
    env = {**os.environ, "AGENTDESK_FIELD_KEY_FILE": str(key)}
    env.pop("AGENTDESK_CENTRAL_URL", None)
    cmd = [str(Path(sys.executable).with_name("agentdesk")), "--config", str(config)]
    proc = subprocess.Popen(
        [*cmd, "server", "--port", "0"], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "listening on URL", or EOF if it failed to start
        assert line.startswith("listening on "), line
        ready = httpx.get(line.split()[-1] + "/ready", timeout=30).json()
        assert ready["status"] == "ready" and ready["standby"] == "ok"
    finally:
        proc.terminate()
        proc.wait(30)
        if proc.stdout is not None:
            proc.stdout.close()


def test_a_standby_url_must_be_postgresql(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="PostgreSQL"):
        standby_engine("sqlite:///reports.db")
    empty = tmp_path / "agentdesk.toml"
    empty.write_text("")
    url = "postgresql://agentdesk@127.0.0.1:5433/agentdesk"
    env = {"AGENTDESK_DATA_DIR": str(tmp_path), "AGENTDESK_CENTRAL_STANDBY_URL": url}
    settings = load_settings(empty, env)
    assert settings.central.standby_url == url
    with pytest.raises(StoreError, match="needs a PostgreSQL"):  # the embedded store has none
        open_standby(settings)
    assert open_standby(load_settings(empty, {"AGENTDESK_DATA_DIR": str(tmp_path)})) is None
