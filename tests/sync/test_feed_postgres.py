"""The PostgreSQL change feed never skips a transaction that commits late."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select, text

from agentdesk.ids import uuid7
from agentdesk.models import ChangeLog
from agentdesk.store import migrate
from agentdesk.store.engine import central_engine
from agentdesk.store.sync import CentralStore
from agentdesk.store.sync.protocol import START

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_central(pg_url: str) -> Iterator[Engine]:
    engine = central_engine(pg_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def _insert_change(conn: object, label: str) -> None:
    conn.execute(
        text(  # type: ignore[attr-defined]
            "INSERT INTO change_log (entity_type, entity_id, op, version, changed_at, data) "
            "VALUES ('audit_entry', :id, 'upsert', 1, now(), CAST(:data AS jsonb))"
        ),
        {"id": uuid7(), "data": f'{{"row": {{"label": "{label}"}}}}'},
    )


def test_late_commit_is_delivered_not_skipped(pg_central: Engine) -> None:
    centre = CentralStore(pg_central)
    with pg_central.connect() as a, pg_central.connect() as b:
        a.begin()
        _insert_change(a, "A")  # A takes its xid and feed row first...
        b.begin()
        _insert_change(b, "B")
        b.commit()  # ...but B commits first.
        with pg_central.connect() as naive:
            # The classic bug: a seq cursor would see B now and move past A for good.
            assert naive.execute(select(ChangeLog.data)).scalars().all() == [
                {"row": {"label": "B"}}
            ]
        assert centre.pull(START) == []  # B waits behind the still-running A
        a.commit()
    rows = centre.pull(START)
    assert [r.data["row"]["label"] for r in rows if r.data] == ["A", "B"]
    assert rows[0].cursor < rows[1].cursor
    assert centre.pull(rows[-1].cursor) == []


def test_every_feed_row_is_stamped_with_its_transaction(pg_central: Engine) -> None:
    with pg_central.begin() as conn:
        _insert_change(conn, "one")
        _insert_change(conn, "two")
        xid = conn.execute(text("SELECT pg_current_xact_id()::text::bigint")).scalar_one()
    with pg_central.connect() as conn:
        assert conn.execute(select(ChangeLog.xid)).scalars().all() == [xid, xid]


def test_a_long_transaction_delays_but_never_loses(pg_central: Engine) -> None:
    centre = CentralStore(pg_central)
    with pg_central.connect() as long_running:
        long_running.begin()
        long_running.execute(text("SELECT pg_current_xact_id()"))  # holds the horizon back
        for label in ("x", "y", "z"):
            with pg_central.begin() as conn:
                _insert_change(conn, label)
        assert centre.pull(START) == []
        assert centre.has_more(START)
        long_running.rollback()
    assert [r.data["row"]["label"] for r in centre.pull(START) if r.data] == ["x", "y", "z"]
