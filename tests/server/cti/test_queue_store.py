"""queue_record: named once, stored in batches, replayed on restart, reconciled with the report."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import OperationalError

from agentdesk.models import QueueRecord
from agentdesk.server.cti.queue_store import (
    CALL_FIGURES,
    QueueStore,
    RecordKeys,
    StoredBoard,
    call_figures,
    reconcile,
)
from agentdesk.services.supervisor.queue_log import QueueLogRecord
from agentdesk.services.supervisor.settings import SupervisorSettings
from agentdesk.store import migrate
from agentdesk.store.engine import read_session, sqlite_engine, write_session
from tests.ui_workspace.builders import FIELD_KEYRING

T0 = 1_800_000_000.0 - (1_800_000_000 % 86_400) + 9 * 3600  # 09:00 UTC on some day


def rec(
    at: float, call: str, kind: str, *data: str, queue: str = "general", agent: str = "NONE"
) -> QueueLogRecord:
    return QueueLogRecord(0, T0 + at, call, queue, agent, kind, tuple(data))


def day() -> list[QueueLogRecord]:
    """Answered, abandoned, timed out and re-queued calls, a pause, a ring-no-answer."""
    a = "PJSIP/1001"
    return [
        rec(0, "MANAGER", "ADDMEMBER", agent=a),
        rec(10, "c1", "ENTERQUEUE", "", "+447700900123", "1"),
        rec(12, "c1", "RINGNOANSWER", "15000", agent=a),
        rec(20, "c1", "RINGNOANSWER", "15000", agent=a),
        rec(25, "c1", "CONNECT", "15", "c1b", "3", agent=a),
        rec(200, "c1", "COMPLETECALLER", "15", "175", "1", agent=a),
        rec(300, "c2", "ENTERQUEUE", "", "+447700900124", "1"),
        rec(303, "c2", "ABANDON", "1", "1", "3"),  # a short abandon
        rec(400, "c3", "ENTERQUEUE", "", "+447700900125", "1"),
        rec(460, "c3", "ABANDON", "1", "1", "60"),
        rec(500, "c4", "ENTERQUEUE", "", "+447700900126", "1"),
        rec(530, "c4", "EXITWITHTIMEOUT", "1", "1", "30"),
        rec(540, "c4", "ENTERQUEUE", "", "+447700900126", "1"),  # queued again: a new attempt
        rec(560, "c4", "CONNECT", "20", "c4b", "2", agent=a),
        rec(600, "NONE", "PAUSE", "Lunch", agent=a),
        rec(700, "c4", "COMPLETEAGENT", "20", "140", "1", agent=a),
    ]


@pytest.fixture
def central(tmp_path: Path) -> Iterator[Engine]:
    engine = sqlite_engine(tmp_path / "central.db")
    migrate.upgrade(engine, field_keyring=FIELD_KEYRING)
    yield engine
    engine.dispose()


def test_each_fact_is_named_once_and_a_call_that_queues_again_is_a_new_attempt() -> None:
    keys = RecordKeys()
    records = day()
    assert all(keys.accept(r) is not None for r in records)
    # The same records again (a link that replays, a second writer): every one a repeat.
    assert [keys.accept(r) for r in records] == [None] * len(records)
    # A third ENTERQUEUE of c4 after its answer ended: a third attempt, counted.
    assert keys.accept(rec(800, "c4", "ENTERQUEUE", "", "x", "1")) is not None
    # A different ring-no-answer time is another ring, not a repeat.
    assert keys.accept(rec(13, "c1", "RINGNOANSWER", "15000", agent="PJSIP/1001")) is not None


def _count(engine: Engine) -> int:
    with read_session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(QueueRecord)) or 0)


async def _feed(engine: Engine, records: Sequence[QueueLogRecord], **kw: Any) -> StoredBoard:
    store = QueueStore(engine, "lab", batch=4, flush_s=0.05, **kw)
    board = StoredBoard(SupervisorSettings(), store)
    await store.start()
    for record in records:
        board.feed(record)
    await store.stop()
    return board


def test_the_board_and_the_stored_records_count_the_same_and_a_restart_keeps_the_day(
    central: Engine,
) -> None:
    records = day()

    async def scenario() -> None:
        # Each record twice, as a link drop that repeats events would: counted and stored once.
        doubled = [r for r in records for _ in range(2)]
        first = await _feed(central, doubled)
        assert first.repeats == len(records)
        assert _count(central) == len(records)
        now = T0 + 900
        live = call_figures(first.metrics.today(now=now))
        assert (live["offered"], live["answered"], live["abandoned"]) == (5, 2, 2)
        assert (live["short_abandoned"], live["flowed_out"], live["ring_no_answers"]) == (1, 1, 2)

        # A server restart: a new board replays the stored records and has the same day.
        store = QueueStore(central, "lab")
        second = StoredBoard(SupervisorSettings(), store)
        loaded, last = await asyncio.to_thread(store.load, T0 - 3600)
        store.seq = store.written_seq = last
        assert second.replay(loaded) == len(records)
        assert call_figures(second.metrics.today(now=now)) == live
        assert last == len(records)
        # The stored records still dedupe after the restart (the keys came back with them).
        await store.start()
        second.feed(records[-1])
        assert second.repeats == 1 and store.pending == 0
        await store.stop()

        result = await reconcile(second, "lab")
        assert result.drift == 0 and result.complete
        assert result.live[""] == result.report[""] == live

        # A counted record that never reached the database shows as drift.
        with write_session(central) as s:
            s.execute(delete(QueueRecord).where(QueueRecord.kind == "ABANDON"))
        broken = await reconcile(second, "lab")
        assert broken.drift > 0
        assert broken.live[""]["abandoned"] - broken.report[""]["abandoned"] == 2

    asyncio.run(scenario())


def test_the_buffer_is_bounded_and_a_failed_batch_is_retried(central: Engine) -> None:
    calls: list[int] = []

    def flaky(engine: Engine, rows: Sequence[dict[str, Any]]) -> None:
        calls.append(len(rows))
        if len(calls) == 1:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        from agentdesk.server.cti.queue_store import insert_rows

        insert_rows(engine, rows)

    async def scenario() -> None:
        store = QueueStore(central, "lab", batch=100, flush_s=0.05, limit=10, insert=flaky)
        board = StoredBoard(SupervisorSettings(), store)
        await store.start()
        records = day()
        for record in records:
            board.feed(record)
        assert store.pending == 10 and store.dropped == len(records) - 10
        assert await store.flushed(store.seq, 10.0)
        await store.stop()
        assert store.failures == 1 and calls[0] == calls[1] == 10
        assert _count(central) == 10
        # The drift says what was lost: the board counted records the database never got.
        result = await reconcile(board, "lab")
        assert result.dropped == len(records) - 10 and result.drift > 0

    asyncio.run(scenario())


def test_figures_compared_are_the_call_facts() -> None:
    assert set(CALL_FIGURES) >= {"offered", "answered", "abandoned", "flowed_out", "handled"}
