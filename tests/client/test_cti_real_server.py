"""ServerCallFeed against the real server's CTI gateway, logged in to the PBX simulator."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from agentdesk.client.cti import ServerCallFeed
from agentdesk.services.crm.caller_match import CallerMatch, MatchKind
from agentdesk.services.desk.call_requests import Answer, Hangup
from agentdesk.telephony.client_types import ConnectionState
from agentdesk.telephony.events import AgentCalled, AgentConnect, QueueMember
from tests.client.test_cti_feed import Recorder, is_link
from tests.client.test_direct_pbx import is_event
from tests.server.cti.conftest import ALICE, BOB, CALLER, Lab, cti_central, lab

__all__ = ["cti_central", "lab"]  # the server tests' fixtures, used here


@pytest.fixture
def alice_feed(lab: Lab) -> Iterator[tuple[ServerCallFeed, Recorder]]:
    desk = lab.desk("alice")
    client_id = uuid.uuid4()
    feed = ServerCallFeed(desk.api, lambda: client_id)
    sink = Recorder()
    feed.start(sink)
    yield feed, sink
    feed.stop()


def test_the_gateways_feed_pops_with_the_servers_match_and_takes_requests(
    lab: Lab, alice_feed: Any
) -> None:
    feed, sink = alice_feed
    got = sink.until(is_link(ConnectionState.CONNECTED), timeout=15)
    resync = next(item for kind, item in got if kind == "resync")
    members = [r for r in resync.queue_events() if isinstance(r, QueueMember)]
    assert members and {m.interface for m in members} == {ALICE}
    placed = lab.sim.call(CALLER, ALICE)
    got = sink.until(is_event(AgentCalled), timeout=15)
    matches = [item for kind, item in got if kind == "match"]
    assert matches, [kind for kind, _ in got]
    linkedid, found = matches[-1]
    assert linkedid == placed.linkedid and isinstance(found, CallerMatch)
    assert found.kind is MatchKind.SINGLE and found.customer_id == lab.customer_id
    # The match came before its AgentCalled.
    assert [kind for kind, _ in got].index("match") < len(got) - 1
    assert feed.request(Answer()).ok
    sink.until(is_event(AgentConnect), timeout=15)
    # Bob's call is not Alice's to hang up: refused with the server's reason.
    bobs = lab.sim.call(CALLER, BOB)
    refused = feed.request(Hangup(bobs.linkedid))
    assert not refused.ok and refused.message.startswith("Hang-up refused: "), refused
    assert feed.request(Hangup(placed.linkedid)).ok
