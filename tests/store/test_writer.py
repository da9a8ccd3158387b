"""The local write path commits the domain row and its outbox entry together."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from agentdesk.ids import uuid7
from agentdesk.models import Interaction, OutboxEntry
from agentdesk.store import migrate
from agentdesk.store.engine import encrypted_sqlite_engine, read_session
from agentdesk.store.mutations import MutationRejected
from agentdesk.store.writer import LocalWriter


@pytest.fixture
def writer(tmp_path: Path) -> LocalWriter:
    engine = encrypted_sqlite_engine(tmp_path / "cache.db", "11" * 32)
    migrate.upgrade(engine)
    return LocalWriter(engine, actor="alice")


def _interaction(**extra: object) -> dict[str, object]:
    now = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
    return {
        "id": uuid7(),
        "channel": "phone",
        "direction": "inbound",
        "started_at": now,
        "ended_at": now + dt.timedelta(minutes=3),
        **extra,
    }


def _counts(writer: LocalWriter) -> tuple[int, int]:
    with read_session(writer._engine) as s:
        return (
            s.scalar(select(func.count()).select_from(Interaction)) or 0,
            s.scalar(select(func.count()).select_from(OutboxEntry)) or 0,
        )


def test_write_commits_row_and_outbox_entry(writer: LocalWriter) -> None:
    seen = []
    writer.add_listener(seen.append)
    first = writer.write("interaction.add", _interaction(notes="Asked about a card payment"))
    second = writer.write("interaction.add", _interaction())
    assert _counts(writer) == (2, 2)
    assert second.client_seq == first.client_seq + 1
    assert first.mutation_id.version == 7
    assert [r.client_seq for r in seen] == [first.client_seq, second.client_seq]


def test_rejected_write_leaves_nothing_behind(writer: LocalWriter) -> None:
    with pytest.raises(MutationRejected, match="channel"):
        writer.write("interaction.add", _interaction(channel="pigeon"))
    with pytest.raises(MutationRejected, match="limit"):
        writer.write("interaction.add", _interaction(notes="x" * 1_000_001))
    assert _counts(writer) == (0, 0)


def test_one_megabyte_of_any_script_is_stored_faithfully(writer: LocalWriter) -> None:
    notes = ("Ünïcödé ✓ مرحبا שלום 你好 👩🏽‍💻 e\u0301 " * 40_000)[:1_000_000]
    args = _interaction(notes=notes)
    writer.write("interaction.add", args)
    with read_session(writer._engine) as s:
        assert s.get(Interaction, args["id"]).notes == notes


def test_counter_never_repeats_after_outbox_rows_are_deleted(writer: LocalWriter) -> None:
    writer.write("interaction.add", _interaction())
    last = writer.write("interaction.add", _interaction())
    with writer._engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM outbox")
    after = writer.write("interaction.add", _interaction())
    assert after.client_seq == last.client_seq + 1


def test_reference_to_an_unknown_customer_is_refused_clearly(writer: LocalWriter) -> None:
    with pytest.raises(MutationRejected, match=r"customer .* does not exist") as info:
        writer.write("interaction.add", _interaction(customer_id=uuid7()))
    assert info.value.field == "customer_id"
    assert _counts(writer) == (0, 0)
