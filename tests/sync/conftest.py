"""Desktops for sync tests: an encrypted cache, a LocalWriter and a Syncer against one centre."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from agentdesk.store import migrate
from agentdesk.store.engine import encrypted_sqlite_engine
from agentdesk.store.sync import CentralStore, Syncer, SyncScope, SyncSettings
from agentdesk.store.sync.local import LocalStore
from agentdesk.store.writer import LocalWriter
from tests.sync.factories import seed_reference
from tests.ui_workspace.builders import FIELD_KEYRING

_MIGRATED: dict[str, bytes] = {}


@dataclass
class Desk:
    """One simulated desktop."""

    name: str
    engine: Engine
    writer: LocalWriter
    syncer: Syncer

    @property
    def local(self) -> LocalStore:
        return self.syncer.local


def make_cache(path: Path) -> Engine:
    """A migrated, encrypted cache (migrating once per session, then copying the file)."""
    key = "44" * 32
    if "cache" not in _MIGRATED:
        seed = path.with_name("seed-cache.db")
        engine = encrypted_sqlite_engine(seed, key)
        migrate.upgrade(engine)
        engine.dispose()
        _MIGRATED["cache"] = seed.read_bytes()
    path.write_bytes(_MIGRATED["cache"])
    return encrypted_sqlite_engine(path, key)


@pytest.fixture
def centre(central: Engine) -> CentralStore:
    seed_reference(central)
    return CentralStore(central, FIELD_KEYRING)


@pytest.fixture
def make_desk(tmp_path: Path) -> Iterator[Callable[..., Desk]]:
    engines: list[Engine] = []

    def build(
        name: str,
        centre: CentralStore,
        scope: SyncScope | None = None,
        settings: SyncSettings | None = None,
        fill: bool = True,
    ) -> Desk:
        engine = make_cache(tmp_path / f"{name}.db")
        engines.append(engine)
        syncer = Syncer(
            LocalStore(engine),
            centre,
            scope or SyncScope(full_replica=True),
            name,
            settings=settings,
        )
        if fill:  # a desktop fills its cache (reference data included) before agents write
            syncer.ensure_filled()
        return Desk(name, engine, LocalWriter(engine, name), syncer)

    yield build
    for engine in engines:
        engine.dispose()
