"""Local queue members with a StateInterface, end to end against the simulator.

The desk's CallTracker and AgentStateMachine, configured from an agent row
(``interface`` Local/1001@agents, ``state_interface`` PJSIP/1001, ``endpoint``
1001), follow a call the simulator offers to that Local member: the pop, the
answer NOTIFY to the phone's endpoint, hold from the phone's own channel, and
the hang-up.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from agentdesk.services.desk import pbx_actions as actions
from agentdesk.services.desk.agent_state import AgentState, AgentStateMachine, load_policy
from agentdesk.services.desk.call_requests import AgentLine, Answer, Hangup, Hold, to_action
from agentdesk.services.desk.screen_pop import CallPhase, CallTracker, ChangeKind
from agentdesk.telephony.codec import AmiMessage
from agentdesk.telephony.events import QueueMember, decode, decode_all
from agentdesk.telephony.sim.config import parse_config
from agentdesk.telephony.sim.simulator import PbxSimulator
from tests.telephony.amihelpers import make_config, make_sim

MEMBER = "Local/1001@agents/n"


@dataclass
class Row:
    interface: str | None = "Local/1001@agents"
    display_name: str = "Alice"
    extension: str | None = "1001"
    state_interface: str | None = "PJSIP/1001"
    endpoint: str | None = "1001"


class Desk:
    """One agent's tracker and state machine, fed every event the simulator emits."""

    def __init__(self, sim: PbxSimulator, line: AgentLine) -> None:
        self.sim = sim
        self.line = line
        self.tracker = CallTracker(
            line.interface, line.member_name, state_interface=line.state_interface
        )
        self.state = AgentStateMachine(
            line.interface, load_policy(), lambda: 0.0, state_interface=line.state_interface
        )
        self.state.set_online(True)
        self.changes: list[ChangeKind] = []
        self.names: list[tuple[str, str]] = []
        sim.add_sink(self._on_event)

    def _on_event(self, message: AmiMessage, _klass: str) -> None:
        self.names.append((message.event or "", message.get("Channel") or ""))
        event = decode(message)
        self.state.handle(event)
        for change in self.tracker.handle(event, self.sim.sched.now):
            self.changes.append(change.kind)
            self.state.on_call(self.tracker.current() or change.call)

    def send(self, action: actions.PbxAction) -> AmiMessage:
        message = AmiMessage.build(("Action", action.name), ("ActionID", "a1"), *action.headers)
        handler = {"PJSIPNotify": self.sim.actions.pjsip_notify, "Hangup": self.sim.actions.hangup}
        (reply,) = handler[action.name](None, message)  # type: ignore[arg-type]
        self.sim.run_for(0.5)
        return reply

    def resync(self) -> None:
        request = AmiMessage.build(("Action", "QueueStatus"), ("ActionID", "q1"))
        rows = decode_all(self.sim.actions.queue_status(None, request))  # type: ignore[arg-type]
        self.state.resync([r for r in rows if isinstance(r, QueueMember)])


def desk_with_local_member() -> Desk:
    sim = make_sim(make_config(agents=0))
    line = AgentLine.from_agent(Row())
    assert line is not None
    desk = Desk(sim, line)
    sim.add_agent(MEMBER, "Alice", {"general": 0}, state_interface="PJSIP/1001")
    return desk


def test_the_member_rows_name_the_local_interface_and_the_phone_as_state_interface() -> None:
    desk = desk_with_local_member()
    request = AmiMessage.build(("Action", "QueueStatus"), ("ActionID", "q1"))
    rows = [r for r in decode_all(desk.sim.actions.queue_status(None, request))  # type: ignore[arg-type]
            if isinstance(r, QueueMember)]  # fmt: skip
    assert [(r.interface, r.state_interface) for r in rows] == [(MEMBER, "PJSIP/1001")]
    desk.resync()
    assert desk.state.snapshot.state is AgentState.AVAILABLE


def test_a_call_to_a_local_member_pops_answers_holds_and_ends() -> None:
    desk = desk_with_local_member()
    desk.resync()
    placed = desk.sim.place_call("+447700900123", queue="general", agent=MEMBER, handle_time=600)
    desk.sim.run_for(1)
    call = desk.tracker.current()
    assert desk.changes == [ChangeKind.OFFERED] and call is not None
    assert call.agent_channel is not None and call.agent_channel.startswith("Local/1001@agents-")
    assert call.agent_channel.endswith(";1") and call.linkedid == placed.linkedid
    assert desk.state.snapshot.state is AgentState.RINGING

    assert desk.send(to_action(Answer(), desk.line)).response == "Success"
    call = desk.tracker.current()
    assert call is not None and call.phase is CallPhase.CONNECTED
    (phone,) = call.agent_legs
    assert phone.startswith("PJSIP/1001-")
    assert desk.state.snapshot.state is AgentState.ON_CALL

    desk.send(to_action(Hold(call.linkedid, on=True), desk.line))
    assert ("Hold", phone) in desk.names  # the phone's own channel holds
    assert desk.tracker.current().phase is CallPhase.ON_HOLD  # type: ignore[union-attr]
    assert desk.state.snapshot.state is AgentState.ON_HOLD
    desk.send(to_action(Hold(call.linkedid, on=False), desk.line))
    assert desk.tracker.current().phase is CallPhase.CONNECTED  # type: ignore[union-attr]

    desk.send(to_action(Hangup(call.linkedid), desk.line, call.agent_channel))
    assert desk.changes[-1] is ChangeKind.ENDED
    assert desk.tracker.get(call.linkedid).phase is CallPhase.ENDED  # type: ignore[union-attr]
    hung = [c for e, c in desk.names if e == "Hangup"]
    assert phone in hung and call.agent_channel in hung
    assert call.agent_channel.replace(";1", ";2") in hung


def test_a_local_line_without_endpoint_refuses_to_answer_and_the_call_rings_on() -> None:
    desk = desk_with_local_member()
    desk.sim.place_call("+447700900123", queue="general", agent=MEMBER)
    desk.sim.run_for(1)
    bare = AgentLine(MEMBER, "Alice", state_interface="PJSIP/1001")
    with pytest.raises(actions.ActionInputError, match="No phone endpoint"):
        to_action(Answer(), bare)
    assert desk.tracker.current().phase is CallPhase.RINGING  # type: ignore[union-attr]


def test_the_phone_hanging_up_ends_the_call_on_the_desk() -> None:
    desk = desk_with_local_member()
    desk.sim.place_call("+447700900123", queue="general", agent=MEMBER, handle_time=600)
    desk.sim.run_for(1)
    desk.send(to_action(Answer(), desk.line))
    call = desk.tracker.current()
    assert call is not None and call.agent_legs
    desk.send(actions.hangup(call.agent_legs[0]))  # the agent hangs up on the phone
    assert desk.changes[-1] is ChangeKind.ENDED


def test_a_ring_no_answer_drops_all_three_channels_and_dismisses_the_pop() -> None:
    desk = desk_with_local_member()
    desk.sim.place_call("+447700900123", queue="general", agent=MEMBER)
    desk.sim.run_for(16)
    assert ChangeKind.DISMISSED in desk.changes
    hung = [c for e, c in desk.names if e == "Hangup"]
    assert any(c.startswith("PJSIP/1001-") for c in hung)
    assert sum(c.startswith("Local/1001@agents-") for c in hung) == 2


def test_virtual_agents_can_be_local_members_and_default_to_pjsip() -> None:
    raw = {"queues": {"general": {}}, "agents": {"count": 2, "first_extension": 3001}}
    assert not parse_config(raw).agents.local_members
    local = parse_config({**raw, "agents": {**raw["agents"], "local_members": True}})
    assert local.agents.local_members and local.agents.local_context == "agents"
    sim = make_sim(local)
    devices = sorted((d.interface, d.phone) for d in sim.acd.devices.values())
    assert devices == [
        ("Local/3001@agents/n", "PJSIP/agent-3001"), ("Local/3002@agents/n", "PJSIP/agent-3002"),
    ]  # fmt: skip
    tracker = CallTracker("Local/3001@agents", state_interface="PJSIP/agent-3001")
    seen: list[ChangeKind] = []
    sim.add_sink(lambda m, _k: seen.extend(c.kind for c in tracker.handle(decode(m), 0.0)))
    sim.place_call("+447700900123", queue="general", agent="Local/3001@agents/n", handle_time=20)
    sim.run_for(60)
    assert seen[:3] == [ChangeKind.OFFERED, ChangeKind.CONNECTED, ChangeKind.ENDED]
    plain = make_sim(parse_config(raw))
    assert sorted(d.interface for d in plain.acd.devices.values()) == [
        "PJSIP/agent-3001", "PJSIP/agent-3002",
    ]  # fmt: skip
    assert all(d.phone == d.interface for d in plain.acd.devices.values())
