"""Call requests through the server: checked against the agent's own calls, carried out on the PBX.

Every effect is read back from the simulator's own state (the PBX), not
only from the events the desktop is sent.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.cti.conftest import ALICE, BOB, CALLER, Desk, Lab, is_event, wait_until

PROBLEM = "application/problem+json"


def _ringing(lab: Lab, desk: Desk, agent: str = ALICE) -> str:
    """A call ringing ``agent``; its Linkedid once the offer reached ``desk``'s socket."""
    sock = desk.sockets[-1] if desk.sockets else desk.open()
    sock.expect(lambda m: m["type"] == "resync", what="resync")
    placed = lab.sim.call(CALLER, agent)
    sock.expect(is_event("AgentCalled", placed.linkedid), what="the offer")
    return placed.linkedid


def _answered(lab: Lab, desk: Desk) -> str:
    linkedid = _ringing(lab, desk)
    response = desk.request({"kind": "answer"})
    assert response.status_code == 200, response.text
    assert response.json() == {"ok": True, "message": ""}
    desk.sockets[-1].expect(is_event("AgentConnect", linkedid), what="AgentConnect")
    return linkedid


def _sim_call(lab: Lab, linkedid: str) -> Any:
    return lab.sim.run(lambda: lab.sim.sim.calls.get(linkedid))


def _member(lab: Lab, interface: str, queue: str = "general") -> Any:
    def read() -> Any:
        device = lab.sim.sim.acd.device(interface)
        return None if device is None else device.memberships.get(queue)

    return lab.sim.run(read)


def test_answer_hold_resume_and_hangup_reach_the_pbx(lab: Lab) -> None:
    alice = lab.desk("alice")
    linkedid = _answered(lab, alice)
    assert _sim_call(lab, linkedid).state == "connected"

    assert alice.request({"kind": "hold", "linkedid": linkedid, "on": True}).json()["ok"]
    wait_until(lambda: _sim_call(lab, linkedid).held, 5, "the call to be held on the PBX")
    alice.sockets[-1].expect(is_event("Hold", linkedid), what="Hold")
    assert alice.request({"kind": "hold", "linkedid": linkedid, "on": False}).json()["ok"]
    wait_until(lambda: not _sim_call(lab, linkedid).held, 5, "the call to be resumed")
    alice.sockets[-1].expect(is_event("Unhold", linkedid), what="Unhold")

    assert alice.request({"kind": "hangup", "linkedid": linkedid}).json()["ok"]
    wait_until(
        lambda: (c := _sim_call(lab, linkedid)) is None or c.state == "ended", 5, "the hang-up"
    )
    done = alice.sockets[-1].expect(is_event("AgentComplete", linkedid), what="AgentComplete")
    assert done["event"]["reason"] == "agent"
    # The call has ended: it is no longer one the agent may act on.
    late = alice.request({"kind": "hangup", "linkedid": linkedid})
    assert late.status_code == 403 and late.headers["content-type"].startswith(PROBLEM)


def test_blind_transfer_moves_the_caller_on_the_pbx(lab: Lab) -> None:
    alice = lab.desk("alice")
    linkedid = _answered(lab, alice)
    response = alice.request({"kind": "transfer", "linkedid": linkedid, "target": "2200"})
    assert response.status_code == 200 and response.json()["ok"], response.text
    wait_until(
        lambda: (c := _sim_call(lab, linkedid)) is not None and c.queue == "cards",
        5,
        "the caller to be in the cards queue",
    )
    done = alice.sockets[-1].expect(is_event("AgentComplete", linkedid), what="AgentComplete")
    assert done["event"]["reason"] == "transfer"


def test_pause_and_queue_membership_reach_the_pbx(lab: Lab) -> None:
    alice = lab.desk("alice")
    sock = alice.open()
    sock.expect(lambda m: m["type"] == "resync", what="resync")

    body = {"kind": "pause", "paused": True, "reason": "Lunch"}
    assert alice.request(body).json() == {"ok": True, "message": ""}
    wait_until(lambda: _member(lab, ALICE).paused, 5, "alice paused on the PBX")
    assert _member(lab, ALICE).paused_reason == "Lunch"
    assert not _member(lab, BOB).paused
    sock.expect(
        lambda m: is_event("QueueMemberPause")(m) and m["event"]["paused"], what="the pause event"
    )
    assert alice.request({"kind": "pause", "paused": False}).json()["ok"]
    wait_until(lambda: not _member(lab, ALICE).paused, 5, "alice unpaused")

    assert alice.request({"kind": "leave_queue", "queue": "general"}).json()["ok"]
    wait_until(lambda: _member(lab, ALICE) is None, 5, "alice out of the queue")
    assert alice.request({"kind": "join_queue", "queue": "general"}).json()["ok"]
    wait_until(lambda: _member(lab, ALICE) is not None, 5, "alice back in the queue")
    refused = alice.request({"kind": "leave_queue", "queue": "no-such-queue"}).json()
    assert refused["ok"] is False and "No such queue" in refused["message"]


def test_a_request_on_another_agents_call_is_forbidden(lab: Lab) -> None:
    alice, bob = lab.desk("alice"), lab.desk("bob")
    linkedid = _answered(lab, alice)
    for body in (
        {"kind": "hangup", "linkedid": linkedid},
        {"kind": "hold", "linkedid": linkedid, "on": True},
        {"kind": "transfer", "linkedid": linkedid, "target": "2000"},
        {"kind": "hangup", "linkedid": "1700000000.999"},
    ):
        response = bob.request(body)
        assert response.status_code == 403, (body, response.text)
        assert response.headers["content-type"].startswith(PROBLEM)
        assert response.json()["type"].endswith("/not-your-call")
    call = _sim_call(lab, linkedid)
    assert call.state == "connected" and not call.held


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b"{}",
        {"kind": "teleport"},
        {"kind": "hangup"},
        {"kind": "hangup", "linkedid": ""},
        {"kind": "hold", "linkedid": "1.2", "on": "maybe"},
        {"kind": "transfer", "linkedid": "1.2", "target": "2000\r\nAction: Originate"},
        {"kind": "pause", "paused": True, "reason": "x" * 500},
        {"kind": "dial", "number": "1" * 200},
    ],
)
def test_garbage_request_bodies_are_422(lab: Lab, body: Any) -> None:
    response = lab.desk("alice").request(body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["status"] == 422 and problem["detail"]


def test_requests_need_a_session(lab: Lab) -> None:
    import httpx

    response = httpx.post(lab.url + "/api/v1/cti/requests", json={"kind": "answer"}, timeout=10)
    assert response.status_code == 401


def test_supervisor_may_pause_an_agent_of_their_team_only(lab: Lab) -> None:
    sue, bob = lab.desk("sue"), lab.desk("bob")
    ok = sue.request({"kind": "pause", "paused": True, "reason": "Coaching"}, agent="alice")
    assert ok.status_code == 200 and ok.json()["ok"], ok.text
    wait_until(lambda: _member(lab, ALICE).paused, 5, "alice paused by her supervisor")

    other_team = sue.request({"kind": "pause", "paused": True}, agent="bob")
    assert other_team.status_code == 403
    not_a_pause = sue.request({"kind": "answer"}, agent="alice")
    assert not_a_pause.status_code == 403
    not_a_supervisor = bob.request({"kind": "pause", "paused": True}, agent="alice")
    assert not_a_supervisor.status_code == 403
    unknown = sue.request({"kind": "pause", "paused": True}, agent="nobody")
    assert unknown.status_code == 404
    assert not _member(lab, BOB).paused


def test_a_hang_up_of_a_call_the_desk_missed_the_end_of_sends_a_correcting_resync(
    lab: Lab,
) -> None:
    """Found in the 2,000-desktop run: a desk that missed a call's end (a relay gap while a
    server instance died) kept the call and its hang-ups were refused for good. The
    refusal now comes with a fresh ``resync`` (``corrects``) holding the agent's live
    calls, from which the desk ends the stale one."""
    alice = lab.desk("alice")
    live = _answered(lab, alice)
    sock = alice.sockets[-1]
    gone = "1700000000.999"  # a call the desk believes in, long over at the PBX
    response = alice.request({"kind": "hangup", "linkedid": gone})
    assert response.status_code == 403
    corrected = sock.expect(
        lambda m: m["type"] == "resync" and m.get("corrects") is True, what="the correction"
    )
    assert corrected["reconnect"] is False
    listed = {row["channel"]["linkedid"] for row in corrected["channels"]}
    assert listed == {live}  # the call still up is listed; the stale one is not
    assert _sim_call(lab, live).state == "connected"  # nothing was done to the live call
