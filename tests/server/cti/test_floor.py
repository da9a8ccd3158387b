"""The supervisors' floor over ``/api/v1/cti/floor``: computed once on the server, live, true.

Real server, real gateway, the bundled PBX simulator on loopback; the
supervisor's socket is a plain WebSocket client whose messages are applied
to the desktop's own :class:`~agentdesk.client.floor.FloorModel`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from agentdesk.client.floor import FloorModel
from agentdesk.services.supervisor.views import AgentStatus
from tests.server.cti.conftest import ALICE, BOB, CALLER, Lab, is_event


class FloorSocket:
    """A supervisor's floor socket; every message is applied to ``model`` and its type kept."""

    def __init__(self, url: str, token: str) -> None:
        ws_url = url.replace("http://", "ws://", 1) + "/api/v1/cti/floor"
        self._stack = contextlib.ExitStack()
        self.ws: ClientConnection = self._stack.enter_context(
            connect(
                ws_url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=10
            )
        )
        self.model = FloorModel()
        self.model.online = True
        self.kinds: list[str] = []
        self.links: list[str] = []

    def wait(
        self, check: Callable[[FloorModel], Any], timeout: float = 10.0, what: str = ""
    ) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = check(self.model) if self.kinds else None
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {what or 'floor'} within {timeout} s: {self.kinds[-10:]}")
            try:
                text = self.ws.recv(left)
            except TimeoutError:
                continue
            self.kinds.append(self.model.apply(text))
            site = self.model.sites.get("lab")
            if site is not None and (not self.links or self.links[-1] != site.link["state"]):
                self.links.append(site.link["state"])

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._stack.close()


@pytest.fixture
def floor_of(lab: Lab) -> Any:
    made: list[FloorSocket] = []

    def open_for(login: str) -> FloorSocket:
        sock = FloorSocket(lab.url, lab.desk(login).token)
        made.append(sock)
        return sock

    yield open_for
    for sock in made:
        sock.close()


def _agent(model: FloorModel, interface: str) -> Any:
    return model.board(time.time()).agent(interface)


def _queue(model: FloorModel, name: str = "general") -> Any:
    return model.board(time.time()).queue(name)


def test_an_agents_floor_socket_is_refused(lab: Lab) -> None:
    token = lab.desk("alice").token
    ws_url = lab.url.replace("http://", "ws://", 1) + "/api/v1/cti/floor"
    headers = {"Authorization": f"Bearer {token}"}
    with connect(ws_url, additional_headers=headers) as ws, pytest.raises(ConnectionClosed) as out:
        ws.recv(10)
    assert out.value.rcvd is not None and out.value.rcvd.code == 4403


def test_the_supervisor_gets_the_floor_then_updates_after_events(lab: Lab, floor_of: Any) -> None:
    sue = floor_of("sue")
    first = sue.wait(lambda m: _queue(m), what="the first floor")
    assert sue.kinds[0] == "floor"
    assert sue.model.sites["lab"].link["state"] == "connected"
    assert sue.model.link()[0] is True
    assert (first.logged_in, first.available, first.waiting) == (2, 2, 0)
    alice, bob = _agent(sue.model, ALICE), _agent(sue.model, BOB)
    assert alice.status is AgentStatus.AVAILABLE and bob.status is AgentStatus.AVAILABLE
    assert sue.model.login_for(ALICE) == "alice" and sue.model.login_for(BOB) == "bob"

    # The supervisor pauses alice through the agent-request route; bob pauses himself.
    sup = lab.desk("sue")
    pause = {"kind": "pause", "paused": True, "reason": "Coaching"}
    assert sup.request(pause, agent="alice").json()["ok"] is True
    assert lab.desk("bob").request({**pause, "reason": "Training"}).json()["ok"] is True
    sue.wait(lambda m: _queue(m).paused == 2, what="both agents paused")
    assert (_agent(sue.model, ALICE).status, _agent(sue.model, ALICE).reason) == (
        AgentStatus.PAUSED,
        "Coaching",
    )
    assert _agent(sue.model, BOB).reason == "Training"
    assert _queue(sue.model).available == 0

    # Nobody free: the caller waits, and the floor says so.
    placed = lab.sim.call(CALLER, ALICE)
    sue.wait(lambda m: _queue(m).waiting == 1, what="a waiting caller")
    assert _queue(sue.model).oldest_since is not None

    # Alice back: the call rings her, she answers; the floor follows.
    desk = lab.desk("alice")
    cti = desk.open()
    cti.expect(lambda m: m["type"] == "resync", what="alice's resync")
    assert sup.request({"kind": "pause", "paused": False}, agent="alice").json()["ok"] is True
    cti.expect(is_event("AgentCalled", placed.linkedid), what="the offer")
    sue.wait(lambda m: _agent(m, ALICE).status is AgentStatus.RINGING, what="alice ringing")
    assert desk.request({"kind": "answer"}).json()["ok"] is True
    sue.wait(lambda m: _agent(m, ALICE).status is AgentStatus.ON_CALL, what="alice on the call")
    row = _queue(sue.model)
    assert (row.waiting, row.on_call, row.paused, row.available) == (0, 1, 1, 0)
    assert CALLER in _agent(sue.model, ALICE).caller
    assert sue.kinds.count("floor") == 1 and "update" in sue.kinds
    # A supervisor may act only on agents of their teams (bob is in another team).
    assert sup.request(pause, agent="bob").status_code == 403


def test_link_state_is_true_connected_then_disconnected_when_the_pbx_goes(
    lab: Lab, floor_of: Any
) -> None:
    sue = floor_of("sue")
    sue.wait(lambda m: "lab" in m.sites, what="the first floor")
    assert sue.links == ["connected"]
    # A drop and a reconnect: the floor goes down, then comes back resynced.
    assert lab.sim.drop_links() >= 1
    sue.wait(lambda m: m.sites["lab"].link["state"] != "connected", what="the link down")
    assert sue.model.link()[0] is False
    sue.wait(lambda m: m.sites["lab"].link["state"] == "connected", 20, "the link back")
    assert _queue(sue.model).logged_in == 2
    # The PBX gone for good: the floor says disconnected (and stays that way).
    lab.sim.stop()
    lab.sim.stop = lambda: None  # type: ignore[method-assign]  # the lab's teardown: done
    sue.wait(lambda m: m.sites["lab"].link["state"] == "disconnected", 20, "disconnected")
    up, detail = sue.model.link()
    assert up is False and detail
