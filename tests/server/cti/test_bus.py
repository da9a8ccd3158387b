"""Two server instances, one PBX, a real NATS between them (``server/bus.py``, ``cti/relay.py``).

Only one instance logs in to the PBX (its lease); a desktop on the other gets
its link state, its resync and its calls through the bus, and its call
requests are carried out by the leader. When the leader stops, the other
takes the link over and the desktop sees its call again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from agentdesk.client.api import ServerApi
from agentdesk.server.app import build_context, create_app
from agentdesk.server.bus import BusSettings
from agentdesk.server.context import ServerContext
from agentdesk.server.cti.config import PbxConfig
from agentdesk.server.run import ServerThread
from agentdesk.server.settings import ListenSettings, ServerSettings
from agentdesk.telephony.sim.simulator import PlacedCall
from tests.server.cti.conftest import (
    ALICE,
    BOB,
    CALLER,
    CtiSocket,
    Desk,
    SimThread,
    is_event,
    secret_file,
    seed,
    wait_until,
)
from tests.support.nats import NatsServer, running_nats
from tests.ui.data import PASSWORD
from tests.ui_workspace.builders import FIELD_KEYRING

TTL = 2.0  # a short lease: the takeover test waits for it to lapse


@dataclass
class Instance:
    name: str
    thread: ServerThread
    ctx: ServerContext

    @property
    def url(self) -> str:
        return self.thread.url

    def pbx(self) -> dict[str, str]:
        body = httpx.get(self.url + "/ready", timeout=10).json()
        return dict(body["pbx"]["lab"])


@dataclass
class Pair:
    nats: NatsServer
    sim: SimThread
    central: Engine
    pbx: PbxConfig
    instances: list[Instance] = field(default_factory=list)
    desks: list[Desk] = field(default_factory=list)

    def start(self, name: str) -> Instance:
        listen = ListenSettings(host="127.0.0.1", port=0)
        settings = ServerSettings(
            listen=listen,
            pbx=(self.pbx,),
            bus=BusSettings(url=self.nats.url, instance=name, lease_ttl=TTL),
        )
        ctx = build_context(self.central, settings, cipher=FIELD_KEYRING)
        thread = ServerThread(create_app(ctx), listen)
        thread.start()
        made = Instance(name, thread, ctx)
        self.instances.append(made)
        return made

    def leader(self) -> Instance | None:
        for instance in self.instances:
            status = instance.pbx()
            if status.get("leader") == instance.name and status["state"] == "connected":
                return instance
        return None

    def desk(self, login: str, at: Instance) -> Desk:
        api = ServerApi(at.url)
        api.sign_in(login, PASSWORD, f"ws-{login}")
        http = httpx.Client(
            base_url=at.url, headers={"Authorization": f"Bearer {api.token}"}, timeout=15
        )
        made = Desk(login, api, http, at.url, uuid.uuid4())
        self.desks.append(made)
        return made

    def ami_sessions(self) -> int:
        return int(self.sim.run(lambda: len(self.sim.sim.server.sessions)))


@pytest.fixture
def pair(cti_central: Engine, tmp_path: Path) -> Iterator[Pair]:
    seed(cti_central)
    sim = SimThread()
    made: Pair | None = None
    with running_nats() as nats:
        try:
            sim.run(sim.sim.add_agent, ALICE, "Alice Agent", {"general": 0})
            sim.run(sim.sim.add_agent, BOB, "Bob Agent", {"general": 0})
            pbx = PbxConfig(
                site="lab",
                host="127.0.0.1",
                port=sim.sim.port,
                username="agentdesk",
                secret_file=secret_file(tmp_path, sim.secret),
                transfer_context="transfers",
            )
            made = Pair(nats, sim, cti_central, pbx)
            made.start("one")
            made.start("two")
            wait_until(made.leader, 15, "one instance to hold the PBX link")
            yield made
        finally:
            if made is not None:
                for desk in made.desks:
                    for sock in desk.sockets:
                        sock.close()
                    desk.http.close()
                    desk.api.close()
                for instance in made.instances:
                    instance.thread.stop()
            sim.stop()


def _other(pair: Pair, instance: Instance) -> Instance:
    return next(i for i in pair.instances if i is not instance)


def _alice_on_a_call_at_the_follower(
    pair: Pair,
) -> tuple[Instance, Instance, Desk, CtiSocket, PlacedCall]:
    """alice's desktop on the instance without the link, on an answered call."""
    leader = pair.leader()
    assert leader is not None
    follower = _other(pair, leader)
    alice = pair.desk("alice", follower)
    sock = alice.open()
    sock.expect(lambda m: m["type"] == "resync")
    placed = pair.sim.call(CALLER, ALICE)
    sock.expect(is_event("AgentCalled", placed.linkedid))
    assert alice.request({"kind": "answer"}).json()["ok"]
    sock.expect(is_event("AgentConnect", placed.linkedid))
    return leader, follower, alice, sock, placed


def test_one_ami_login_and_a_desktop_on_the_follower_gets_its_calls(pair: Pair) -> None:
    leader = pair.leader()
    assert leader is not None
    follower = _other(pair, leader)
    assert pair.ami_sessions() == 1
    # The follower does not say the PBX is down: it names the link's state and who holds it.
    status = wait_until(
        lambda: (s := follower.pbx())["state"] == "connected" and s, 5, "the follower's status"
    )
    assert status["leader"] == leader.name, status

    alice = pair.desk("alice", follower)
    sock = alice.open()
    assert sock.expect(lambda m: m["type"] == "link")["state"] == "connected"
    sock.expect(lambda m: m["type"] == "resync", what="the resync from the leader")

    placed = pair.sim.call(CALLER, ALICE)
    sock.expect(lambda m: m["type"] == "match", what="the caller matched before the offer")
    sock.expect(is_event("AgentCalled", placed.linkedid), what="the offer through the bus")

    # The answer is carried out by the leader (the follower has no AMI link).
    answered = alice.request({"kind": "answer"})
    assert answered.status_code == 200, answered.text
    assert answered.json() == {"ok": True, "message": ""}
    sock.expect(is_event("AgentConnect", placed.linkedid), what="AgentConnect")
    held = alice.request({"kind": "hold", "linkedid": placed.linkedid, "on": True})
    assert held.json()["ok"], held.text
    sock.expect(is_event("Hold", placed.linkedid), what="Hold")
    # Each event once: the hello's state and the bus's stream do not overlap.
    kinds = [e["kind"] for e in sock.events(placed.linkedid)]
    assert kinds.count("AgentCalled") == 1 and kinds.count("AgentConnect") == 1, kinds

    # Someone else's call is refused by the leader's own records.
    bob = pair.desk("bob", follower)
    refused = bob.request({"kind": "hangup", "linkedid": placed.linkedid})
    assert refused.status_code == 403, refused.text


def test_a_desktop_on_another_instance_replaces_the_older_socket(pair: Pair) -> None:
    one, two = pair.instances
    first = pair.desk("alice", one).open()
    first.expect(lambda m: m["type"] == "link")
    second = pair.desk("alice", two).open()
    second.expect(lambda m: m["type"] == "link")
    with pytest.raises(Exception) as closed:
        first.expect(lambda m: False, timeout=5, what="the close")
    assert "4409" in str(closed.value) or "signed in on another desktop" in str(closed.value)


def test_the_other_instance_takes_the_link_over_and_the_call_comes_back(pair: Pair) -> None:
    leader, follower, alice, sock, placed = _alice_on_a_call_at_the_follower(pair)

    leader.thread.stop()  # a clean stop gives the lease up at once
    pair.instances.remove(leader)
    sock.expect(
        lambda m: m["type"] == "link" and m["state"] == "reconnecting", what="the link moving"
    )
    wait_until(lambda: follower.pbx().get("leader") == follower.name, 15, "the takeover")
    sock.expect(
        lambda m: (
            m["type"] == "resync"
            and any(c["channel"]["linkedid"] == placed.linkedid for c in m["channels"])
        ),
        timeout=15,
        what="a resync holding the call in progress",
    )
    assert sock.expect(lambda m: m["type"] == "link" and m["state"] == "connected")
    wait_until(lambda: pair.ami_sessions() == 1, 10, "one AMI login again")
    # The new leader carries requests out for the call it adopted.
    hung = alice.request({"kind": "hangup", "linkedid": placed.linkedid})
    assert hung.status_code == 200 and hung.json()["ok"], hung.text
    sock.expect(is_event("Hangup", placed.linkedid), what="the hangup")


def test_a_supervisor_on_the_follower_sees_the_leaders_floor_live(pair: Pair) -> None:
    from agentdesk.services.supervisor.views import AgentStatus
    from tests.server.cti.test_floor import FloorSocket, _agent, _queue

    leader = pair.leader()
    assert leader is not None
    follower = _other(pair, leader)
    sue = FloorSocket(follower.url, pair.desk("sue", follower).token)
    try:
        first = sue.wait(lambda m: _queue(m), what="the first floor")
        # Not "PBX down" on the instance without the AMI link: the leader's real state.
        assert sue.model.sites["lab"].link["state"] == "connected"
        assert (first.logged_in, first.available) == (2, 2)

        alice = pair.desk("alice", follower)
        cti = alice.open()
        cti.expect(lambda m: m["type"] == "resync")
        placed = pair.sim.call(CALLER, ALICE)
        cti.expect(is_event("AgentCalled", placed.linkedid))
        assert alice.request({"kind": "answer"}).json()["ok"]
        sue.wait(lambda m: _agent(m, ALICE).status is AgentStatus.ON_CALL, what="alice on call")
        assert _queue(sue.model).on_call == 1

        # The leader goes: the new leader's floor (today's figures from the stored records,
        # the call from the PBX) replaces the mirrored one, without an empty board between.
        kinds_before = len(sue.kinds)
        leader.thread.stop()
        pair.instances.remove(leader)
        wait_until(lambda: follower.pbx().get("leader") == follower.name, 15, "the takeover")
        sue.wait(
            lambda m: (
                len(sue.kinds) > kinds_before + 1
                and m.sites["lab"].link["state"] == "connected"
                and (a := _agent(m, ALICE)) is not None
                and a.status is AgentStatus.ON_CALL
            ),
            timeout=20,
            what="the new leader's floor with alice still on the call",
        )
        assert _queue(sue.model).logged_in == 2
        reconciled = httpx.get(
            follower.url + "/api/v1/supervisor/reconciliation",
            headers={"Authorization": f"Bearer {pair.desks[-2].token}"},
            timeout=10,
        )
        assert reconciled.status_code == 200, reconciled.text
    finally:
        sue.close()


def test_a_nats_restart_keeps_the_link_and_calls_flow_again(pair: Pair) -> None:
    leader = pair.leader()
    assert leader is not None
    follower = _other(pair, leader)
    alice = pair.desk("alice", follower)
    sock = alice.open()
    sock.expect(lambda m: m["type"] == "resync")

    pair.nats.restart()  # its JetStream files (the lease) survive, as on a real server
    # Within the lease's time to live the leader renews it: same leader, one AMI login.
    wait_until(lambda: leader.ctx.cti and leader.ctx.cti.relay.bus.connected, 10, "reconnected")
    wait_until(lambda: follower.ctx.cti and follower.ctx.cti.relay.bus.connected, 10, "both")
    assert pair.leader() is leader and pair.ami_sessions() == 1

    placed = pair.sim.call(CALLER, ALICE)
    sock.expect(is_event("AgentCalled", placed.linkedid), what="an offer after the restart")
    assert alice.request({"kind": "answer"}).json()["ok"]
    sock.expect(is_event("AgentConnect", placed.linkedid))


def test_after_a_nats_restart_a_desktop_on_the_follower_is_resynced(pair: Pair) -> None:
    """Events the leader published while NATS was away are gone; the follower noticed a gap
    only at the agent's next message. A desktop that missed its call's AgentConnect then
    waited for an answer that had happened (the capacity run lost such a call: the caller
    stayed connected to nobody). Now every follower's socket asks the leader again."""
    leader, _follower, alice, sock, placed = _alice_on_a_call_at_the_follower(pair)
    seen = len(sock.seen)
    pair.nats.restart()
    sock.expect(
        lambda m: (
            m["type"] == "resync"
            and sock.seen.index(m) >= seen
            and any(c["channel"]["linkedid"] == placed.linkedid for c in m["channels"])
        ),
        timeout=20,
        what="a resync holding the call once NATS is back",
    )
    assert pair.leader() is leader and pair.ami_sessions() == 1  # the link never moved
    hung = alice.request({"kind": "hangup", "linkedid": placed.linkedid})
    assert hung.status_code == 200 and hung.json()["ok"], hung.text
    sock.expect(is_event("Hangup", placed.linkedid), what="the hangup")


def test_nats_away_longer_than_the_lease_the_link_is_given_up_then_taken_again(
    pair: Pair,
) -> None:
    _, _, alice, sock, placed = _alice_on_a_call_at_the_follower(pair)
    seen = len(sock.seen)

    pair.nats.stop(kill=True)
    # No instance can prove it holds the lease: the leader logs out of the PBX rather
    # than risk two logins once NATS is back.
    wait_until(lambda: pair.ami_sessions() == 0, 3 * TTL + 5, "the leader to give the link up")
    assert "AgentCalled" in [e["kind"] for e in sock.events()]
    pair.nats.start()
    wait_until(pair.leader, 20, "a leader again")
    assert pair.ami_sessions() == 1
    # The desktop gets its call back (a resync holding it) without reconnecting.
    sock.expect(
        lambda m: (
            m["type"] == "resync"
            and any(c["channel"]["linkedid"] == placed.linkedid for c in m["channels"])
            and sock.seen.index(m) >= seen
        ),
        timeout=20,
        what="a resync holding the call after NATS came back",
    )
    hung = alice.request({"kind": "hangup", "linkedid": placed.linkedid})
    assert hung.status_code == 200 and hung.json()["ok"], hung.text


def test_a_hello_the_leader_does_not_answer_in_time_is_asked_again(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A leader busy past ``request_timeout`` (a sign-in storm) once left the desktop with no
    resync at all: no calls, no queues, and a re-hello after a gap lost the missed events."""
    from agentdesk.server.bus import BusDown

    leader = pair.leader()
    assert leader is not None
    follower = _other(pair, leader)
    assert follower.ctx.cti is not None
    bus = follower.ctx.cti.relay.bus
    real_request = bus.request
    refused: list[str] = []

    async def slow_leader(subject: str, data: bytes, timeout: float | None = None) -> bytes:
        if subject.endswith(".hello") and len(refused) < 3:
            refused.append(subject)
            raise BusDown("no server answered in time")
        return await real_request(subject, data, timeout)

    monkeypatch.setattr(bus, "request", slow_leader)
    alice = pair.desk("alice", follower)
    sock = alice.open()
    sock.expect(lambda m: m["type"] == "resync", timeout=15, what="the resync after retries")
    assert len(refused) == 3
    placed = pair.sim.call(CALLER, ALICE)
    sock.expect(is_event("AgentCalled", placed.linkedid), what="an offer after the retries")
