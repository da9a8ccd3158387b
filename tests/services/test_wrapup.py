"""WrapUpService: validation and exactly one interaction per call through the LocalWriter."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select

from agentdesk.models import Interaction, OutboxEntry
from agentdesk.services.desk.screen_pop import CallTracker
from agentdesk.services.desk.wrapup import (
    WrapUpDraft,
    WrapUpError,
    WrapUpService,
    load_dispositions,
)
from agentdesk.store.engine import read_session
from agentdesk.store.writer import LocalWriter
from tests.ui.ami_events import AGENT_IFACE, called, complete, connect, hold

NOW = dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.UTC)


def ended_call():  # type: ignore[no-untyped-def]
    tracker = CallTracker(AGENT_IFACE)
    base = NOW.timestamp()
    tracker.handle(
        called(
            "9.1",
            variables={
                "IVR_INTENT": "card_lost",
                "IDV_RESULT": "passed",
                "IDV_METHOD": "pin",
                "IDV_ATTEMPTS": "1",
            },
        ),
        base,
    )
    tracker.handle(connect("9.1"), base + 5)
    tracker.handle(hold("9.1"), base + 10)
    tracker.handle(hold("9.1", "Unhold"), base + 20)
    return tracker.handle(complete("9.1", talk=55), base + 60)[0].call


def service(engine: Engine) -> WrapUpService:
    return WrapUpService(
        LocalWriter(engine, "alice"), load_dispositions(), extra_codes=("acw_timeout",)
    )


def test_dispositions_come_from_resources() -> None:
    codes = [d.code for d in load_dispositions()]
    assert "resolved" in codes and len(codes) == len(set(codes))


def test_save_writes_one_interaction_with_call_data_even_when_retried(
    sqlite_central_engine: Engine,
) -> None:
    svc = service(sqlite_central_engine)
    ctx = svc.begin(ended_call(), None, None, NOW + dt.timedelta(seconds=60))
    notes = "n" * 1_000_000  # a 1 MB note is fine
    draft = WrapUpDraft("resolved", notes)
    svc.save(ctx, draft, NOW + dt.timedelta(seconds=90))
    svc.save(ctx, draft, NOW + dt.timedelta(seconds=95))  # a retry after an unclear failure
    with read_session(sqlite_central_engine) as s:
        rows = s.scalars(select(Interaction)).all()
        outbox = s.scalar(select(func.count()).select_from(OutboxEntry))
    assert len(rows) == 1 and outbox == 2  # the centre dedupes the replay by id
    row = rows[0]
    assert (
        row.linkedid == "9.1" and row.disposition_code == "resolved" and len(row.notes) == 1_000_000
    )
    assert (row.talk_seconds, row.hold_seconds, row.wrapup_seconds) == (55, 10, 30)
    assert row.ivr_intent == "card_lost" and row.idv_method == "pin" and row.idv_attempts == 1
    assert row.queue == "general" and row.caller_id == "+447700900123"


def test_invalid_drafts_are_refused_with_the_field(sqlite_central_engine: Engine) -> None:
    svc = service(sqlite_central_engine)
    ctx = svc.begin(ended_call(), None, None, NOW)
    cases = [
        (WrapUpDraft(""), "disposition"),
        (WrapUpDraft("nonsense"), "disposition"),
        (WrapUpDraft("complaint", "  "), "notes"),
        (WrapUpDraft("info", "x" * 1_000_001), "notes"),
        (WrapUpDraft("info", "a\x00b"), "notes"),
        (WrapUpDraft("info", follow_up_title=" "), "follow_up"),
    ]
    for draft, field in cases:
        with pytest.raises(WrapUpError) as info:
            svc.save(ctx, draft, NOW)
        assert info.value.field == field
    svc.save(ctx, WrapUpDraft("acw_timeout"), NOW)  # a system code is accepted


def test_save_files_the_call_record_with_pop_latency_and_workstation(
    sqlite_central_engine: Engine,
) -> None:
    from agentdesk.models import CallRecord

    svc = WrapUpService(
        LocalWriter(sqlite_central_engine, "alice"),
        load_dispositions(),
        pop_latency={"9.1": 12.5}.get,
        workstation="ws-7",
    )
    ctx = svc.begin(ended_call(), None, None, NOW + dt.timedelta(seconds=60))
    svc.save(ctx, WrapUpDraft("resolved", ""), NOW + dt.timedelta(seconds=90))
    with read_session(sqlite_central_engine) as s:
        records = s.scalars(select(CallRecord)).all()
        assert len(records) == 1
        record = records[0]
        assert (record.linkedid, record.workstation, record.pop_latency_ms) == ("9.1", "ws-7", 12.5)
        assert record.interaction_id == ctx.interaction_id
        assert record.answered_at == NOW + dt.timedelta(seconds=5)
        assert record.hold_seconds == 10
        assert record.wrapup_ended_at == NOW + dt.timedelta(seconds=90)
        # One outbox entry carries both: they reach the centre together or not at all.
        assert s.scalar(select(func.count()).select_from(OutboxEntry)) == 1
