"""Golden transcripts per call scenario, checked against Asterisk 20's shapes and ordering."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from agentdesk.telephony.codec import encode
from agentdesk.telephony.sim.config import QueueConfig
from agentdesk.telephony.sim.simulator import PbxSimulator
from agentdesk.telephony.sim.state import Call, Device
from tests.telephony.amihelpers import CHANVARS, Recorder, make_config, make_sim
from tests.telephony.spec import check_invariants, check_shape

GOLDEN = Path(__file__).with_name("golden")
ALICE, BOB = "PJSIP/agent-1001", "PJSIP/agent-1002"


def _until(sim: PbxSimulator, predicate: Callable[[], bool], limit: float = 600) -> None:
    waited = 0.0
    while not predicate():
        assert waited < limit, "simulated condition never became true"
        sim.run_for(0.5)
        waited += 0.5


def _setup(
    strategy: str = "rrmemory", agents: tuple[str, ...] = (ALICE,)
) -> tuple[PbxSimulator, Recorder, list[Device]]:
    queues = {
        "general": QueueConfig(
            "general", strategy=strategy, timeout=15, retry=5, autopause="yes", servicelevel=20
        )
    }
    sim = make_sim(make_config(queues=queues))
    for i, interface in enumerate(agents):
        sim.add_agent(interface, ["Alice", "Bob"][i], {"general": 0})
    rec = Recorder()
    sim.add_sink(rec)
    devices = [d for d in (sim.acd.device(a) for a in agents) if d is not None]
    return sim, rec, devices


def _ring_and_answer(sim: PbxSimulator, dev: Device, *, via_ivr: bool = False) -> Call:
    if via_ivr:
        sim.place_call(
            "+447700900123",
            name='Ann "Q" Lee',
            intent="balance",
            language="en",
            idv="passed",
            agent=dev.interface,
        )
    else:
        sim.place_call("+447700900123", name="Ann Lee", queue="general")
    _until(sim, lambda: dev.ringing is not None)
    sim.run_for(3)
    assert dev.ringing is not None
    assert sim.acd.answer(dev.ringing)
    call = dev.call
    assert call is not None
    sim.run_for(20)
    return call


def scenario_ivr_answer_caller_hangup() -> Recorder:
    sim, rec, [alice] = _setup()
    call = _ring_and_answer(sim, alice, via_ivr=True)
    sim.sched.after(0, sim.control.hangup, call, "caller")
    sim.run_for(1)
    return rec


def scenario_abandon_while_ringing() -> Recorder:
    sim, rec, _ = _setup()
    sim.place_call("+447700900123", queue="general", patience=8)
    sim.run_for(30)
    return rec


def scenario_ring_no_answer_autopause() -> Recorder:
    sim, rec, _ = _setup()
    sim.place_call("+447700900123", queue="general", patience=25)
    sim.run_for(40)
    return rec


def scenario_hold_then_agent_hangup() -> Recorder:
    sim, rec, [alice] = _setup()
    call = _ring_and_answer(sim, alice)
    sim.sched.after(0, sim.control.hold, call)
    sim.sched.after(10, sim.control.unhold, call)
    sim.sched.after(15, sim.control.hangup, call, "agent")
    sim.run_for(20)
    return rec


def scenario_blind_transfer() -> Recorder:
    sim, rec, [alice] = _setup()
    call = _ring_and_answer(sim, alice)
    sim.sched.after(0, sim.control.blind_transfer, call, "2000")
    sim.run_for(600)
    return rec


def scenario_attended_transfer() -> Recorder:
    sim, rec, [alice] = _setup()
    call = _ring_and_answer(sim, alice)
    sim.sched.after(0, sim.floor._consult, call, "2000")
    sim.run_for(600)
    return rec


def scenario_ringall_one_answers() -> Recorder:
    sim, rec, [alice, bob] = _setup("ringall", (ALICE, BOB))
    sim.place_call("+447700900123", queue="general")
    _until(sim, lambda: bob.ringing is not None and alice.ringing is not None)
    assert bob.ringing is not None
    sim.acd.answer(bob.ringing)
    call = bob.call
    assert call is not None
    sim.run_for(5)
    sim.sched.after(0, sim.control.hangup, call, "caller")
    sim.run_for(1)
    return rec


SCENARIOS = {
    name[len("scenario_") :]: fn for name, fn in globals().items() if name.startswith("scenario_")
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_golden_transcript(name: str) -> None:
    events = SCENARIOS[name]().events
    for message in events:
        check_shape(message, len(CHANVARS))
    check_invariants(events)
    path = GOLDEN / f"{name}.ami"
    wire = b"".join(encode(m) for m in events)
    if os.environ.get("AGENTDESK_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(wire)
    assert path.read_bytes() == wire, f"{name}: transcript changed (see {path})"


def _names(rec: Recorder) -> list[str]:
    noise = {"QueueMemberStatus", "VarSet", "Newexten", "DTMFBegin", "DTMFEnd", "Newstate"}
    return [n for n in rec.names() if n not in noise]


def test_answer_orders_leave_before_connect_and_complete_before_bridgeleave() -> None:
    rec = scenario_ivr_answer_caller_hangup()
    names = _names(rec)
    answer = names.index("DialEnd")
    assert names[answer : answer + 6] == [
        "DialEnd",
        "MusicOnHoldStop",
        "QueueCallerLeave",
        "AgentConnect",
        "BridgeCreate",
        "BridgeEnter",
    ]
    end = names.index("HangupRequest")
    assert names[end:] == [
        "HangupRequest",
        "AgentComplete",
        "BridgeLeave",
        "SoftHangupRequest",
        "BridgeLeave",
        "BridgeDestroy",
        "Hangup",
        "Hangup",
    ]
    assert names.count("QueueCallerLeave") == 1
    complete = rec.of("AgentComplete")[0]
    assert complete["Reason"] == "caller" and complete["DestLinkedid"] == complete["Linkedid"]
    called = rec.of("AgentCalled")[0]
    assert called["Interface"] == ALICE and called["MemberName"] == "Alice"
    ivr = called.variables()
    assert ivr["IVR_INTENT"] == "balance" and ivr["IDV_RESULT"] == "passed"
    assert called.variables("DestChanVariable")["IVR_SESSION"] == ivr["IVR_SESSION"]
    assert rec.of("Newchannel")[0]["CallerIDName"] == 'Ann \\"Q\\" Lee'  # C-escaped


def test_ivr_events_in_asterisk_order_and_user_event() -> None:
    rec = scenario_ivr_answer_caller_hangup()
    names = rec.names()
    assert names[:3] == ["Newchannel", "Newexten", "Newstate"]
    assert rec.events[1]["Application"] == "Answer"
    assert names.index("DTMFBegin") < names.index("UserEvent") < names.index("QueueCallerJoin")
    user = rec.of("UserEvent")[0]
    assert user["UserEvent"] == "IVRResult"
    assert (user["Intent"], user["IDV"], user["Queue"]) == ("balance", "passed", "general")
    assert user["IDVMethod"] in ("pin", "dob") and user["IDVAttempts"] == "1"
    assert user["Account"].startswith("****")
    queue_app = rec.events[rec.index("QueueCallerJoin") - 1]
    assert (queue_app.event, queue_app["Application"]) == ("Newexten", "Queue")


def test_abandon_records_abandon_then_leave_then_hangup() -> None:
    rec = scenario_abandon_while_ringing()
    names = _names(rec)
    tail = names[names.index("HangupRequest") :]
    assert tail == [
        "HangupRequest",
        "DialEnd",
        "Hangup",
        "QueueCallerAbandon",
        "QueueCallerLeave",
        "Hangup",
    ]
    assert rec.of("DialEnd")[0]["DialStatus"] == "CANCEL"
    abandon = rec.of("QueueCallerAbandon")[0]
    assert (abandon["Position"], abandon["OriginalPosition"], abandon["HoldTime"]) == (
        "1",
        "1",
        "8",
    )
    assert any(m.event == "VarSet" and m["Variable"] == "ABANDONED" for m in rec.events)


def test_ring_no_answer_reports_milliseconds_and_autopauses() -> None:
    rec = scenario_ring_no_answer_autopause()
    rna = rec.of("AgentRingNoAnswer")[0]
    assert rna["RingTime"] == "15000"
    assert rec.of("DialEnd")[0]["DialStatus"] == "NOANSWER"
    pause = rec.of("QueueMemberPause")[0]
    assert (pause["Paused"], pause["PausedReason"]) == ("1", "Auto-Pause")
    assert rec.index("AgentRingNoAnswer") < rec.index("QueueMemberPause")


def test_hold_is_on_agent_channel_and_moh_on_caller() -> None:
    rec = scenario_hold_then_agent_hangup()
    hold, moh = rec.of("Hold")[0], rec.of("MusicOnHoldStart")[-1]
    assert hold["Channel"].startswith(ALICE) and moh["Channel"].startswith("PJSIP/carrier")
    assert rec.index("Hold") < rec.index("Unhold")
    assert rec.of("AgentComplete")[0]["Reason"] == "agent"


def test_blind_transfer_order() -> None:
    names = _names(scenario_blind_transfer())
    start = names.index("BlindTransfer")
    assert names[start : start + 6] == [
        "BlindTransfer",
        "AgentComplete",
        "BridgeLeave",
        "BridgeLeave",
        "BridgeDestroy",
        "Hangup",
    ]


def test_attended_transfer_then_agent_complete_reason_transfer() -> None:
    rec = scenario_attended_transfer()
    assert rec.index("AttendedTransfer") + 1 == rec.index("AgentComplete")
    assert rec.of("AgentComplete")[0]["Reason"] == "transfer"
    assert rec.of("AttendedTransfer")[0]["DestType"] == "Bridge"


def test_ringall_cancels_the_other_phone() -> None:
    rec = scenario_ringall_one_answers()
    statuses = [(m["DestChannel"][:16], m["DialStatus"]) for m in rec.of("DialEnd")]
    assert sorted(statuses) == [(ALICE, "CANCEL"), (BOB, "ANSWER")]
    assert len(rec.of("AgentCalled")) == 2


def test_random_traffic_with_noise_and_jitter_keeps_asterisk_guarantees() -> None:
    from agentdesk.telephony.sim.config import load_config

    config = load_config().with_(channelvars=CHANVARS, noise=0.5, jitter=0.3)
    sim = make_sim(config, traffic=True, seed=9)
    rec = Recorder()
    sim.add_sink(rec)
    sim.run_for(3 * 3600)
    names = set(rec.names())
    assert {
        "AgentRingNoAnswer",
        "QueueCallerAbandon",
        "BlindTransfer",
        "AttendedTransfer",
        "Hold",
        "QueueMemberPause",
        "RTCPSent",
    } <= names
    for message in rec.events:
        if message.event not in ("RTCPSent", "OriginateResponse"):
            check_shape(message, len(CHANVARS))
    check_invariants(rec.events)


def test_same_seed_replays_exactly() -> None:
    from agentdesk.telephony.sim.config import load_config

    runs = []
    for _ in range(2):
        sim = make_sim(load_config(), traffic=True, seed=21)
        rec = Recorder()
        sim.add_sink(rec)
        sim.run_for(1800)
        runs.append(b"".join(encode(m) for m in rec.events))
    assert runs[0] == runs[1] and len(runs[0]) > 10_000
