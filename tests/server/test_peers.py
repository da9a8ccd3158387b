"""Two server instances on one NATS tell each other at once what their caches would learn late.

A sign-out or a revocation on one instance ends the session on the other as the
message arrives, not when the other's 10 s memory of the session runs out; a
pin written by one instance (the desktop's screen pop went there) reaches the
instance holding the desktop's live socket at once, so the next change to that
customer pokes it (``server/peers.py``). Real servers, a real ``nats-server``,
one central store (SQLite and PostgreSQL).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, update
from websockets.sync.client import connect

from agentdesk.client.api import ServerApi
from agentdesk.client.central import HttpCentral
from agentdesk.models import Agent, Role
from agentdesk.server.app import build_context, create_app
from agentdesk.server.bus import BusSettings
from agentdesk.server.context import ServerContext
from agentdesk.server.run import ServerThread
from agentdesk.server.settings import ListenSettings, ServerSettings
from agentdesk.services.platform.auth import hash_password
from agentdesk.services.platform.signin import SESSION_CACHE_SECONDS
from agentdesk.store.engine import write_session
from agentdesk.store.sync import Syncer, SyncScope
from agentdesk.store.sync.local import LocalStore
from agentdesk.store.writer import LocalWriter
from tests.server.conftest import PASSWORD
from tests.server.cti.conftest import wait_until
from tests.support.nats import running_nats
from tests.sync.conftest import make_cache
from tests.sync.factories import REF, person, seed_reference
from tests.ui_workspace.builders import FIELD_KEYRING

# Well inside the 10 s a cached session lives: only the bus can explain an end this fast.
AT_ONCE = 3.0
assert AT_ONCE < SESSION_CACHE_SECONDS / 2


@dataclass
class Instance:
    url: str
    ctx: ServerContext


@pytest.fixture
def instances(central: Engine) -> Iterator[tuple[Instance, Instance]]:
    seed_reference(central)
    with write_session(central) as s:
        s.execute(update(Agent).values(password_hash=hash_password(PASSWORD)))
        s.execute(update(Agent).where(Agent.id == REF.bob).values(role=Role.AGENT))
    threads: list[ServerThread] = []
    with running_nats() as nats:
        try:
            made = []
            for name in ("one", "two"):
                listen = ListenSettings(host="127.0.0.1", port=0)
                settings = ServerSettings(
                    listen=listen, bus=BusSettings(url=nats.url, instance=name)
                )
                ctx = build_context(central, settings, cipher=FIELD_KEYRING)
                thread = ServerThread(create_app(ctx), listen)
                threads.append(thread)
                made.append(Instance(thread.start(), ctx))
            for one in made:
                peers = one.ctx.peers
                assert peers is not None
                wait_until(partial(getattr, peers.bus, "connected"), 15, "the bus")
            yield made[0], made[1]
        finally:
            for thread in threads:
                thread.stop()


def _me(url: str, token: str | None) -> int:
    return httpx.get(
        url + "/api/v1/session", headers={"Authorization": f"Bearer {token}"}, timeout=10
    ).status_code


def test_a_sign_out_on_one_instance_ends_the_session_on_the_other_at_once(
    instances: tuple[Instance, Instance],
) -> None:
    one, two = instances
    api = ServerApi(one.url)
    api.sign_in("alice", PASSWORD, "ws-alice")
    assert _me(two.url, api.token) == 200  # two now remembers the session for 10 s
    assert _me(one.url, api.token) == 200
    token = api.token
    api.sign_out()
    api.close()
    wait_until(lambda: _me(two.url, token) == 401, AT_ONCE, "the sign-out on the other")


def test_a_revocation_on_one_instance_ends_every_session_of_the_agent_on_the_other(
    instances: tuple[Instance, Instance],
) -> None:
    one, two = instances
    agent = ServerApi(two.url)
    agent.sign_in("bob", PASSWORD, "ws-bob")
    assert _me(two.url, agent.token) == 200
    assert _me(one.url, agent.token) == 200
    one.ctx.signin.revoke_agent(REF.bob, actor="alice", reason="suspected compromise")
    wait_until(lambda: _me(two.url, agent.token) == 401, AT_ONCE, "the revocation there")
    assert _me(one.url, agent.token) == 401
    agent.close()


def _desktop(at: Instance, login: str, cache: Path) -> tuple[ServerApi, LocalWriter, Syncer]:
    """A desktop's sync side against ``at``: a session, an encrypted cache, a syncer."""
    api = ServerApi(at.url)
    grant = api.sign_in(login, PASSWORD, f"ws-{login}")
    scope = SyncScope(team_ids=grant.team_ids, agent_id=grant.agent_id)
    engine = make_cache(cache)
    syncer = Syncer(LocalStore(engine), HttpCentral(api), scope, login)
    syncer.ensure_filled()
    return api, LocalWriter(engine, login), syncer


def test_a_pin_written_by_one_instance_lets_a_change_poke_the_socket_on_the_other(
    instances: tuple[Instance, Instance], tmp_path: Path
) -> None:
    """The desktop's live socket is on two; its screen pop went to one (the load balancer
    spread its requests). The next change to the popped customer pokes it on two, at once
    rather than after the 30 s pin refresh."""
    one, two = instances
    writer_api, writer, syncer = _desktop(one, "alice", tmp_path / "writer.db")
    customer = person()
    writer.write("customer.create", customer)
    syncer.cycle()
    client_id = uuid.uuid4()
    api = ServerApi(one.url)
    api.sign_in("alice", PASSWORD, "ws-alice")
    headers = {"Authorization": f"Bearer {api.token}"}
    live_url = two.url.replace("http", "ws", 1) + f"/api/v1/live?client_id={client_id}"
    with connect(live_url, additional_headers=headers, open_timeout=10) as ws:

        def poked(timeout: float) -> bool:
            deadline = time.monotonic() + timeout
            while (left := deadline - time.monotonic()) > 0:
                try:
                    message: dict[str, Any] = json.loads(ws.recv(left))
                except TimeoutError:
                    return False
                if message["type"] == "poke":
                    return True
            return False

        assert poked(10)  # the connect poke: the socket's pins are loaded
        found = api.request(
            "POST",
            "/customers/match",
            params={"client_id": str(client_id)},
            json={"number": "+447700900123"},
        )
        assert str(customer["id"]) in [c["id"] for c in found["candidates"]]
        wait_until(lambda: two.ctx.pins.count(client_id) > 0, AT_ONCE, "the pins over the bus")
        writer.write("customer.patch", {"id": customer["id"], "changes": {"family_name": "Okafor"}})
        syncer.cycle()
        assert poked(AT_ONCE)
    api.close()
    writer_api.close()
