"""Shared fixtures: offscreen Qt, an in-memory keyring, real SQLite and PostgreSQL stores."""

from __future__ import annotations

import gc
import os
import warnings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from sqlalchemy import Engine

from agentdesk.store import migrate
from agentdesk.store.engine import central_engine, sqlite_engine
from agentdesk.vault import MemoryKeyring
from tests.support.pgserver import PostgresServer, start_server


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """Every test gets its own empty keyring; nothing touches the real OS keyring."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def layout_settings_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Window layout (QSettings) goes to a fresh temporary directory, never the user's own."""
    from PySide6.QtCore import QSettings

    folder = tmp_path_factory.mktemp("qsettings")
    scope = QSettings.Scope.UserScope
    for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        QSettings.setPath(fmt, scope, str(folder))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    yield folder


@pytest.fixture(autouse=True, scope="module")
def collections_stay_short() -> Iterator[None]:
    """After each test module: collect, then freeze what survives (``gc.freeze``).

    A run keeps much alive for good: FastAPI caches every endpoint callable per process,
    and an app's endpoints hold the app and its whole server context (a run builds about
    a thousand); Alembic's tables of every migrated store; windows Qt never deleted. By
    the 1,000th test the heap held 6.8 million objects, and each full collection stopped
    every thread (server loops included) for 5.5 s and more, up to 10 s late in the run
    (two CI failures: a sign-in and a timeline page that timed out). Frozen objects are
    skipped by later collections. Freeing the apps instead (emptying FastAPI's caches)
    let their engines' connections be finalised at random later points, each a
    ResourceWarning failing whichever test was running; kept and frozen, they are not.
    """
    yield
    with warnings.catch_warnings():
        # Finalisers of what a module leaked run here, between two modules' tests.
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    gc.freeze()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the whole run (started, never skipped)."""
    server = start_server()
    yield server
    server.stop("immediate")


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database on the session's PostgreSQL server."""
    name = pg_server.create_database()
    yield pg_server.url(name)
    pg_server.drop_database(name)


@pytest.fixture
def sqlite_central_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = sqlite_engine(tmp_path / "central.db")
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def central(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated central store, once on embedded SQLite and once on real PostgreSQL."""
    if request.param == "sqlite":
        engine = sqlite_engine(tmp_path / "central.db")
    else:
        pg_server: PostgresServer = request.getfixturevalue("pg_server")
        name = pg_server.create_database()
        request.addfinalizer(lambda: pg_server.drop_database(name))
        engine = central_engine(pg_server.url(name))
    migrate.upgrade(engine)
    yield engine
    engine.dispose()
