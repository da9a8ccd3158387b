"""Agent password hashes stay at the centre: reference copies to desktop caches blank them."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from agentdesk.models import Agent
from agentdesk.store import migrate
from agentdesk.store.engine import sqlite_engine
from agentdesk.store.sync.entities import WITHHELD, replica_select
from agentdesk.store.sync.snapshot import copy_reference
from tests.services.platform.conftest import add_agent


def test_reference_copy_carries_no_password_hash(central: Engine, tmp_path: Path) -> None:
    add_agent(central, "alice")
    cache = sqlite_engine(tmp_path / "cache.db")
    migrate.upgrade(cache)
    with central.connect() as conn, Session(cache) as s, s.begin():
        assert copy_reference(s, conn) >= 1
    with Session(cache) as s:
        agent = s.scalars(select(Agent)).one()
    assert agent.login == "alice" and agent.password_hash == WITHHELD
    with central.connect() as conn:
        (row,) = conn.execute(replica_select(Agent.__table__)).all()  # type: ignore[arg-type]
        assert row.password_hash == WITHHELD and row.login == "alice"
    with Session(central) as s:
        assert s.scalars(select(Agent.password_hash)).one().startswith("$argon2id$")
    cache.dispose()
