"""Fixtures for the supervisor tests: sessions of each role, an audit log on a real cache."""

from __future__ import annotations

import gc
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from agentdesk.models import AuditEntry, Role
from agentdesk.store import migrate
from agentdesk.store.engine import encrypted_sqlite_engine, read_session
from agentdesk.store.writer import LocalWriter

# The real agent desktop (issue 4) for the integration tests: fixtures ``desk``/``desk_factory``.
from tests.ui.conftest import desk, desk_factory  # noqa: F401


@dataclass
class FakeSession:
    """A signed-in identity whose role an administrator can change while it is open."""

    login: str
    role: Role
    id: uuid.UUID = field(default_factory=lambda: uuid.UUID(int=1))


@pytest.fixture(autouse=True)
def qt_garbage_collected_here() -> Iterator[None]:
    """Collect an earlier test's garbage on the GUI thread before this test starts threads.

    A Qt object left in a reference cycle is otherwise destroyed wherever the collector
    next runs, e.g. on the loopback server's thread a later test starts, which crashes the
    process (seen in long runs of this folder).
    """
    gc.collect()
    yield


@pytest.fixture
def supervisor() -> FakeSession:
    return FakeSession("sam.supervisor", Role.SUPERVISOR)


@pytest.fixture
def agent() -> FakeSession:
    return FakeSession("alice.agent", Role.AGENT)


@pytest.fixture
def audit(tmp_path: Path) -> LocalWriter:
    engine = encrypted_sqlite_engine(tmp_path / "supervisor-cache.db", "22" * 32)
    migrate.upgrade(engine)
    return LocalWriter(engine, actor="sam.supervisor")


def audit_entries(writer: LocalWriter) -> list[AuditEntry]:
    with read_session(writer._engine) as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.at)))
