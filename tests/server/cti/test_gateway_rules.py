"""The gateway's need-to-know rules on hand-made events (no PBX): what each agent is sent,
how long a call stays theirs, and that a socket's queue is bounded."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import Any

from agentdesk.models import Role
from agentdesk.server.cti.config import PbxConfig
from agentdesk.server.cti.gateway import LINGER, Outgoing, PbxGateway
from agentdesk.server.cti.hub import OVERFLOW, Subscription
from agentdesk.services.desk.call_requests import AgentLine
from agentdesk.telephony import events as ev

ALICE, BOB = "PJSIP/1001", "PJSIP/1002"


class Sink:
    def __init__(self) -> None:
        self.got: dict[str, list[Outgoing]] = {}

    def deliver(self, login: str, item: Outgoing) -> None:
        self.got.setdefault(login, []).append(item)

    def link_changed(self, gateway: PbxGateway) -> None:
        pass

    def resynced(self, gateway: PbxGateway, reconnect: bool) -> None:
        pass

    def kinds(self, login: str) -> list[str]:
        return [i.message["event"]["kind"] for i in self.got.get(login, [])]


def _gateway() -> tuple[PbxGateway, Sink]:
    sink = Sink()
    gateway = PbxGateway(PbxConfig(site="t", host="127.0.0.1", secret_keyring="x"), sink)
    gateway.set_lines(
        {
            "alice": AgentLine(interface=ALICE, member_name="Alice"),
            "bob": AgentLine(interface=BOB, member_name="Bob"),
        }
    )
    return gateway, sink


def _chan(name: str, uniqueid: str, linkedid: str = "100.1", **extra: Any) -> ev.ChannelInfo:
    return ev.ChannelInfo(channel=name, uniqueid=uniqueid, linkedid=linkedid, **extra)


CALLER = _chan(
    "PJSIP/carrier-1",
    "100.1",
    caller_num="+447700900123",
    variables=(("IVR_INTENT", "card_lost"), ("ACCOUNT_NO", "12345678")),
)
ALICE_LEG = _chan("PJSIP/1001-0001", "100.2")
BOB_LEG = _chan("PJSIP/1002-0002", "100.3")


def _offer(interface: str, leg: ev.ChannelInfo) -> ev.AgentCalled:
    return ev.AgentCalled(channel=CALLER, dest=leg, queue="general", interface=interface)


def test_only_the_offered_agent_hears_of_the_call_and_only_ivr_variables_travel() -> None:
    gateway, sink = _gateway()
    gateway._on_event(ev.VarSet(channel=CALLER, variable="__IVR_INTENT", value="card_lost"))
    gateway._on_event(ev.VarSet(channel=CALLER, variable="ACCOUNT_NO", value="12345678"))
    gateway._on_event(_offer(ALICE, ALICE_LEG))
    gateway._on_event(ev.AgentConnect(channel=CALLER, dest=ALICE_LEG, interface=ALICE))
    gateway._on_event(ev.Hold(channel=ALICE_LEG))
    gateway._on_event(ev.UserEvent(channel=CALLER, user_event="Debug", fields=(("a", "b"),)))
    gateway._on_event(ev.VarSet(channel=CALLER, variable="BRIDGEPEER", value="x"))

    assert sink.kinds("alice") == ["VarSet", "AgentCalled", "AgentConnect", "Hold"]
    assert "bob" not in sink.got
    offer = sink.got["alice"][1]
    assert offer.offer_number == "+447700900123" and offer.linkedid == "100.1"
    variables = offer.message["event"]["channel"]["variables"]
    assert variables == [["IVR_INTENT", "card_lost"]]  # ACCOUNT_NO never leaves the server
    assert gateway.agent_channel("alice", "100.1") == "PJSIP/1001-0001"
    assert gateway.agent_channel("bob", "100.1") is None


def test_a_missed_offer_stops_the_flow_and_the_next_agent_gets_their_own() -> None:
    gateway, sink = _gateway()
    gateway._on_event(_offer(ALICE, ALICE_LEG))
    gateway._on_event(ev.AgentRingNoAnswer(channel=CALLER, dest=ALICE_LEG, interface=ALICE))
    gateway._on_event(_offer(BOB, BOB_LEG))
    gateway._on_event(ev.AgentConnect(channel=CALLER, dest=BOB_LEG, interface=BOB))
    gateway._on_event(ev.Hold(channel=BOB_LEG))
    gateway._on_event(ev.Hold(channel=CALLER))

    assert sink.kinds("alice") == ["AgentCalled", "AgentRingNoAnswer"]
    assert sink.kinds("bob") == ["AgentCalled", "AgentConnect", "Hold", "Hold"]
    assert not gateway.owns_call("alice", "100.1") and gateway.owns_call("bob", "100.1")


def test_a_call_lingers_after_its_last_channel_then_is_forgotten() -> None:
    gateway, sink = _gateway()
    gateway._on_event(_offer(ALICE, ALICE_LEG))
    gateway._on_event(ev.AgentConnect(channel=CALLER, dest=ALICE_LEG, interface=ALICE))
    gateway._on_event(ev.AgentComplete(channel=CALLER, dest=ALICE_LEG, interface=ALICE))
    gateway._on_event(ev.Hangup(channel=ALICE_LEG))
    gateway._on_event(ev.Hangup(channel=CALLER))
    # Late IVR data of the call still reaches its agent within the linger time...
    gateway._on_event(ev.VarSet(channel=CALLER, variable="IDV_RESULT", value="passed"))
    assert sink.kinds("alice")[-1] == "VarSet"
    assert not gateway.owns_call("alice", "100.1")  # ended: no requests on it
    window = gateway._agents["alice"].windows["100.1"]
    assert window.closes_at is not None
    gateway.sweep(window.closes_at + 0.001)
    # ...and nothing after it.
    gateway._on_event(ev.VarSet(channel=CALLER, variable="IDV_RESULT", value="failed"))
    assert sink.kinds("alice")[-1] == "VarSet" and len(sink.kinds("alice")) == 6
    assert "100.1" not in gateway._agents["alice"].windows
    assert LINGER == 60.0


def test_member_events_by_interface_or_state_interface() -> None:
    gateway, sink = _gateway()
    gateway._on_event(
        ev.QueueMemberPause(
            queue="general", interface="Local/1001@agents", state_interface=ALICE, paused=True
        )
    )
    gateway._on_event(ev.QueueMemberStatus(queue="general", interface=BOB))
    gateway._on_event(ev.QueueMemberStatus(queue="general", interface="PJSIP/9999"))
    assert sink.kinds("alice") == ["QueueMemberPause"] and sink.kinds("bob") == [
        "QueueMemberStatus"
    ]
    # The member interface is learnt: the queue's offers to it are alice's.
    leg = _chan("Local/1001@agents-0001;1", "100.4")
    gateway._on_event(_offer("Local/1001@agents", leg))
    assert sink.kinds("alice")[-1] == "AgentCalled"
    assert gateway.agent_channel("alice", "100.1") == "Local/1001@agents-0001;1"


def test_a_socket_that_does_not_read_is_dropped_not_buffered() -> None:
    async def scenario() -> Subscription:
        sub = Subscription("alice", AgentLine(interface=ALICE, member_name="A"), limit=3)
        for n in range(10):
            sub.put(Outgoing({"type": "event", "n": n}))
        return sub

    sub = asyncio.run(scenario())
    assert sub.ended.is_set() and sub.close_code == OVERFLOW
    assert len(sub.items) == 3


class _Resync:
    """What ``AmiClient`` hands ``on_resync``: QueueStatus and CoreShowChannels rows."""

    def __init__(self, queue: list[ev.AmiEvent], channels: list[ev.AmiEvent]) -> None:
        self._queue, self._channels, self.reconnect = queue, channels, False

    def queue_events(self) -> list[ev.AmiEvent]:
        return self._queue

    def channel_events(self) -> list[ev.AmiEvent]:
        return self._channels


def _member(interface: str, queue: str = "general", **extra: Any) -> ev.QueueMember:
    return ev.QueueMember(queue=queue, interface=interface, state_interface=interface, **extra)


def test_a_sockets_resync_comes_from_the_kept_state_not_a_fresh_snapshot() -> None:
    gateway, _sink = _gateway()
    assert gateway.resync_message("alice", False) is None  # nothing kept before the link's resync
    rows: list[ev.AmiEvent] = [
        ev.QueueParams(queue="general"),
        ev.QueueParams(queue="vip"),
        _member(ALICE),
        _member(BOB),
    ]
    gateway._on_resync(_Resync(rows, []))  # type: ignore[arg-type]
    gateway._on_event(
        ev.QueueMemberAdded(queue="vip", interface=ALICE, state_interface=ALICE, paused=True)
    )
    gateway._on_event(ev.QueueMemberRemoved(queue="general", interface=BOB, state_interface=BOB))
    gateway._on_event(_offer(ALICE, ALICE_LEG))
    gateway._on_event(ev.AgentConnect(channel=CALLER, dest=ALICE_LEG, interface=ALICE))

    alice = gateway.resync_message("alice", False)
    assert alice is not None
    assert [(r["kind"], r["queue"]) for r in alice["queue"]] == [
        ("QueueParams", "general"),
        ("QueueParams", "vip"),
        ("QueueMember", "general"),
        ("QueueMember", "vip"),
    ]
    assert alice["queue"][-1]["paused"] is True
    channels = sorted(row["channel"]["channel"] for row in alice["channels"])
    assert channels == ["PJSIP/1001-0001", "PJSIP/carrier-1"]
    kept = [name for row in alice["channels"] for name, _ in row["channel"]["variables"]]
    assert kept == ["IVR_INTENT"]  # ACCOUNT_NO never leaves the server
    bob = gateway.resync_message("bob", False)
    assert bob is not None and [r["kind"] for r in bob["queue"]] == ["QueueParams"] * 2
    assert bob["channels"] == []

    gateway._on_event(ev.Hangup(channel=ALICE_LEG))  # the call ended: none of its channels
    alice = gateway.resync_message("alice", False)
    assert alice is not None and alice["channels"] == []


def test_a_local_line_with_a_state_interface_owns_its_members_and_its_phone() -> None:
    sink = Sink()
    gateway = PbxGateway(PbxConfig(site="t", host="127.0.0.1", secret_keyring="x"), sink)
    gateway.set_lines(
        {"carol": AgentLine("Local/1003@agents", "Carol", state_interface="PJSIP/1003")}
    )
    member = "Local/1003@Agents/n"  # options and case as the queue's configuration has them
    gateway._on_event(
        ev.QueueMemberStatus(queue="general", interface=member, state_interface="PJSIP/1003")
    )
    leg = _chan("Local/1003@agents-0000a001;1", "100.2")
    phone = _chan("PJSIP/1003-0000a002", "100.3")
    gateway._on_event(_offer(member, leg))
    gateway._on_event(ev.AgentConnect(channel=CALLER, dest=leg, interface=member))
    gateway._on_event(ev.Newchannel(channel=phone))
    gateway._on_event(ev.Hold(channel=phone))
    gateway._on_event(ev.Hold(channel=_chan("PJSIP/1009-0000a009", "100.9")))  # someone else's
    assert sink.kinds("carol") == ["QueueMemberStatus", "AgentCalled", "AgentConnect", "Hold"]
    assert gateway.owns_call("carol", "100.1")


def test_the_hub_heartbeats_and_rechecks_sessions_in_one_batch() -> None:
    from agentdesk.server.cti.hub import HEARTBEAT, RECHECK, SESSION_CLOSED, CtiHub
    from agentdesk.server.cti.lines import AgentRecord

    class Directory:
        pass

    async def scenario() -> tuple[list[str], list[str], bool, int]:
        hub = CtiHub(Directory(), [])  # type: ignore[arg-type]
        checked: list[str] = []

        def check(login: str, ok: bool) -> Any:
            def recheck() -> bool:
                checked.append(login)
                return ok

            return recheck

        subs = []
        for login, ok in (("alice", True), ("bob", False)):
            record = AgentRecord(
                uuid.uuid4(), login, Role.AGENT, AgentLine(f"PJSIP/{login}", login), frozenset()
            )
            subs.append(hub.subscribe(record, check(login, ok)))
        alice, bob = subs
        assert [i.message["type"] for i in alice.take()] == ["link"]  # no PBX: no resync
        await hub.tick(max(s.checked_at for s in subs) + max(HEARTBEAT, RECHECK))
        alice_got = [i.message["type"] for i in alice.take()]
        result = (alice_got, checked, alice.ended.is_set(), bob.close_code)
        await hub.stop()
        return result

    alice_got, checked, alice_ended, bob_code = asyncio.run(scenario())
    assert sorted(checked) == ["alice", "bob"]  # one batch, in one worker thread
    assert not alice_ended and alice_got == ["heartbeat"]
    assert bob_code == SESSION_CLOSED


def test_a_gateway_started_mid_call_adopts_it_from_the_pbx_resync() -> None:
    """Defect: after a server restart the agent's call in progress was nowhere: no resync
    row for the desktop, and its hold/hang-up events went to nobody."""
    gateway, sink = _gateway()
    up = ev.ChannelState.UP
    alice_leg = _chan("PJSIP/1001-0000000a", "100.2")  # chan_pjsip's own naming
    rows: list[ev.AmiEvent] = [
        ev.CoreShowChannel(
            channel=dataclasses.replace(CALLER, state=up),
            application="Queue",
            application_data="general",
            duration_s=130,
        ),
        ev.CoreShowChannel(channel=dataclasses.replace(alice_leg, state=up), duration_s=90),
        # Bob's phone rings with another call: not answered yet, so not adopted.
        ev.CoreShowChannel(
            channel=_chan("PJSIP/1002-00000009", "200.2", "200.1", state=ev.ChannelState.RINGING)
        ),
    ]
    gateway._on_resync(_Resync([ev.QueueParams(queue="general"), _member(ALICE)], rows))  # type: ignore[arg-type]

    assert gateway.owns_call("alice", "100.1")
    assert gateway.agent_channel("alice", "100.1") == "PJSIP/1001-0000000a"
    assert not gateway.owns_call("bob", "200.1")
    alice = gateway.resync_message("alice", False)
    assert alice is not None
    assert sorted(r["channel"]["channel"] for r in alice["channels"]) == [
        "PJSIP/1001-0000000a",
        "PJSIP/carrier-1",
    ]
    # The call's later events reach Alice; Bob answering his adopts that call for him.
    gateway._on_event(ev.Hold(channel=alice_leg))
    assert sink.kinds("alice") == ["Hold"]
    bob_leg = _chan("PJSIP/1002-00000009", "200.2", "200.1")
    bob_caller = _chan("PJSIP/carrier-2", "200.1", "200.1", caller_num="+447700900999")
    gateway._on_event(ev.AgentConnect(channel=bob_caller, dest=bob_leg, interface=BOB))
    gateway._on_event(ev.Hold(channel=bob_leg))
    assert sink.kinds("bob") == ["AgentConnect", "Hold"]
    assert gateway.owns_call("bob", "200.1")


def test_a_desktops_resync_carries_the_calls_queue_and_ages_for_adoption() -> None:
    """Seen on screen: a desktop restarted mid-call adopted it as "On call" with no queue
    and a talk clock from zero (rows kept from events carry neither)."""
    gateway, _sink = _gateway()
    gateway._on_resync(_Resync([ev.QueueParams(queue="general"), _member(ALICE)], []))  # type: ignore[arg-type]
    gateway._on_event(_offer(ALICE, ALICE_LEG))
    gateway._on_event(ev.AgentConnect(channel=CALLER, dest=ALICE_LEG, interface=ALICE))
    call = gateway._agents["alice"].tracker.get("100.1")
    assert call is not None
    gateway._agents["alice"].tracker._put(  # connected 95 s ago, offered 100 s ago
        dataclasses.replace(
            call, offered_at=call.offered_at - 100, connected_at=call.offered_at - 95
        )
    )
    message = gateway.resync_message("alice", True)
    assert message is not None
    rows = {r["channel"]["channel"]: r for r in message["channels"]}
    caller, leg = rows["PJSIP/carrier-1"], rows["PJSIP/1001-0001"]
    assert (caller["application"], caller["application_data"]) == ("Queue", "general")
    assert 99 <= caller["duration_s"] <= 102 and 94 <= leg["duration_s"] <= 97


def test_the_hub_checks_every_due_sockets_session_token_in_one_call() -> None:
    from agentdesk.server.cti.hub import RECHECK, SESSION_CLOSED, CtiHub
    from agentdesk.server.cti.lines import AgentRecord

    calls: list[list[str]] = []

    def sessions_alive(tokens: list[str]) -> list[bool]:
        calls.append(list(tokens))
        return [t != "t-bob" for t in tokens]

    async def scenario() -> tuple[bool, int]:
        hub = CtiHub(object(), [], sessions_alive=sessions_alive)  # type: ignore[arg-type]
        subs = [
            hub.subscribe(
                AgentRecord(
                    uuid.uuid4(), login, Role.AGENT, AgentLine(f"PJSIP/{login}", login), frozenset()
                ),
                session=f"t-{login}",
            )
            for login in ("alice", "bob", "carol")
        ]
        await hub.tick(max(s.checked_at for s in subs) + RECHECK)
        result = (subs[0].ended.is_set() or subs[2].ended.is_set(), subs[1].close_code)
        await hub.stop()
        return result

    ended_others, bob_code = asyncio.run(scenario())
    assert calls == [["t-alice", "t-bob", "t-carol"]]  # one batch for the three sockets
    assert not ended_others and bob_code == SESSION_CLOSED
