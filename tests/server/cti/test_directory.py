"""``GET /api/v1/cti/directory``: the agents' transfer directory, from the server's floor.

Real server, real gateway, the bundled PBX simulator on loopback (``conftest.py``).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from agentdesk.server.api.cti_directory import presence_of
from agentdesk.server.cti.config import PbxConfig
from tests.server.cti.conftest import ALICE, CALLER, Lab, is_event, wait_until
from tests.ui.data import add_agent


def _directory(lab: Lab, login: str) -> dict[str, Any]:
    response = lab.desk(login).http.get("/api/v1/cti/directory")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _agent(body: dict[str, Any], login: str) -> dict[str, Any]:
    return next(a for a in body["agents"] if a["login"] == login)


def test_an_agent_gets_colleagues_presence_and_queue_figures_without_caller_data(
    lab: Lab,
) -> None:
    add_agent(lab.central, "carol", "PJSIP/1003")  # has a line, in no queue: logged off
    pause = {"kind": "pause", "paused": True, "reason": "Meeting"}
    assert lab.desk("bob").request(pause).json()["ok"] is True
    desk = lab.desk("alice")
    cti = desk.open()
    cti.expect(lambda m: m["type"] == "resync", what="alice's resync")
    placed = lab.sim.call(CALLER, ALICE)
    cti.expect(is_event("AgentCalled", placed.linkedid), what="the offer")
    assert desk.request({"kind": "answer"}).json()["ok"] is True

    def alice_on_call() -> dict[str, Any] | None:
        """Alice on the call and the caller out of the queue: the PBX reports the two in
        separate events (AgentConnect, QueueCallerLeave), so a read between them sees one."""
        body = _directory(lab, "bob")
        general = next(q for q in body["queues"] if q["name"] == "general")
        on_call = _agent(body, "alice")["presence"] == "on_call"
        return body if on_call and general["waiting"] == 0 else None

    body = wait_until(alice_on_call, what="alice on the call in bob's directory")
    assert body["site"] == "lab" and body["sites"] == [{"site": "lab", "link": "connected"}]
    assert body["detail"] == ""
    alice = _agent(body, "alice")
    assert alice == {"login": "alice", "name": "Alice Agent", "extension": "1001",
                     "site": "lab", "presence": "on_call", "reason": ""}  # fmt: skip
    assert _agent(body, "carol")["presence"] == "logged_off"
    assert "bob" not in {a["login"] for a in body["agents"]}  # not oneself
    general = next(q for q in body["queues"] if q["name"] == "general")
    assert general == {"name": "general", "label": "General", "site": "lab", "code": "",
                       "waiting": 0, "available": 0}  # fmt: skip
    # Need-to-know: nothing about the caller or the call reaches an agent.
    text = str(body)
    assert CALLER not in text and "caller" not in text and "since" not in text

    # Bob, as alice sees him: paused, with the reason as agents read it.
    seen_by_alice = wait_until(
        lambda: (b := _directory(lab, "alice")) and _agent(b, "bob")["presence"] == "paused" and b,
        what="bob paused in alice's directory",
    )
    assert _agent(seen_by_alice, "bob")["reason"] == "Team meeting"


def test_pbx_members_without_a_login_are_listed_by_their_member_name(lab: Lab) -> None:
    lab.sim.run(lab.sim.sim.add_agent, "PJSIP/1077", "Temp One", {"general": 0})
    lab.sim.run(lab.sim.sim.add_agent, "PJSIP/agent-7", "Temp Two", {"general": 0})

    def both() -> dict[str, Any] | None:
        body = _directory(lab, "alice")
        names = {a["name"] for a in body["agents"]}
        return body if {"Temp One", "Temp Two"} <= names else None

    body = wait_until(both, what="the PBX's own members in the directory")
    one = next(a for a in body["agents"] if a["name"] == "Temp One")
    two = next(a for a in body["agents"] if a["name"] == "Temp Two")
    assert one == {"login": "", "name": "Temp One", "extension": "1077", "site": "lab",
                   "presence": "available", "reason": ""}  # fmt: skip
    assert two["extension"] == "" and two["presence"] == "available"


def test_a_request_without_a_live_session_is_refused(lab: Lab) -> None:
    assert httpx.get(lab.url + "/api/v1/cti/directory", timeout=10).status_code == 401
    bad = {"Authorization": "Bearer not-a-session"}
    assert httpx.get(lab.url + "/api/v1/cti/directory", headers=bad, timeout=10).status_code == 401
    desk = lab.desk("alice")
    desk.api.sign_out()
    assert desk.http.get("/api/v1/cti/directory").status_code == 401


def test_queue_transfer_codes_come_from_the_site_settings(lab: Lab) -> None:
    gateway = lab.ctx.cti.gateways["lab"] if lab.ctx.cti is not None else None
    assert gateway is not None
    config: PbxConfig = gateway.config
    gateway.config = PbxConfig(**{**config.__dict__, "queue_transfers": (("general", "2100"),)})
    body = _directory(lab, "alice")
    assert next(q for q in body["queues"] if q["name"] == "general")["code"] == "2100"


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"status": "available", "reason": ""}, ("available", "")),
        ({"status": "ringing", "reason": ""}, ("on_call", "")),
        ({"status": "on_hold", "reason": ""}, ("on_call", "")),
        ({"status": "paused", "reason": "Lunch"}, ("paused", "Lunch")),
        ({"status": "paused", "reason": "Auto-Pause"},
         ("paused", "Missed a call (auto-paused by the PBX)")),
        ({"status": "paused", "reason": "ACW"}, ("wrap_up", "")),
        ({"status": "wrap_up", "reason": ""}, ("wrap_up", "")),
        ({"status": "unavailable", "reason": ""}, ("logged_off", "")),
        ({"status": "nonsense", "reason": ""}, ("logged_off", "")),
    ],
)  # fmt: skip
def test_presence_from_a_floor_row(row: dict[str, Any], expected: tuple[str, str]) -> None:
    assert presence_of(row) == expected


def test_no_pbx_says_so(server_without_pbx: str) -> None:
    from agentdesk.client.api import ServerApi
    from tests.ui.data import PASSWORD

    api = ServerApi(server_without_pbx)
    try:
        api.sign_in("alice", PASSWORD, "ws-alice")
        body = api.request("GET", "/cti/directory")
    finally:
        api.close()
    assert body["agents"] == [] and body["queues"] == []
    assert body["detail"] == "The server has no PBX configured."


@pytest.fixture
def server_without_pbx(cti_central: Engine) -> Any:
    from tests.server.cti.conftest import seed, start_server

    seed(cti_central)
    thread, _ctx = start_server(cti_central, ())
    yield thread.url
    thread.stop()
