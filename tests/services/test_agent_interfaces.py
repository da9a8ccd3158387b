"""An agent is its interface, its state interface or an alias; its legs are any of their channels.

Events are shaped as Asterisk 20 sends them for a ``Local/1001@agents/n``
queue member whose state interface is ``PJSIP/1001`` (app_queue.c: the
``Agent*`` events carry ``Interface`` = the member interface as configured and
the Local channel's ``;1`` half as ``Dest``; member events carry
``Interface`` and ``StateInterface``; the phone's own channel, dialled by the
``;2`` half, appears in ``DialEnd``, ``Hold`` and ``Hangup`` with the same
``Linkedid``).
"""

from __future__ import annotations

from agentdesk.services.desk.agent_state import AgentState, AgentStateMachine, load_policy
from agentdesk.services.desk.identity import (
    AgentIdentity,
    device_of_channel,
    normalise_interface,
)
from agentdesk.services.desk.screen_pop import CallPhase, CallTracker, ChangeKind
from agentdesk.telephony.codec import AmiMessage
from agentdesk.telephony.events import AmiEvent, CoreShowChannel, decode
from tests.ui.ami_events import snapshot

CALLER = "PJSIP/carrier-00000001"
LOCAL = "Local/1001@agents/n"
HALF1 = "Local/1001@agents-0000002a;1"
HALF2 = "Local/1001@agents-0000002a;2"
PHONE = "PJSIP/1001-0000002b"
LINKED = "1733.7"


def typed(pairs: list[tuple[str, str]]) -> AmiEvent:
    event = decode(AmiMessage(tuple(pairs)))
    assert event is not None
    return event


def agent(name: str, *, interface: str = LOCAL, dest: str = HALF1, extra=()) -> AmiEvent:  # type: ignore[no-untyped-def]
    pairs = [("Event", name), ("Privilege", "agent,all")]
    pairs += snapshot("", CALLER, LINKED, LINKED)
    pairs += snapshot("Dest", dest, f"{LINKED}1", LINKED, number="1001", state=5)
    pairs += [("Queue", "general"), ("Interface", interface), ("MemberName", "Alice")]
    return typed([*pairs, *extra])


def dial_end(channel: str, dest: str, status: str) -> AmiEvent:
    pairs = [("Event", "DialEnd"), ("Privilege", "call,all")]
    pairs += snapshot("", channel, f"{LINKED}9", LINKED)
    pairs += snapshot("Dest", dest, f"{LINKED}2", LINKED)
    return typed([*pairs, ("DialStatus", status)])


def channel_event(name: str, channel: str, linkedid: str = LINKED) -> AmiEvent:
    pairs = [("Event", name), ("Privilege", "call,all")]
    pairs += snapshot("", channel, f"{linkedid}5", linkedid)
    if name == "Hangup":
        pairs += [("Cause", "16"), ("Cause-txt", "Normal Clearing")]
    return typed(pairs)


def member_row(name: str, interface: str, state_interface: str, **kw: str) -> AmiEvent:
    listing = name == "QueueMember"
    pairs = [("Event", name), ("Queue", kw.get("queue", "general"))]
    pairs += [("Name" if listing else "MemberName", "Alice")]
    pairs += [("Location" if listing else "Interface", interface)]
    pairs += [("StateInterface", state_interface), ("Membership", "dynamic"), ("Penalty", "0")]
    pairs += [("Status", "1"), ("Paused", kw.get("paused", "0"))]
    pairs += [("PausedReason", kw.get("reason", ""))]
    return typed(pairs)


def local_tracker() -> CallTracker:
    return CallTracker("Local/1001@agents", "Alice", state_interface="PJSIP/1001")


def connected_local_call(tracker: CallTracker) -> None:
    assert [c.kind for c in tracker.handle(agent("AgentCalled"), 1.0)] == [ChangeKind.OFFERED]
    tracker.handle(dial_end(HALF2, PHONE, "ANSWER"), 3.0)  # the phone answers the ;2 half
    tracker.handle(dial_end(CALLER, HALF1, "ANSWER"), 3.0)
    changes = tracker.handle(agent("AgentConnect", extra=[("HoldTime", "4")]), 3.0)
    assert [c.kind for c in changes] == [ChangeKind.CONNECTED]


# ---------------------------------------------------------------------- identity
def test_interfaces_compare_without_local_options_and_with_the_default_context() -> None:
    assert normalise_interface("Local/1001@Agents/n") == "local/1001@agents"
    assert normalise_interface("Local/1001") == "local/1001@default"
    assert normalise_interface(" PJSIP/1001 ") == "pjsip/1001"
    assert device_of_channel(HALF2) == "local/1001@agents"
    assert device_of_channel("PJSIP/agent-2001-0000000c") == "pjsip/agent-2001"
    assert device_of_channel("SIP/1001-0a0b0c0d") == "sip/1001"
    me = AgentIdentity.of("Local/1001@agents/n", "PJSIP/1001", ["SIP/1001"])
    assert me.is_mine("local/1001@agents") and me.is_mine("PJSIP/1001") and me.is_mine("SIP/1001")
    assert not me.is_mine("PJSIP/10011") and not me.is_mine("")
    assert me.owns_channel(PHONE) and me.owns_channel(HALF1)
    assert me.owns_channel("SIP/1001-00000001")
    assert not me.owns_channel("PJSIP/10011-0000002b") and not me.owns_channel(CALLER)


# ---------------------------------------------------------------------- the pop
def test_a_local_member_pops_when_configured_without_the_n_option() -> None:
    tracker = CallTracker("Local/1001@agents", "Alice")  # the member itself is .../n
    (offer,) = tracker.handle(agent("AgentCalled"), 1.0)
    assert offer.call.agent_channel == HALF1


def test_an_alias_pops_a_member_configured_under_another_interface() -> None:
    tracker = CallTracker("PJSIP/1001", "Alice", aliases=["Local/1001@agents"])
    assert [c.kind for c in tracker.handle(agent("AgentCalled"), 1.0)] == [ChangeKind.OFFERED]
    other = CallTracker("PJSIP/1001", "Alice")
    assert other.handle(agent("AgentCalled", interface="Local/1002@agents/n"), 1.0) == []


def test_hold_from_the_phone_channel_of_a_local_member_call() -> None:
    tracker = local_tracker()
    connected_local_call(tracker)
    assert [c.kind for c in tracker.handle(channel_event("Hold", PHONE), 10.0)] == [ChangeKind.HELD]
    assert [c.kind for c in tracker.handle(channel_event("Unhold", PHONE), 14.0)] == [
        ChangeKind.RESUMED
    ]
    # a channel of someone else's phone with the same Linkedid is not the agent's
    assert tracker.handle(channel_event("Hold", "PJSIP/2002-00000040"), 15.0) == []
    assert tracker.current().hold_seconds == 4.0  # type: ignore[union-attr]


def test_an_optimised_local_channel_hanging_up_does_not_end_the_call() -> None:
    tracker = local_tracker()
    connected_local_call(tracker)
    assert tracker.current().agent_legs == (PHONE,)  # type: ignore[union-attr]
    # Local without /n optimises away: both halves hang up, the phone talks on.
    assert tracker.handle(channel_event("Hangup", HALF2), 20.0) == []
    assert tracker.handle(channel_event("Hangup", HALF1), 20.0) == []
    call = tracker.current()
    assert call is not None and call.phase is CallPhase.CONNECTED and call.agent_channel == PHONE
    ended = tracker.handle(channel_event("Hangup", PHONE), 50.0)
    assert [c.kind for c in ended] == [ChangeKind.ENDED] and ended[0].call.talk_seconds == 47.0


def test_phone_hanging_up_first_ends_the_call_with_the_last_local_half() -> None:
    tracker = local_tracker()
    connected_local_call(tracker)
    assert tracker.handle(channel_event("Hangup", PHONE), 30.0) == []
    assert tracker.current().agent_channel == HALF1  # type: ignore[union-attr]
    ended = tracker.handle(channel_event("Hangup", HALF1), 30.0)
    assert [c.kind for c in ended] == [ChangeKind.ENDED]


def test_the_inner_dial_failing_does_not_dismiss_the_queue_decides() -> None:
    tracker = local_tracker()
    tracker.handle(agent("AgentCalled"), 1.0)
    assert tracker.handle(dial_end(HALF2, PHONE, "CANCEL"), 2.0) == []
    assert tracker.current().phase is CallPhase.RINGING  # type: ignore[union-attr]
    dismissed = tracker.handle(dial_end(CALLER, HALF1, "NOANSWER"), 16.0)
    assert [c.kind for c in dismissed] == [ChangeKind.DISMISSED]


def test_reconcile_keeps_a_call_whose_phone_leg_is_still_up() -> None:
    tracker = local_tracker()
    tracker.handle(agent("AgentCalled"), 1.0)
    tracker.handle(agent("AgentConnect"), 3.0)  # the phone's DialEnd was missed
    pairs = [("Event", "CoreShowChannel"), *snapshot("", PHONE, f"{LINKED}2", LINKED)]
    row = typed([*pairs, ("BridgeId", "b1"), ("Application", "Dial"), ("Duration", "00:00:09")])
    assert isinstance(row, CoreShowChannel)
    assert tracker.reconcile([row], now=12.0) == []
    assert tracker.current().agent_channel == PHONE  # type: ignore[union-attr]
    assert [c.kind for c in tracker.reconcile([], now=13.0)] == [ChangeKind.ENDED]


# ---------------------------------------------------------------------- agent state
def test_member_rows_match_by_interface_or_state_interface() -> None:
    policy = load_policy()
    by_state = AgentStateMachine("PJSIP/1001", policy, lambda: 0.0)
    by_state.set_online(True)
    snap = by_state.resync([member_row("QueueMember", LOCAL, "PJSIP/1001")])
    assert snap is not None and snap.state is AgentState.AVAILABLE
    local = AgentStateMachine("Local/1001@agents", policy, lambda: 0.0)
    local.set_online(True)
    paused = member_row("QueueMemberPause", LOCAL, "PJSIP/1001", paused="1", reason="Lunch")
    assert local.handle(paused).state is AgentState.NOT_READY  # type: ignore[union-attr]
    removed = member_row("QueueMemberRemoved", LOCAL, "PJSIP/1001")
    assert local.handle(removed).state is AgentState.LOGGED_OUT  # type: ignore[union-attr]


def test_someone_elses_member_rows_leave_the_agent_alone() -> None:
    m = AgentStateMachine("Local/1001@agents", load_policy(), lambda: 0.0, aliases=["SIP/1001"])
    m.set_online(True)
    assert m.handle(member_row("QueueMemberAdded", "Local/1002@agents/n", "PJSIP/1002")) is None
    assert m.handle(member_row("QueueMemberAdded", "SIP/1001", "SIP/1001")) is not None
