"""SyncEngine end to end: live pokes, status, central outage, watchdog, rejections."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from agentdesk.store.sync import SyncScope, SyncSettings
from agentdesk.store.sync.engine import SyncEngine
from agentdesk.store.sync.status import SyncStatus
from agentdesk.store.writer import LocalWriter
from tests.support.pgserver import PostgresServer
from tests.sync.conftest import make_cache
from tests.sync.factories import person, seed_reference, ticket
from tests.ui_workspace.builders import FIELD_KEYRING

FAST = SyncSettings(
    poll_interval=30.0, backoff_base=0.05, backoff_cap=0.5, watchdog_interval=0.1, stuck_after=1.0
)


class Desktop:
    """A cache, a writer and a running SyncEngine, as the composition root wires them."""

    def __init__(
        self, path: Path, central: Engine | str, login: str, settings: SyncSettings = FAST
    ) -> None:
        self.cache = make_cache(path)
        self.writer = LocalWriter(self.cache, login)
        self.sync = SyncEngine(
            self.cache,
            central,
            agent_login=login,
            scope=SyncScope(full_replica=True),
            settings=settings,
            field_cipher=FIELD_KEYRING,
        )
        self.writer.add_listener(self.sync.on_local_write)
        self.seen: dict[uuid.UUID, threading.Event] = {}
        self.sync.add_change_listener(self._on_changes)
        self.statuses: list[SyncStatus] = []
        self.sync.add_status_listener(self.statuses.append)
        self.sync.start()

    def _on_changes(self, changed: tuple[tuple[str, uuid.UUID], ...]) -> None:
        for _, ident in changed:
            self.seen.setdefault(ident, threading.Event()).set()

    def expect(self, ident: uuid.UUID) -> threading.Event:
        return self.seen.setdefault(ident, threading.Event())

    def settled(self, timeout: float = 20.0) -> bool:
        return self.sync.wait_for(
            lambda s: s.online and s.pending == 0 and s.phase == "idle", timeout
        )

    def close(self) -> None:
        self.sync.stop()
        self.cache.dispose()


@pytest.fixture
def desktops(tmp_path: Path) -> Iterator[Callable[..., Desktop]]:
    made: list[Desktop] = []

    def build(central: Engine | str, login: str, settings: SyncSettings = FAST) -> Desktop:
        desk = Desktop(tmp_path / f"{login}.db", central, login, settings)
        made.append(desk)
        return desk

    yield build
    for desk in made:
        desk.close()


def test_change_on_one_desktop_appears_on_another(
    central: Engine, desktops: Callable[..., Desktop]
) -> None:
    seed_reference(central)
    alice, bob = desktops(central, "alice"), desktops(central, "bob")
    assert alice.settled() and bob.settled()
    tick = ticket()
    arrived = bob.expect(tick["id"])
    alice.writer.write("ticket.create", tick)
    # Poll interval is 30 s: only a live poke gets it there this fast.
    assert arrived.wait(10), "bob never saw alice's ticket"
    assert alice.settled()
    status = alice.sync.status()
    assert (status.pending, status.oldest_pending_at, status.rejected) == (0, None, ())
    assert status.last_sync_at is not None


def test_rejections_are_listed_and_can_be_dismissed(
    central: Engine, desktops: Callable[..., Desktop]
) -> None:
    seed_reference(central)
    alice, bob = desktops(central, "alice"), desktops(central, "bob")
    cust = person()
    alice.writer.write("customer.create", cust)
    arrived = bob.expect(cust["id"])
    assert arrived.wait(10)
    assert alice.settled()
    alice.sync.stop()  # alice goes offline; meanwhile bob deletes the customer
    bob.writer.write("customer.delete", {"id": cust["id"]})
    assert bob.settled()
    alice.writer.write("customer.patch", {"id": cust["id"], "changes": {"segment": "premier"}})
    alice.sync = SyncEngine(
        alice.cache,
        central,
        agent_login="alice",
        scope=SyncScope(full_replica=True),
        settings=FAST,
        field_cipher=FIELD_KEYRING,
    )
    alice.sync.start()
    assert alice.sync.wait_for(lambda s: len(s.rejected) == 1, 10)
    rejected = alice.sync.status().rejected[0]
    assert (rejected.name, rejected.field) == ("customer.patch", "id")
    assert "deleted" in rejected.error
    assert alice.sync.dismiss_rejected(rejected.mutation_id)
    assert alice.sync.wait_for(lambda s: s.rejected == (), 10)


@pytest.mark.postgres
def test_central_outage_keeps_desktop_writing_then_catches_up(
    pg_server: PostgresServer, pg_url: str, desktops: Callable[..., Desktop]
) -> None:
    from agentdesk.store import migrate
    from agentdesk.store.engine import central_engine

    engine = central_engine(pg_url)
    migrate.upgrade(engine)
    seed_reference(engine)
    engine.dispose()
    alice, bob = desktops(pg_url, "alice"), desktops(pg_url, "bob")
    assert alice.settled() and bob.settled()
    pg_server.stop()
    try:
        assert alice.sync.wait_for(lambda s: not s.online, 15)
        written = [person() for _ in range(3)]
        for cust in written:
            alice.writer.write("customer.create", cust)  # the desktop keeps working
        assert alice.sync.wait_for(lambda s: s.pending == 3 and s.oldest_pending_at is not None, 10)
        assert alice.sync.status().oldest_pending_age() is not None
    finally:
        pg_server.start()
    arrivals = [bob.expect(c["id"]) for c in written]
    assert alice.settled(30)
    assert all(a.wait(15) for a in arrivals)
    assert any(not s.online for s in alice.statuses) and alice.statuses[-1].online


@pytest.mark.postgres
def test_watchdog_restarts_a_stuck_worker(
    pg_url: str, desktops: Callable[..., Desktop], caplog: pytest.LogCaptureFixture
) -> None:
    from agentdesk.store import migrate
    from agentdesk.store.engine import central_engine

    engine = central_engine(pg_url)
    migrate.upgrade(engine)
    seed_reference(engine)
    alice = desktops(pg_url, "alice")
    alice.writer.write("customer.create", person())
    assert alice.settled()
    caplog.set_level(logging.WARNING, logger="agentdesk.store.sync.engine")
    with engine.connect() as blocker:
        blocker.begin()
        blocker.execute(
            text("SELECT 1 FROM sync_client WHERE client_id = :c FOR UPDATE"),
            {"c": alice.sync.client_id},
        )
        alice.writer.write("customer.create", person())  # its push now waits for the lock
        assert alice.sync.wait_for(lambda s: s.restarts >= 1, 15)
        blocker.rollback()
    assert alice.settled()
    assert "sync worker stuck" in caplog.text
    engine.dispose()
