"""AgentStateMachine: state comes from the PBX's member events, calls sit on top."""

from __future__ import annotations

from agentdesk.services.desk.agent_state import AgentState, AgentStateMachine, load_policy
from agentdesk.services.desk.screen_pop import CallTracker
from tests.ui.ami_events import AGENT_IFACE, called, complete, connect, member


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def machine() -> tuple[AgentStateMachine, Clock]:
    clock = Clock()
    m = AgentStateMachine(AGENT_IFACE, load_policy(), clock)
    m.set_online(True)
    return m, clock


def test_policy_file_has_reasons_and_acw_rules() -> None:
    policy = load_policy()
    assert {"Break", "Lunch", "Auto-Pause"} <= {r.code for r in policy.reasons}
    assert policy.acw_reason == "ACW" and policy.acw_limit_seconds > 0
    assert load_policy(acw_limit_seconds=5).acw_limit_seconds == 5


def test_states_follow_member_events_and_time_in_state_resets_only_on_change() -> None:
    m, clock = machine()
    assert m.snapshot.state is AgentState.LOGGED_OUT
    clock.now = 10
    assert m.handle(member("QueueMemberAdded")).state is AgentState.AVAILABLE
    assert m.snapshot.since == 10
    clock.now = 20
    snap = m.handle(member("QueueMemberPause", paused=True, reason="Lunch"))
    assert (
        snap.state is AgentState.NOT_READY and snap.label == "Not ready: Lunch" and snap.since == 20
    )
    clock.now = 30
    m.handle(member("QueueMemberStatus", paused=True, reason="Lunch", status=1))
    assert m.snapshot.since == 20  # same state: the timer keeps running
    m.handle(member("QueueMemberRemoved"))
    assert m.snapshot.state is AgentState.LOGGED_OUT


def test_other_interfaces_do_not_move_this_agent() -> None:
    m, _ = machine()
    assert m.handle(member("QueueMemberAdded", interface="PJSIP/1002")) is None
    assert m.snapshot.state is AgentState.LOGGED_OUT


def test_call_phases_then_wrap_up_until_the_pbx_unpauses() -> None:
    m, _ = machine()
    m.resync([member("QueueMember")])
    tracker = CallTracker(AGENT_IFACE)
    tracker.handle(called("1.1"), 1.0)
    assert m.on_call(tracker.current()).state is AgentState.RINGING
    tracker.handle(connect("1.1"), 2.0)
    assert m.on_call(tracker.current()).state is AgentState.ON_CALL
    ended = tracker.handle(complete("1.1"), 3.0)[0].call
    assert m.on_call(ended).state is AgentState.WRAP_UP
    m.handle(member("QueueMemberPause", paused=True, reason="ACW"))
    m.wrap_up_finished()
    assert m.snapshot.state is AgentState.WRAP_UP  # the PBX still has the ACW pause
    assert m.handle(member("QueueMemberPause", paused=False)).state is AgentState.AVAILABLE


def test_partly_paused_agent_is_still_available_and_offline_wins() -> None:
    m, _ = machine()
    m.handle(member("QueueMemberAdded", queue="a"))
    m.handle(member("QueueMemberAdded", queue="b", paused=True, reason="Break"))
    assert m.snapshot.state is AgentState.AVAILABLE
    assert m.set_online(False).state is AgentState.OFFLINE
