"""A Local queue member with a StateInterface through the server: the agent row's
``state_interface`` and ``endpoint`` make the line (``AgentLine.from_agent``), the gateway
recognises the member by either interface and the phone's own channel as the agent's."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from agentdesk.models import Agent
from agentdesk.store.engine import write_session
from tests.server.cti.conftest import CALLER, Lab, is_event, wait_until
from tests.ui.data import add_agent

MEMBER = "Local/1003@agents/n"
PHONE = "PJSIP/1003"


def _carol(lab: Lab) -> None:
    add_agent(lab.central, "carol", "Local/1003@agents")
    with write_session(lab.central) as s:
        s.execute(
            update(Agent)
            .where(Agent.login == "carol")
            .values(state_interface=PHONE, endpoint="1003")
        )
    lab.sim.run(lab.sim.sim.add_agent, MEMBER, "Carol Agent", {"general": 0}, state_interface=PHONE)
    assert lab.ctx.cti is not None
    gateway = lab.ctx.cti.gateways["lab"]
    wait_until(lambda: gateway._rows.get("local/1003@agents"), what="carol's member row")


def _members(resync: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (r["interface"], r["state_interface"])
        for r in resync["queue"]
        if r["kind"] == "QueueMember"
    ]


def test_a_local_member_is_resynced_offered_answered_held_and_ended(lab: Lab) -> None:
    _carol(lab)
    desk = lab.desk("carol")
    sock = desk.open()
    first = sock.expect(lambda m: m["type"] == "resync", what="resync")
    assert _members(first) == [(MEMBER, PHONE)]
    assert first["channels"] == []

    placed = lab.sim.call(CALLER, MEMBER)
    offer = sock.expect(is_event("AgentCalled", placed.linkedid), what="the offer")
    assert offer["event"]["interface"] == MEMBER
    assert desk.request({"kind": "answer"}).json()["ok"]  # NOTIFY to the endpoint 1003
    sock.expect(is_event("AgentConnect", placed.linkedid), what="AgentConnect")
    assert desk.request({"kind": "hold", "linkedid": placed.linkedid, "on": True}).json()["ok"]
    hold = sock.expect(is_event("Hold", placed.linkedid), what="the phone's Hold")
    assert hold["event"]["channel"]["channel"].startswith(PHONE + "-")

    # A desktop connecting now is told of the call's live channels, the phone's among them,
    # from what the gateway kept (no QueueStatus or CoreShowChannels per socket).
    again = desk.open()
    resync = again.expect(lambda m: m["type"] == "resync", what="second resync")
    assert _members(resync) == [(MEMBER, PHONE)]
    names = {row["channel"]["channel"] for row in resync["channels"]}
    assert any(n.startswith(PHONE + "-") for n in names), names
    assert any(n.startswith("Local/1003@agents-") for n in names), names
    assert {row["channel"]["linkedid"] for row in resync["channels"]} == {placed.linkedid}

    assert desk.request({"kind": "hangup", "linkedid": placed.linkedid}).json()["ok"]
    again.expect(is_event("AgentComplete", placed.linkedid), what="AgentComplete")
