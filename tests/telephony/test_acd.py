"""ACD behaviour (strategies, penalties, wrap-up) and the simulator's AMI actions."""

from __future__ import annotations

import pytest

from agentdesk.telephony.sim.config import QueueConfig
from agentdesk.telephony.sim.simulator import PbxSimulator
from tests.telephony.amihelpers import RawAmi, Recorder, arun, make_config, make_sim

AGENTS = ("PJSIP/agent-1001", "PJSIP/agent-1002", "PJSIP/agent-1003")


def _floor(
    strategy: str, penalties: tuple[int, ...] = (0, 0, 0), wrapup: float = 0
) -> tuple[PbxSimulator, Recorder]:
    queues = {"q": QueueConfig("q", strategy=strategy, timeout=15, retry=5, wrapuptime=wrapup)}
    sim = make_sim(make_config(queues=queues))
    for interface, penalty in zip(AGENTS, penalties, strict=True):
        sim.add_agent(interface, interface[-4:], {"q": penalty})
    rec = Recorder()
    sim.add_sink(rec)
    return sim, rec


def _one_call(sim: PbxSimulator, rec: Recorder, answer_by: str | None = None) -> list[str]:
    start = len(rec.events)
    sim.place_call("+447700900900", queue="q")
    sim.run_for(1)
    rung = [m["Interface"] for m in rec.events[start:] if m.event == "AgentCalled"]
    dev = sim.acd.device(answer_by or rung[0])
    assert dev is not None and dev.ringing is not None
    sim.acd.answer(dev.ringing)
    assert dev.call is not None
    sim.run_for(30)
    sim.control.hangup(dev.call, "caller")
    sim.run_for(1)
    return rung


def test_rrmemory_cycles_linear_sticks_ringall_rings_all() -> None:
    sim, rec = _floor("rrmemory")
    assert [_one_call(sim, rec)[0] for _ in range(4)] == [*AGENTS, AGENTS[0]]
    sim, rec = _floor("linear")
    assert {_one_call(sim, rec)[0] for _ in range(3)} == {AGENTS[0]}
    sim, rec = _floor("ringall")
    assert sorted(_one_call(sim, rec, AGENTS[1])) == list(AGENTS)


def test_leastrecent_and_fewestcalls() -> None:
    sim, rec = _floor("leastrecent")
    first = [_one_call(sim, rec)[0] for _ in range(3)]
    assert sorted(first) == list(AGENTS)  # everyone once before anyone twice
    assert _one_call(sim, rec)[0] == first[0]
    sim, rec = _floor("fewestcalls")
    calls = [_one_call(sim, rec)[0] for _ in range(6)]
    assert all(calls.count(a) == 2 for a in AGENTS)


def test_random_is_seeded_and_uses_everyone() -> None:
    picks = []
    for _ in range(2):
        sim, rec = _floor("random")
        picks.append([_one_call(sim, rec)[0] for _ in range(12)])
    assert picks[0] == picks[1] and set(picks[0]) == set(AGENTS)


def test_penalty_tiers_and_wrapup() -> None:
    sim, rec = _floor("linear", penalties=(1, 0, 1), wrapup=60)
    assert _one_call(sim, rec) == [AGENTS[1]]
    # AGENTS[1] is in wrap-up for 60 s: the next tier rings instead.
    assert _one_call(sim, rec) == [AGENTS[0]]
    sim.run_for(60)
    assert _one_call(sim, rec) == [AGENTS[1]]


def test_pause_skips_a_member_and_queue_log_records_reason() -> None:
    sim, rec = _floor("linear")
    lines: list[str] = []
    sim.qlog.add_listener(lines.append)
    sim.acd.set_paused(AGENTS[0], True, "Lunch", "q")
    assert _one_call(sim, rec) == [AGENTS[1]]
    assert any(line.endswith("|q|1001|PAUSE|Lunch") for line in lines)


def _started(strategy: str = "linear") -> PbxSimulator:
    sim, _ = _floor(strategy)
    return sim


def test_ami_queue_actions_respond_then_emit_events() -> None:
    async def scenario() -> None:
        sim = _started()
        await sim.start()
        peer = await RawAmi.connect(sim.port)
        await peer.login()
        peer.send(
            ("Action", "QueuePause"),
            ("ActionID", "p1"),
            ("Interface", AGENTS[0]),
            ("Paused", "true"),
            ("Queue", "q"),
            ("Reason", "Training"),
        )
        response = await peer.read_until(lambda m: m.action_id == "p1")
        assert response.headers == (
            ("Response", "Success"),
            ("ActionID", "p1"),
            ("Message", "Interface paused successfully"),
        )
        event = await peer.read_until(lambda m: m.event == "QueueMemberPause")
        assert (event["PausedReason"], event["Paused"], event.action_id) == ("Training", "1", None)
        for pairs, message in [
            ((("Interface", "PJSIP/x"), ("Paused", "1")), "Interface not found"),
            ((("Interface", AGENTS[0]),), "Need 'Interface' and 'Paused' parameters."),
        ]:
            peer.send(("Action", "QueuePause"), ("ActionID", "e"), *pairs)
            assert (await peer.read_until(lambda m: m.action_id == "e"))["Message"] == message
        cases = [
            (
                "QueueAdd",
                (("Queue", "q"), ("Interface", "PJSIP/new-9")),
                "Added interface to queue",
            ),
            (
                "QueueAdd",
                (("Queue", "q"), ("Interface", AGENTS[0])),
                "Unable to add interface: Already there",
            ),
            (
                "QueueAdd",
                (("Queue", "zz"), ("Interface", "PJSIP/a")),
                "Unable to add interface to queue: No such queue",
            ),
            (
                "QueueRemove",
                (("Queue", "q"), ("Interface", "PJSIP/none")),
                "Unable to remove interface: Not there",
            ),
            (
                "QueueRemove",
                (("Queue", "q"), ("Interface", AGENTS[2])),
                "Removed interface from queue",
            ),
            ("Getvar", (("Variable", "FOO"),), None),
            ("Setvar", (("Variable", "FOO"), ("Value", "bar")), "Variable Set"),
            (
                "PJSIPNotify",
                (("Endpoint", "ghost"), ("Variable", "Event=talk")),
                "Unable to retrieve endpoint ghost",
            ),
            ("Hangup", (("Channel", "PJSIP/none-00000001"),), "No such channel"),
        ]
        for i, (action, pairs, message) in enumerate(cases):
            peer.send(("Action", action), ("ActionID", f"c{i}"), *pairs)

            reply = await peer.read_until(lambda m, i=i: m.action_id == f"c{i}")
            assert reply.get("Message") == message, (action, reply)
        peer.send(("Action", "Getvar"), ("ActionID", "g"), ("Variable", "FOO"))
        assert (await peer.read_until(lambda m: m.action_id == "g"))["Value"] == "bar"
        members = sim.acd.queues["q"].members
        assert "PJSIP/new-9" in members and AGENTS[2] not in members
        await sim.stop()

    arun(scenario())


def test_ami_call_control_status_transfer_hangup_originate() -> None:
    async def scenario() -> None:
        sim = make_sim(
            make_config(queues={"q": QueueConfig("q", strategy="linear")}), time_scale=50
        )
        sim.add_agent(AGENTS[0], "Alice", {"q": 0})
        await sim.start()
        peer = await RawAmi.connect(sim.port)
        await peer.login()
        placed = sim.place_call("+447700900321", queue="q")
        await peer.read_until(lambda m: m.event == "AgentCalled")
        peer.send(
            ("Action", "PJSIPNotify"),
            ("ActionID", "a"),
            ("Endpoint", "agent-1001"),
            ("Variable", "Event=talk"),
        )
        connect = await peer.read_until(lambda m: m.event == "AgentConnect")
        agent_channel = connect["DestChannel"]
        peer.send(("Action", "CoreShowChannels"), ("ActionID", "cs"))
        items = []
        while True:
            m = await peer.read_until(lambda m: m.action_id == "cs")
            if m.event == "CoreShowChannelsComplete":
                assert m["ListItems"] == str(len(items))
                break
            if m.event:
                items.append(m)
        assert {i["Channel"] for i in items} == {placed.channel, agent_channel}
        assert items[0].keys()[:3] == ["Event", "ActionID", "Channel"]
        peer.send(("Action", "Status"), ("ActionID", "st"), ("Channel", placed.channel))
        status = await peer.read_until(lambda m: m.event == "Status")
        assert status["Privilege"] == "Call" and status["Uniqueid"] == placed.uniqueid
        peer.send(
            ("Action", "BlindTransfer"),
            ("ActionID", "bt"),
            ("Channel", agent_channel),
            ("Exten", "2000"),
            ("Context", "transfers"),
        )
        assert (await peer.read_until(lambda m: m.action_id == "bt"))["Message"] == (
            "Transfer succeeded"
        )
        transfer = await peer.read_until(lambda m: m.event == "BlindTransfer")
        assert transfer["TransfererChannel"] == agent_channel
        complete = await peer.read_until(lambda m: m.event == "AgentComplete")
        assert complete["Reason"] == "transfer"
        peer.send(
            ("Action", "Originate"),
            ("ActionID", "o1"),
            ("Channel", AGENTS[0]),
            ("Exten", "+442079460000"),
            ("Context", "from-internal"),
            ("Async", "true"),
        )
        assert (await peer.read_until(lambda m: m.action_id == "o1"))["Message"] == (
            "Originate successfully queued"
        )
        origin = await peer.read_until(lambda m: m.event == "OriginateResponse")
        assert (origin.action_id, origin["Response"], origin["Reason"]) == ("o1", "Success", "4")
        await peer.read_until(lambda m: m.event == "BridgeEnter")
        peer.send(("Action", "Hangup"), ("ActionID", "h"), ("Channel", origin["Channel"]))
        assert (await peer.read_until(lambda m: m.action_id == "h"))["Message"] == (
            "Channel Hungup"
        )
        await peer.read_until(lambda m: m.event == "Hangup" and m["Channel"] == origin["Channel"])
        await sim.stop()

    arun(scenario())


def test_place_call_rejects_unknown_queue() -> None:
    with pytest.raises(ValueError, match="no such queue"):
        make_sim().place_call("+447700900000", queue="nope")
