"""A desktop restarted mid-call takes the call back: the pop, the agent's state and the
notes typed before the restart; a call that ended meanwhile opens as a wrap-up."""

from __future__ import annotations

from sqlalchemy import select

from agentdesk.models import Interaction
from agentdesk.services.desk.screen_pop import ADOPTED, CallPhase, CallTracker, ChangeKind
from agentdesk.services.desk.wrapup import WrapUpDraft
from agentdesk.services.desk.wrapups import RESYNC_GRACE
from agentdesk.store.engine import read_session
from tests.services.desk.conftest import Desk, DeskMaker
from tests.services.desk.fakes import Rows
from tests.ui.ami_events import (
    AGENT_IFACE,
    called,
    channel_row,
    complete,
    connect,
    member,
)

CALLER = "PJSIP/carrier-00000001"


def _call_rows(linkedid: str, *, agent_state: int = 6) -> list[object]:
    """What CoreShowChannels lists for a queue call connected to the agent's phone."""
    return [
        channel_row(
            CALLER,
            linkedid,
            linkedid,
            application="Queue",
            data="general,t,,,300",
            duration="00:02:10",
            variables={"IVR_INTENT": "card_lost", "IDV_RESULT": "passed"},
        ),
        channel_row(
            f"{AGENT_IFACE}-0000000a",
            f"{linkedid}1",
            linkedid,
            state=agent_state,
            number="1001",
            application="AppQueue",
            duration="00:01:30",
        ),
    ]


def _resync(desk: Desk, channels: list[object]) -> None:
    desk.session.link_changed("connected", "")
    desk.session.resync(
        Rows([member("QueueMember", queue="general", paused=False, reason="")], channels)
    )


def test_the_tracker_adopts_a_connected_call_from_the_resync_rows() -> None:
    tracker = CallTracker(AGENT_IFACE)
    changes = tracker.reconcile(_call_rows("20.1"), 1_000.0)  # type: ignore[arg-type]
    assert [(c.kind, c.detail) for c in changes] == [
        (ChangeKind.OFFERED, ADOPTED),
        (ChangeKind.CONNECTED, ADOPTED),
    ]
    call = tracker.get("20.1")
    assert call is not None and call.phase is CallPhase.CONNECTED
    assert call.caller_raw == "+447700900123" and call.queue == "general"
    assert call.agent_channel == f"{AGENT_IFACE}-0000000a"
    assert call.connected_at == 1_000.0 - 90 and call.offered_at == 1_000.0 - 130
    assert call.ivr.intent == "card_lost"
    # The same resync again changes nothing (adopted once).
    assert tracker.reconcile(_call_rows("20.1"), 1_001.0) == []  # type: ignore[arg-type]


def test_a_phone_still_ringing_is_not_adopted_and_other_agents_calls_are_ignored() -> None:
    tracker = CallTracker(AGENT_IFACE)
    ringing = _call_rows("21.1", agent_state=5)
    other = [
        channel_row(CALLER, "22.1", "22.1"),
        channel_row("PJSIP/1002-00000001", "22.11", "22.1", number="1002"),
    ]
    assert tracker.reconcile([*ringing, *other], 1_000.0) == []  # type: ignore[list-item]
    assert tracker.get("21.1") is None and tracker.get("22.1") is None


def test_an_answer_whose_offer_was_never_seen_is_adopted() -> None:
    tracker = CallTracker(AGENT_IFACE)
    changes = tracker.handle(connect("23.1", hold=12, ring=4), 2_000.0)
    assert [(c.kind, c.detail) for c in changes] == [
        (ChangeKind.OFFERED, ADOPTED),
        (ChangeKind.CONNECTED, ADOPTED),
    ]
    call = tracker.get("23.1")
    assert call is not None and call.wait_seconds == 12 and call.offered_at == 1_996.0
    # Its end is followed like any call's.
    ended = tracker.handle(complete("23.1"), 2_060.0)
    assert [c.kind for c in ended] == [ChangeKind.ENDED]


def test_a_restarted_desktop_takes_the_call_back_with_its_notes(make_desk: DeskMaker) -> None:
    desk = make_desk(acw_limit=60, central=False)
    desk.online(("general", False, ""))
    desk.event(called("24.1"))
    desk.event(connect("24.1"))
    desk.session.update_draft("24.1", WrapUpDraft("", "wants a card reissued"))
    desk.runner.drain()
    # The desktop dies; a new run reads the notes back, then the link resyncs with the
    # call still up.
    again = make_desk(acw_limit=60, central=False, clock=desk.clock, agent_id=desk.agent_id)
    again.session.start()
    again.runner.drain()
    _resync(again, _call_rows("24.1"))
    again.runner.drain()
    assert again.seen.started == []  # no wrap-up while the call is up
    assert [p.linkedid for p in again.seen.pops][-1:] == ["24.1"]
    current = again.session.current_call()
    assert current is not None and current.linkedid == "24.1"
    state = again.session.state
    assert state.label.lower().startswith("on call")
    # The pill's time in state counts from the answer (90 s before the resync), not from zero.
    assert 89 <= again.clock.monotonic() - state.since <= 91
    assert again.session.wrapups.draft("24.1") == WrapUpDraft("", "wants a card reissued")
    assert any("picked up again with the notes" in text for _level, text in again.seen.notices)
    # The call ends: the wrap-up opens with the notes, and is filed once.
    again.event(complete("24.1"))
    assert [(c.call.linkedid, d.notes) for c, d in again.seen.started] == [
        ("24.1", "wants a card reissued")
    ]
    again.session.save_wrap_up("24.1", WrapUpDraft("info", "wants a card reissued"))
    again.runner.drain()
    with read_session(again.local) as s:
        rows = s.scalars(select(Interaction).where(Interaction.linkedid == "24.1")).all()
    assert [r.notes for r in rows] == ["wants a card reissued"]


def test_with_no_resync_the_held_notes_open_as_a_wrap_up_after_the_grace(
    make_desk: DeskMaker,
) -> None:
    desk = make_desk(acw_limit=60, central=False)
    desk.online(("general", False, ""))
    desk.event(called("25.1"))
    desk.event(connect("25.1"))
    desk.session.update_draft("25.1", WrapUpDraft("", "server was down"))
    desk.runner.drain()
    again = make_desk(acw_limit=60, central=False, clock=desk.clock, agent_id=desk.agent_id)
    again.session.start()
    again.runner.drain()
    assert again.seen.started == []
    again.clock.advance(RESYNC_GRACE)
    assert [(c.call.linkedid, d.notes) for c, d in again.seen.started] == [
        ("25.1", "server was down")
    ]
    # A resync afterwards that still lists the call does not open a second wrap-up.
    _resync(again, _call_rows("25.1"))
    again.event(complete("25.1"))
    assert len(again.seen.started) == 1


def test_a_correcting_resync_ends_a_call_whose_end_the_desk_missed(
    make_desk: DeskMaker,
) -> None:
    """The server answers a refused hang-up with a resync marked ``corrects`` (the call was
    over; its end was lost in a relay gap): the call ends into its wrap-up, no queue the
    agent left is joined again, and no "link restored" notice appears."""
    desk = make_desk(acw_limit=60, central=False)
    desk.online(("general", False, ""))
    desk.event(called("25.1"))
    desk.event(connect("25.1"))
    desk.runner.drain()
    assert desk.session.current_call() is not None
    joins = [r for r in desk.sent.requests if r.kind == "join_queue"]
    member_row = member("QueueMember", queue="general", paused=False, reason="")
    desk.session.resync(Rows([member_row], [], reconnect=True, corrects=True))
    desk.runner.drain()
    assert desk.session.current_call() is None
    assert [c.call.linkedid for c, _draft in desk.seen.started] == ["25.1"]
    assert [r for r in desk.sent.requests if r.kind == "join_queue"] == joins
    assert not any("link restored" in text for _level, text in desk.seen.notices)
