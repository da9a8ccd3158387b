"""CallTracker: the pop/confirm/dismiss/wrap-up rules over Asterisk 20 shaped events."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from agentdesk.services.desk.screen_pop import CallPhase, CallTracker, ChangeKind
from agentdesk.telephony.codec import AmiMessage
from agentdesk.telephony.events import decode
from tests.ui.ami_events import (
    AGENT_IFACE,
    called,
    complete,
    connect,
    hold,
    ring_no_answer,
    user_event,
)

IVR = {
    "IVR_SESSION": "s-1",
    "IVR_INTENT": "card_lost",
    "IDV_RESULT": "passed",
    "IDV_METHOD": "pin",
    "IDV_ATTEMPTS": "2",
    "IVR_LANGUAGE": "en",
}


def kinds(changes: list) -> list[ChangeKind]:
    return [c.kind for c in changes]


def test_full_call_offers_connects_holds_and_ends_with_durations() -> None:
    tracker = CallTracker(AGENT_IFACE)
    offered = tracker.handle(called("100.1", variables=IVR), now=1000.0)
    assert kinds(offered) == [ChangeKind.OFFERED]
    call = offered[0].call
    assert call.caller_raw == "+447700900123" and call.queue == "general"
    assert call.ivr.intent == "card_lost" and call.ivr.idv_attempts == 2
    assert call.ivr.describe_idv() == "Passed (PIN, 2 attempts)"
    assert kinds(tracker.handle(connect("100.1", hold=12), now=1003.0)) == [ChangeKind.CONNECTED]
    assert kinds(tracker.handle(hold("100.1"), now=1010.0)) == [ChangeKind.HELD]
    assert kinds(tracker.handle(hold("100.1", "Unhold"), now=1015.5)) == [ChangeKind.RESUMED]
    ended = tracker.handle(complete("100.1", talk=40), now=1043.0)
    assert kinds(ended) == [ChangeKind.ENDED]
    final = ended[0].call
    assert final.phase is CallPhase.ENDED
    assert final.talk_seconds == 40 and final.hold_seconds == 5.5 and final.wait_seconds == 12


def test_duplicates_change_nothing() -> None:
    tracker = CallTracker(AGENT_IFACE)
    assert tracker.handle(called("1.1"), 1.0)
    assert tracker.handle(called("1.1"), 1.1) == []
    assert tracker.handle(connect("1.1"), 2.0)
    assert tracker.handle(connect("1.1"), 2.1) == []
    assert tracker.handle(complete("1.1"), 3.0)
    assert tracker.handle(complete("1.1"), 3.1) == []


def test_other_agents_events_are_ignored() -> None:
    tracker = CallTracker(AGENT_IFACE)
    assert tracker.handle(called("2.1", interface="PJSIP/1002"), 1.0) == []
    assert tracker.handle(connect("2.1", interface="PJSIP/1002"), 2.0) == []
    assert tracker.ignored == 2 and tracker.current() is None


def test_ring_no_answer_dismisses_and_a_later_offer_pops_again() -> None:
    tracker = CallTracker(AGENT_IFACE)
    tracker.handle(called("3.1"), 1.0)
    dismissed = tracker.handle(ring_no_answer("3.1"), 16.0)
    assert kinds(dismissed) == [ChangeKind.DISMISSED] and dismissed[0].detail == "not answered"
    assert tracker.current() is None
    assert kinds(tracker.handle(called("3.1"), 25.0)) == [ChangeKind.OFFERED]


def test_caller_abandons_while_ringing() -> None:
    tracker = CallTracker(AGENT_IFACE)
    tracker.handle(called("4.1"), 1.0)
    abandon = decode(
        AmiMessage.build(("Event", "QueueCallerAbandon"), ("Linkedid", "4.1"), ("Queue", "general"))
    )
    assert tracker.handle(abandon, 5.0)[0].detail == "caller hung up"


def test_hangup_of_agent_leg_without_agent_complete_ends_the_call() -> None:
    tracker = CallTracker(AGENT_IFACE)
    tracker.handle(called("5.1"), 1.0)
    tracker.handle(connect("5.1"), 2.0)
    hangup = decode(
        AmiMessage.build(
            ("Event", "Hangup"),
            ("Channel", f"{AGENT_IFACE}-0000000a"),
            ("Linkedid", "5.1"),
            ("Cause", "16"),
        )
    )
    ended = tracker.handle(hangup, 30.0)
    assert kinds(ended) == [ChangeKind.ENDED] and ended[0].call.talk_seconds == 28.0


def test_user_event_ivr_data_arriving_first_reaches_the_pop() -> None:
    tracker = CallTracker(AGENT_IFACE)
    tracker.handle(
        user_event("6.1", Intent="balance", IDV="failed", IDVMethod="dob", IDVAttempts="3"), 0.5
    )
    call = tracker.handle(called("6.1"), 1.0)[0].call
    assert call.ivr.intent == "balance" and call.ivr.describe_idv() == "Failed (DOB, 3 attempts)"


def test_withheld_number_has_no_caller_id() -> None:
    tracker = CallTracker(AGENT_IFACE)
    call = tracker.handle(called("7.1", number=""), 1.0)[0].call
    assert call.caller_raw == ""


def test_reconcile_ends_calls_the_pbx_no_longer_has() -> None:
    tracker = CallTracker(AGENT_IFACE)
    tracker.handle(called("8.1"), 1.0)
    tracker.handle(connect("8.1"), 2.0)
    changes = tracker.reconcile([], 50.0)
    assert kinds(changes) == [ChangeKind.ENDED] and changes[0].detail == "gone after PBX reconnect"


header = st.tuples(
    st.sampled_from(
        [
            "Event",
            "Linkedid",
            "Interface",
            "DestChannel",
            "Channel",
            "TalkTime",
            "HoldTime",
            "UserEvent",
            "Variable",
            "Value",
            "ChanVariable",
            "DialStatus",
            "x",
        ]
    ),
    st.text(max_size=30),
)
event_names = st.sampled_from(
    [
        "AgentCalled",
        "AgentConnect",
        "AgentComplete",
        "AgentRingNoAnswer",
        "Hold",
        "Unhold",
        "Hangup",
        "DialEnd",
        "UserEvent",
        "VarSet",
        "QueueCallerJoin",
        "QueueCallerAbandon",
        "Bogus",
        "",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(event_names, st.lists(header, max_size=8)), max_size=30))
def test_garbage_events_never_raise(events: list) -> None:
    tracker = CallTracker(AGENT_IFACE)
    for i, (name, headers) in enumerate(events):
        tracker.handle(decode(AmiMessage((("Event", name), *headers))), float(i))
