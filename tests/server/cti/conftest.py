"""A real server with its CTI gateway logged in to the bundled PBX simulator, both on loopback.

Agents: alice (``PJSIP/1001``) and bob (``PJSIP/1002``), both members of the
simulator's ``general`` queue; sue, a supervisor in alice's team. Desktops
are protocol clients: a WebSocket on ``/api/v1/cti`` and an HTTP client for
``/api/v1/cti/requests``. Calls are placed with the simulator's scripted
caller, ringing only the agent named.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, insert, select, update
from websockets.sync.client import ClientConnection, connect

from agentdesk.client.api import ServerApi
from agentdesk.ids import uuid7
from agentdesk.models import Agent, Role, Team
from agentdesk.models.org import agent_team
from agentdesk.server.app import build_context, create_app
from agentdesk.server.context import ServerContext
from agentdesk.server.cti.config import PbxConfig
from agentdesk.server.run import ServerThread
from agentdesk.server.settings import ListenSettings, ServerSettings
from agentdesk.store import migrate
from agentdesk.store.engine import sqlite_engine, write_session
from agentdesk.telephony.loop_thread import LoopThread
from agentdesk.telephony.sim.config import load_config
from agentdesk.telephony.sim.simulator import PbxSimulator, PlacedCall
from tests.ui.data import PASSWORD, add_agent, add_customer
from tests.ui_workspace.builders import FIELD_KEYRING

ALICE, BOB = "PJSIP/1001", "PJSIP/1002"
CALLER = "+447700900123"  # Ada Lovelace's number in the central store


class SimThread:
    """The simulator on its own asyncio loop thread; calls into it are marshalled there."""

    def __init__(self) -> None:
        config = load_config()
        self.secret = next(u.secret for u in config.users if u.username == "agentdesk")
        self.sim = PbxSimulator(config, seed=5, traffic=False, virtual_agents=0, port=0)
        self.loop = LoopThread("test-cti-pbx")
        self.loop.start()
        self.loop.submit(self.sim.start()).result(10)

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        async def call() -> Any:
            return fn(*args, **kwargs)

        return self.loop.submit(call()).result(10)

    def call(self, number: str, agent: str, **kwargs: Any) -> PlacedCall:
        kwargs.setdefault("queue", "general")
        kwargs.setdefault("handle_time", 3600.0)
        placed: PlacedCall = self.run(self.sim.place_call, number, agent=agent, **kwargs)
        return placed

    def drop_links(self) -> int:
        """Close every AMI session at once, as a PBX restart or a network cut would."""

        def drop() -> int:
            sessions = list(self.sim.server.sessions)
            for session in sessions:
                session.close(abort=True)
            return len(sessions)

        return int(self.run(drop))

    def stop(self) -> None:
        self.loop.submit(self.sim.stop()).result(10)
        self.loop.stop()
        self.sim.close()


def wait_until(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """``check()``'s first truthy value, polled until ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


class CtiSocket:
    """One desktop's CTI socket; every message received is kept in ``seen``."""

    def __init__(self, url: str, token: str, client_id: uuid.UUID | None) -> None:
        ws_url = url.replace("http://", "ws://", 1) + "/api/v1/cti"
        if client_id is not None:
            ws_url += f"?client_id={client_id}"
        self.client_id = client_id
        self._stack = contextlib.ExitStack()
        self.ws: ClientConnection = self._stack.enter_context(
            connect(
                ws_url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=10
            )
        )
        self.seen: list[dict[str, Any]] = []

    def expect(
        self, check: Callable[[dict[str, Any]], bool], timeout: float = 10.0, what: str = ""
    ) -> dict[str, Any]:
        """The first message (already seen or arriving within ``timeout`` s) ``check`` accepts."""
        for earlier in self.seen:
            if check(earlier):
                return earlier
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                kinds = [_describe(m) for m in self.seen[-15:]]
                raise AssertionError(f"no {what or 'matching message'} within {timeout} s: {kinds}")
            try:
                message: dict[str, Any] = json.loads(self.ws.recv(left))
            except TimeoutError:
                continue
            self.seen.append(message)
            if check(message):
                return message

    def drain(self, seconds: float) -> None:
        """Read whatever arrives for ``seconds`` (to check that something did *not*)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                self.seen.append(json.loads(self.ws.recv(left)))
            except TimeoutError:
                return

    def events(self, linkedid: str | None = None) -> list[dict[str, Any]]:
        found = [m["event"] for m in self.seen if m["type"] == "event"]
        return [e for e in found if linkedid is None or _linkedid(e) == linkedid]

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._stack.close()


def _linkedid(event: dict[str, Any]) -> str:
    channel = event.get("channel") or {}
    return str(channel.get("linkedid", ""))


def _describe(message: dict[str, Any]) -> str:
    if message["type"] == "event":
        return f"event:{message['event']['kind']}"
    if message["type"] == "link":
        return f"link:{message['state']}"
    return str(message["type"])


def is_event(kind: str, linkedid: str | None = None) -> Callable[[dict[str, Any]], bool]:
    def check(message: dict[str, Any]) -> bool:
        return (
            message["type"] == "event"
            and message["event"]["kind"] == kind
            and (linkedid is None or _linkedid(message["event"]) == linkedid)
        )

    return check


@dataclass
class Desk:
    """A signed-in desktop: its API session and, once opened, its CTI socket."""

    login: str
    api: ServerApi
    http: httpx.Client
    url: str
    client_id: uuid.UUID
    sockets: list[CtiSocket] = field(default_factory=list)

    @property
    def token(self) -> str:
        assert self.api.token is not None
        return self.api.token

    def open(self, *, client_id: uuid.UUID | None = None) -> CtiSocket:
        made = CtiSocket(self.url, self.token, client_id or self.client_id)
        self.sockets.append(made)
        return made

    def request(self, body: Any, *, agent: str | None = None) -> httpx.Response:
        path = "/api/v1/cti/requests" if agent is None else f"/api/v1/cti/agents/{agent}/requests"
        if isinstance(body, (dict, list)):
            return self.http.post(path, json=body)
        return self.http.post(path, content=body, headers={"Content-Type": "application/json"})


@dataclass
class Lab:
    url: str
    ctx: ServerContext
    central: Engine
    sim: SimThread
    customer_id: uuid.UUID
    desk: Callable[[str], Desk]

    def ready(self) -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(self.url + "/ready", timeout=10).json()
        return body


def seed(central: Engine) -> uuid.UUID:
    """alice, bob, sue (a supervisor in alice's team) and Ada Lovelace, who calls."""
    add_agent(central, "alice", ALICE)
    add_agent(central, "bob", BOB)
    add_agent(central, "sue", "PJSIP/1009")
    team_a, team_b = uuid7(), uuid7()
    with write_session(central) as s:
        s.execute(update(Agent).where(Agent.login == "sue").values(role=Role.SUPERVISOR))
        s.execute(insert(Team), [{"id": team_a, "name": "Cards"}, {"id": team_b, "name": "Loans"}])
        ids = dict(s.execute(select(Agent.login, Agent.id)).all())
        s.execute(
            insert(agent_team),
            [
                {"agent_id": ids["alice"], "team_id": team_a},
                {"agent_id": ids["sue"], "team_id": team_a},
                {"agent_id": ids["bob"], "team_id": team_b},
            ],
        )
    return add_customer(central, "Ada Lovelace", CALLER)


def secret_file(folder: Path, secret: str) -> Path:
    path = folder / "ami.secret"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secret + "\n")
    return path


def start_server(central: Engine, pbx: tuple[PbxConfig, ...]) -> tuple[ServerThread, ServerContext]:
    listen = ListenSettings(host="127.0.0.1", port=0)
    ctx = build_context(central, ServerSettings(listen=listen, pbx=pbx), cipher=FIELD_KEYRING)
    thread = ServerThread(create_app(ctx), listen)
    thread.start()
    return thread, ctx


@pytest.fixture
def cti_central(tmp_path: Path) -> Iterator[Engine]:
    engine = sqlite_engine(tmp_path / "central.db")
    migrate.upgrade(engine, field_keyring=FIELD_KEYRING)
    yield engine
    engine.dispose()


@pytest.fixture
def lab(cti_central: Engine, tmp_path: Path) -> Iterator[Lab]:
    customer = seed(cti_central)
    sim = SimThread()
    desks: list[Desk] = []
    thread: ServerThread | None = None
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
        thread, ctx = start_server(cti_central, (pbx,))
        url = thread.url

        def desk(login: str) -> Desk:
            api = ServerApi(url)
            api.sign_in(login, PASSWORD, f"ws-{login}")
            http = httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {api.token}"}, timeout=15
            )
            made = Desk(login, api, http, url, uuid.uuid4())
            desks.append(made)
            return made

        built = Lab(url, ctx, cti_central, sim, customer, desk)
        wait_until(lambda: built.ready()["pbx"]["lab"]["state"] == "connected", what="the PBX link")
        yield built
    finally:
        for made in desks:
            for sock in made.sockets:
                sock.close()
            made.http.close()
            made.api.close()
        if thread is not None:
            thread.stop()
        sim.stop()
