"""The gateway's need-to-know rules on hand-made events (no PBX): what each agent is sent,
how long a call stays theirs, and that a socket's queue is bounded."""

from __future__ import annotations

import asyncio
from typing import Any

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
    assert sub.queue.qsize() == 3
