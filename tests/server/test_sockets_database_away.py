"""WebSockets while the central database does not answer (found in the 2,000-desktop run).

During a PostgreSQL primary restart every ``/live`` socket whose heartbeat came
due asked for its session, got ``OperationalError`` and died with a traceback in
the server log: 396 desktops dropped and reconnected at once. Now an open socket
is kept (its session was checked when it opened; it is asked again at the next
heartbeat) and a socket opening meanwhile is closed with 1013, "try again later",
which the desktop's back-off handles, and leaves no pin count behind.
Fault injected by making the session check raise as psycopg does.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from agentdesk.client.api import ServerApi
from agentdesk.models import Agent, Role
from agentdesk.server.api import live
from agentdesk.server.auth import TRY_AGAIN_LATER
from agentdesk.store.engine import write_session
from tests.server.conftest import RunningServer


class _Away:
    """Stands in for ``SignInService.authenticate`` while the database is down."""

    def __init__(self) -> None:
        self.asked = 0

    def __call__(self, token: str) -> Any:
        self.asked += 1
        raise OperationalError("SELECT auth_session", {}, ConnectionRefusedError("refused"))


def _open(server: RunningServer, api: ServerApi, path: str) -> ClientConnection:
    url = server.url.replace("http", "ws", 1) + path
    return connect(url, additional_headers={"Authorization": f"Bearer {api.token}"},
                   open_timeout=10)  # fmt: skip


def _next(ws: ClientConnection, timeout: float = 10) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.recv(timeout))
    return message


@pytest.mark.parametrize(
    "path",
    ["/api/v1/live?client_id={client}", "/api/v1/cti/floor", "/api/v1/cti?client_id={client}"],
)
def test_a_socket_opening_while_the_database_is_away_is_told_to_try_again_later(
    server: RunningServer, alice: ServerApi, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    if "floor" in path:  # the floor is for supervisors
        with write_session(server.engine) as s:
            s.execute(update(Agent).where(Agent.login == "alice").values(role=Role.SUPERVISOR))
    client = uuid.uuid4()
    away = _Away()
    monkeypatch.setattr(server.ctx.signin, "authenticate", away)
    with (
        _open(server, alice, path.format(client=client)) as ws,
        pytest.raises(ConnectionClosed) as closed,
    ):
        ws.recv(10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == TRY_AGAIN_LATER
    assert "database" in closed.value.rcvd.reason
    assert away.asked == 1
    assert server.ctx.pins.count(client) == 0
    monkeypatch.undo()  # the database is back: the same desktop connects
    with _open(server, alice, path.format(client=client)) as ws:
        if "/cti?" in path:  # this server has no PBX: refused for that, past the session
            with pytest.raises(ConnectionClosed) as refused:
                ws.recv(10)
            assert refused.value.rcvd is not None and refused.value.rcvd.code == 4403
        else:
            assert _next(ws)["type"] in {"poke", "floor"}


def test_an_open_live_socket_is_kept_through_a_database_outage(
    server: RunningServer, alice: ServerApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "HEARTBEAT", 0.2)
    with _open(server, alice, f"/api/v1/live?client_id={uuid.uuid4()}") as ws:
        assert _next(ws)["type"] == "poke"  # the connect poke
        away = _Away()
        monkeypatch.setattr(server.ctx.signin, "authenticate", away)
        for _ in range(3):  # heartbeats keep coming, each after a failed session check
            assert _next(ws)["type"] == "heartbeat"
        assert away.asked >= 2
        monkeypatch.setattr(server.ctx.signin, "authenticate", lambda token: None)
        with pytest.raises(ConnectionClosed) as closed:  # back, and the session has ended
            while True:
                _next(ws)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == live.SESSION_CLOSED
