"""What the desk files: call records with the caller's number, missed offers, and wrap-ups
that never wait on the server; drafts kept in the cache as typed and read back after a crash."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from agentdesk.models import CallRecord, DeskDraft, Interaction, OutboxEntry
from agentdesk.services.crm.caller_match import (
    CallerMatch,
    CustomerCard,
    CustomerSummary,
    MatchKind,
)
from agentdesk.services.crm.phone import normalise
from agentdesk.services.desk.wrapup import WrapUpDraft
from agentdesk.store.engine import read_session
from tests.services.desk.conftest import Desk, DeskMaker
from tests.ui.ami_events import agent_event, called, complete, connect, ring_no_answer


def _records(desk: Desk, linkedid: str) -> tuple[list[Interaction], list[CallRecord]]:
    with read_session(desk.local) as s:
        rows = list(s.scalars(select(Interaction).where(Interaction.linkedid == linkedid)))
        calls = list(s.scalars(select(CallRecord).where(CallRecord.linkedid == linkedid)))
    return rows, calls


def test_the_call_record_carries_the_normalised_caller_number(make_desk: DeskMaker) -> None:
    """Defect: call_record.caller_e164 was NULL on every row."""
    desk = make_desk(central=False)
    desk.online(("general", False, ""))
    desk.event(called("10.1", number="07700 900123"))
    desk.event(connect("10.1"))
    desk.event(complete("10.1"))
    desk.session.save_wrap_up("10.1", WrapUpDraft("info"))
    desk.runner.drain()
    _rows, calls = _records(desk, "10.1")
    assert [c.caller_e164 for c in calls] == ["+447700900123"]


def test_a_ring_no_answer_is_filed_as_a_missed_call(make_desk: DeskMaker) -> None:
    """Defect: missed offers left no call record."""
    desk = make_desk(central=False)
    desk.online(("general", False, ""))
    desk.event(called("11.1", number="+447700900124"))
    desk.clock.advance(15)
    desk.event(ring_no_answer("11.1"))
    desk.runner.drain()
    rows, calls = _records(desk, "11.1")
    assert [(r.disposition_code, r.subject, r.agent_id) for r in rows] == [
        ("missed", "Missed call: not answered", desk.agent_id)
    ]
    assert len(calls) == 1
    record = calls[0]
    assert record.end_reason == "missed" and record.answered_at is None
    assert record.caller_e164 == "+447700900124" and record.interaction_id == rows[0].id
    assert desk.seen.started == []  # no wrap-up form for a call nobody answered


def test_a_caller_who_hangs_up_while_ringing_is_filed_as_missed(make_desk: DeskMaker) -> None:
    desk = make_desk(central=False)
    desk.online(("general", False, ""))
    desk.event(called("12.1", number="+447700900125"))
    abandon = agent_event(
        "QueueCallerAbandon", "12.1", extra=[("Position", "1"), ("OriginalPosition", "1")]
    )
    desk.event(abandon)
    desk.runner.drain()
    rows, calls = _records(desk, "12.1")
    assert [r.disposition_code for r in rows] == ["missed"]
    assert [c.end_reason for c in calls] == ["missed"]


def _server_match(number: str) -> CallerMatch:
    who = CustomerSummary(uuid.uuid4(), "Grace Hopper", "person", "retail", "en", False)
    return CallerMatch(normalise(number), MatchKind.SINGLE, "central", (who,), CustomerCard(who))


def test_a_wrap_up_for_a_matched_caller_not_in_the_cache_commits_with_no_round_trip(
    make_desk: DeskMaker,
) -> None:
    """Defect: the save first waited on fetching the customer (held in memory meanwhile)."""
    desk = make_desk()
    assert desk.central_matcher is not None
    desk.central_matcher.inner = None  # the server is down: asking it fails the test
    desk.local_matcher.inner = None
    desk.online(("general", False, ""))
    match = _server_match("+447700900321")
    desk.session.handle_match("13.1", match)
    desk.event(called("13.1", number="+447700900321"))
    desk.event(connect("13.1"))
    desk.event(complete("13.1"))
    desk.session.save_wrap_up("13.1", WrapUpDraft("info", "Card replaced."))
    desk.runner.drain()
    assert len(desk.seen.saved) == 1 and desk.seen.failed == []
    with read_session(desk.local) as s:
        outbox = s.scalars(select(OutboxEntry)).all()
        row = s.scalars(select(Interaction).where(Interaction.linkedid == "13.1")).one()
    # The cache's provisional copy waits for the customer; the centre gets the reference.
    assert row.notes == "Card replaced." and row.customer_id is None
    assert [e.args["customer_id"] for e in outbox] == [str(match.customer_id)]


def test_notes_typed_during_the_call_are_in_the_cache_and_come_back_after_a_crash(
    make_desk: DeskMaker,
) -> None:
    desk = make_desk(acw_limit=60, central=False)
    desk.online(("general", False, ""))
    desk.event(called("14.1"))
    desk.event(connect("14.1"))
    desk.session.update_draft("14.1", WrapUpDraft("", "caller wants a new card"))
    desk.runner.drain()
    with read_session(desk.local) as s:
        kept = s.get(DeskDraft, "14.1")
    assert kept is not None and kept.data["draft"]["notes"] == "caller wants a new card"
    # The desktop dies mid-call. The next run holds the notes until its first resync,
    # which no longer lists the call: the notes come back as its wrap-up.
    again = make_desk(acw_limit=60, central=False, clock=desk.clock, agent_id=desk.agent_id)
    again.session.start()
    again.runner.drain()
    assert again.seen.started == []
    again.online(("general", False, ""))
    assert [(c.call.linkedid, d.notes) for c, d in again.seen.started] == [
        ("14.1", "caller wants a new card")
    ]
    again.clock.advance(60)  # its ACW limit passes: saved as it stood
    again.runner.drain()
    rows, _calls = _records(again, "14.1")
    assert [(r.notes, r.disposition_code) for r in rows] == [
        ("caller wants a new card", "acw_timeout")
    ]
    with read_session(again.local) as s:
        assert s.scalars(select(DeskDraft)).all() == []


def test_a_wrap_up_past_its_deadline_when_the_desktop_died_is_saved_at_the_restart(
    make_desk: DeskMaker,
) -> None:
    desk = make_desk(acw_limit=30, central=False)
    desk.online(("general", False, ""))
    desk.event(called("15.1"))
    desk.event(connect("15.1"))
    desk.event(complete("15.1"))
    desk.session.update_draft("15.1", WrapUpDraft("resolved", "all sorted"))
    desk.runner.drain()
    # Killed now; it restarts after the ACW limit has passed.
    desk.clock.t += 45
    again = make_desk(acw_limit=30, central=False, clock=desk.clock, agent_id=desk.agent_id)
    again.session.start()
    again.runner.drain()
    again.clock.advance(0)
    again.runner.drain()
    rows, _calls = _records(again, "15.1")
    assert [(r.notes, r.disposition_code) for r in rows] == [("all sorted", "resolved")]
    assert again.seen.finished == [("15.1", None)]
