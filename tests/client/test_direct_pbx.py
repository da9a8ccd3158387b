"""DirectPbxFeed against the PBX simulator: the desk's events, and call requests carried out on
the agent's own leg of the call (learnt from AgentCalled and from the resync)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from agentdesk.client.direct_pbx import DirectPbxFeed
from agentdesk.services.desk.call_requests import (
    AgentLine,
    Answer,
    CallResult,
    Hangup,
    JoinQueue,
    Transfer,
)
from agentdesk.telephony.client_types import ConnectionState
from agentdesk.telephony.events import AgentCalled, AgentConnect
from agentdesk.telephony.events import Hangup as HangupEvent
from tests.client.test_cti_feed import Recorder, is_link
from tests.ui.conftest import SimThread

IFACE = "PJSIP/1001"
LINE = AgentLine(interface=IFACE, member_name="Alice Agent", extension="1001")


@pytest.fixture
def sim() -> Iterator[SimThread]:
    made = SimThread()
    made.run(made.sim.add_agent, IFACE, "Alice Agent", {"general": 0})
    yield made
    made.stop()


@pytest.fixture
def direct(sim: SimThread) -> Iterator[tuple[DirectPbxFeed, Recorder]]:
    feed = DirectPbxFeed.login("127.0.0.1", sim.sim.port, "agentdesk", sim.secret, LINE)
    sink = Recorder()
    feed.start(sink)
    yield feed, sink
    feed.stop()


def is_event(kind: type, **fields: Any) -> Any:
    def wanted(item: tuple[str, Any]) -> bool:
        if item[0] != "event" or not isinstance(item[1][0], kind):
            return False
        return all(getattr(item[1][0], k) == v for k, v in fields.items())

    return wanted


def test_requests_act_on_the_agents_own_leg(sim: SimThread, direct: Any) -> None:
    feed, sink = direct
    got = sink.until(is_link(ConnectionState.CONNECTED))
    assert any(kind == "resync" for kind, _ in got)
    assert feed.where == f"the PBX at 127.0.0.1:{sim.sim.port}"
    placed = sim.run(sim.sim.place_call, "+447700900123", agent=IFACE, queue="general")
    offer = sink.until(is_event(AgentCalled))[-1][1][0]
    assert offer.linkedid == placed.linkedid
    # Not one of this agent's calls: refused before anything reaches the PBX.
    refused = feed.request(Transfer("no-such-call", "2001"))
    assert refused == CallResult(False, "That call is not one of yours (or it has ended).")
    assert feed.request(Answer()).ok
    sink.until(is_event(AgentConnect))
    assert feed.request(Hangup(placed.linkedid)).ok
    ended = sink.until(is_event(HangupEvent))[-1][1][0]
    assert ended.channel.channel.startswith(IFACE + "-")
    # Its leg is forgotten once it hung up.
    assert not feed.request(Hangup(placed.linkedid)).ok


def test_a_refusal_by_the_pbx_is_a_sentence(direct: Any) -> None:
    feed, sink = direct
    sink.until(is_link(ConnectionState.CONNECTED))
    result = feed.request(JoinQueue("no-such-queue"))
    assert not result.ok and result.message.startswith("The PBX refused QueueAdd: "), result


def test_before_start_and_after_stop_requests_are_refused(sim: SimThread) -> None:
    feed = DirectPbxFeed.login("127.0.0.1", sim.sim.port, "agentdesk", sim.secret, LINE)
    assert feed.request(Answer()) == CallResult(
        False, f"Not sent: the PBX at 127.0.0.1:{sim.sim.port} is not connected."
    )
    assert feed.send("Ping", {}).exception() is not None
