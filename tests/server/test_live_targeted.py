"""Live pokes reach the desktops a change concerns, not every connected desktop.

Real server, real WebSockets (``?client_id=`` as the desktop sends it). A poke
that must not arrive is checked two ways: the hub's count of sockets woken by
the change (exact, no waiting), and a short quiet window on the socket.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import insert
from websockets.sync.client import ClientConnection, connect

from agentdesk.client.api import ServerApi
from agentdesk.models import Agent, Role
from agentdesk.server.api.live import HEARTBEAT
from agentdesk.services.platform.auth import hash_password
from agentdesk.store.engine import write_session
from agentdesk.store.sync.live import ALL_PAYLOAD, EVERYTHING, Change, id_key
from tests.server.conftest import PASSWORD, Desktop, RunningServer
from tests.sync.factories import REF, person, ticket

QUIET = 0.5  # seconds a socket must stay silent to count as "not poked"


class Socket:
    """One desktop's live link, as ``WebSocketPokes`` opens it."""

    def __init__(self, server: RunningServer, login: str, client_id: uuid.UUID | None) -> None:
        self._stack = contextlib.ExitStack()
        api = ServerApi(server.url)
        self._stack.callback(api.close)
        self.client_id = client_id
        try:
            api.sign_in(login, PASSWORD, f"ws-{login}")
            url = api.ws_url + ("" if client_id is None else f"?client_id={client_id}")
            self.ws: ClientConnection = self._stack.enter_context(
                connect(
                    url,
                    additional_headers={"Authorization": f"Bearer {api.token}"},
                    open_timeout=10,
                )
            )
        except BaseException:
            self._stack.close()
            raise
        # The connect poke: the server sends it after the socket's pins are loaded.
        assert self.poked(10)

    def poked(self, timeout: float) -> bool:
        """True when a poke arrives within ``timeout`` seconds (heartbeats skipped)."""
        try:
            while True:
                if json.loads(self.ws.recv(timeout))["type"] == "poke":
                    return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self._stack.close()


@pytest.fixture
def sockets(server: RunningServer) -> Iterator[Callable[..., Socket]]:
    made: list[Socket] = []

    def open_socket(
        login: str, client_id: uuid.UUID | None = None, *, named: bool = True
    ) -> Socket:
        """``named=False``: an older desktop that sends no client id."""
        sock = Socket(server, login, (client_id or uuid.uuid4()) if named else None)
        made.append(sock)
        return sock

    yield open_socket
    for sock in made:
        sock.close()


def _match(desk: Desktop, number: str) -> list[str]:
    """A screen pop on ``desk``: the server pins the matching customers to it."""
    body: Any = desk.api.request(
        "POST",
        "/customers/match",
        params={"client_id": str(desk.syncer.client_id)},
        json={"number": number},
    )
    return [c["id"] for c in body["candidates"]]


def _created_elsewhere(desktop: Callable[..., Desktop]) -> tuple[Desktop, dict[str, Any]]:
    """An alice desktop that created (and pushed) a customer; it holds it, nobody else."""
    writer = desktop("alice")
    customer = person()
    writer.writer.write("customer.create", customer)
    writer.syncer.cycle()
    return writer, customer


def _woken_by(server: RunningServer, action: Callable[[], None], first: Socket) -> int:
    """How many sockets the change made by ``action`` woke (once ``first`` got its poke)."""
    hub = server.ctx.hub
    before = hub.woken
    action()
    assert first.poked(10)
    return hub.woken - before


def test_a_change_pokes_the_desktop_holding_the_customer_and_the_team_not_others(
    server: RunningServer, desktop: Callable[..., Desktop], sockets: Callable[..., Socket]
) -> None:
    writer, customer = _created_elsewhere(desktop)  # no socket: its pokes are not counted
    holder = desktop("alice")
    held = sockets("alice", holder.syncer.client_id)  # alice's desktop that pops the customer
    team = sockets("alice")  # another team B desktop, holding nothing
    other = sockets("bob")  # team A, holding nothing
    assert str(customer["id"]) in _match(holder, "+447700900123")  # pinned while connected

    def patch() -> None:
        writer.writer.write(
            "customer.patch", {"id": customer["id"], "changes": {"family_name": "King"}}
        )
        writer.syncer.cycle()

    assert _woken_by(server, patch, held) == 1
    assert not team.poked(QUIET)
    assert not other.poked(QUIET)

    case = ticket(customer_id=str(customer["id"]), team_id=str(REF.team_b))

    def open_ticket() -> None:
        writer.writer.write("ticket.create", case)
        writer.syncer.cycle()

    assert _woken_by(server, open_ticket, held) == 2  # the holder and team B's other desktop
    assert team.poked(10)
    assert not other.poked(QUIET)


def test_a_customer_created_on_a_desktop_is_held_by_it_at_once(
    server: RunningServer, desktop: Callable[..., Desktop], sockets: Callable[..., Socket]
) -> None:
    creator = desktop("alice")
    own = sockets("alice", creator.syncer.client_id)
    sockets("bob")
    customer = person()

    def create() -> None:  # the authorizer pins it to the creator, in memory too
        creator.writer.write("customer.create", customer)
        creator.syncer.cycle()

    assert _woken_by(server, create, own) == 1
    assert server.ctx.pins.holds_any(creator.syncer.client_id, frozenset({id_key(customer["id"])}))


def test_a_full_replica_gets_every_poke_and_everything_reaches_all(
    server: RunningServer, desktop: Callable[..., Desktop], sockets: Callable[..., Socket]
) -> None:
    with write_session(server.engine) as s:
        s.execute(
            insert(Agent).values(
                id=uuid.uuid4(),
                login="carol",
                display_name="Carol",
                role=Role.ADMIN,
                password_hash=hash_password(PASSWORD),
            )
        )
    server.ctx.full_replica_roles = frozenset({Role.ADMIN})
    writer, customer = _created_elsewhere(desktop)  # before the sockets: no poke pending
    replica = sockets("carol")
    other = sockets("bob")
    old = sockets("bob", named=False)  # an older desktop that names no client id

    def patch() -> None:
        writer.writer.write(
            "customer.patch", {"id": customer["id"], "changes": {"family_name": "Byron"}}
        )
        writer.syncer.cycle()

    assert _woken_by(server, patch, replica) == 2  # the replica and the unnamed desktop
    assert old.poked(10)  # no client id: poked for everything, as before
    assert not other.poked(QUIET)

    def server_write() -> None:  # a server-side write says nothing about whom it concerns
        server.ctx.store.write("customer.create", person(), "server")

    assert _woken_by(server, server_write, replica) == 3
    assert other.poked(10)
    assert old.poked(10)


def test_a_desktop_of_another_agent_is_refused(
    server: RunningServer, desktop: Callable[..., Desktop]
) -> None:
    bobs = desktop("bob")
    bobs.writer.write("customer.create", person())
    bobs.syncer.cycle()  # a push: the client id is now bound to bob
    with pytest.raises(Exception, match=r"403"):
        Socket(server, "alice", bobs.syncer.client_id)


def test_a_change_payload_round_trips_and_unreadable_ones_mean_everything() -> None:
    team, customer = uuid.uuid4(), uuid.uuid4()
    change = Change.of([{"team_id": team, "customer_id": customer}, {"team_id": None}])
    assert Change.parse(change.payload()) == change
    assert change.teams == {id_key(team)} and change.customers == {id_key(customer)}
    for old in ("", "1a2b3c4d", "null", "[1]", '{"c":["zz"]}', ALL_PAYLOAD):
        assert Change.parse(old) == EVERYTHING
    many = Change.of([{"customer_id": uuid.uuid4()} for _ in range(1000)])
    assert many.payload() == ALL_PAYLOAD  # beyond PostgreSQL's 8000-byte limit


def test_a_closed_socket_is_let_go_at_once_not_at_the_next_heartbeat(
    server: RunningServer, sockets: Callable[..., Socket]
) -> None:
    """Its handler ended only at the next heartbeat (20 s): the subscription stayed woken
    by every change meanwhile, and a server stopping waited for it (every GUI test's
    server took its full 10 s stop time and was left running)."""
    hub = server.ctx.hub
    sock = sockets("alice")
    assert hub.clients == 1
    started = time.monotonic()
    sock.close()
    deadline = started + HEARTBEAT / 4
    while hub.clients and time.monotonic() < deadline:
        time.sleep(0.02)
    assert hub.clients == 0, f"still subscribed {time.monotonic() - started:.1f} s after the close"
