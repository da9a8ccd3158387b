"""A real ``agentdesk server`` on a loopback port, over a real central store, for protocol tests.

Desktops here are protocol clients (``ServerApi`` + ``HttpCentral`` + a
``Syncer`` over an encrypted cache), not Qt windows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, update

from agentdesk.client.api import ServerApi
from agentdesk.client.central import HttpCentral
from agentdesk.models import Agent, Role
from agentdesk.server.app import build_context, create_app
from agentdesk.server.context import ServerContext
from agentdesk.server.run import ServerThread
from agentdesk.server.settings import ListenSettings, ServerSettings
from agentdesk.services.platform.auth import hash_password
from agentdesk.store.engine import write_session
from agentdesk.store.sync import Syncer, SyncScope
from agentdesk.store.sync.local import LocalStore
from agentdesk.store.writer import LocalWriter
from tests.sync.conftest import make_cache
from tests.sync.factories import REF, seed_reference
from tests.ui_workspace.builders import FIELD_KEYRING

PASSWORD = "correct horse"


@dataclass
class RunningServer:
    url: str
    ctx: ServerContext
    engine: Engine
    thread_app: Any


@dataclass
class Desktop:
    """One desktop as the server sees it: a session, a cache, an outbox, a syncer."""

    login: str
    api: ServerApi
    central: HttpCentral
    engine: Engine
    writer: LocalWriter
    syncer: Syncer


@pytest.fixture
def server(central: Engine) -> Iterator[RunningServer]:
    """The server over ``central`` (SQLite and PostgreSQL), alice and bob with a password."""
    seed_reference(central)
    with write_session(central) as s:
        s.execute(update(Agent).values(password_hash=hash_password(PASSWORD)))
        s.execute(update(Agent).where(Agent.id == REF.bob).values(role=Role.AGENT))
    ctx = build_context(central, ServerSettings(), cipher=FIELD_KEYRING)
    app = create_app(ctx)
    thread = ServerThread(app, ListenSettings(host="127.0.0.1", port=0))
    url = thread.start()
    yield RunningServer(url, ctx, central, app)
    thread.stop()


@pytest.fixture
def alice(server: RunningServer) -> Iterator[ServerApi]:
    """Alice's signed-in API client on ``server``."""
    api = ServerApi(server.url)
    api.sign_in("alice", PASSWORD, "ws-alice")
    yield api
    api.close()


@pytest.fixture
def desktop(server: RunningServer, tmp_path: Path) -> Iterator[Callable[..., Desktop]]:
    made: list[Desktop] = []

    def build(login: str, *, fill: bool = True) -> Desktop:
        api = ServerApi(server.url)
        grant = api.sign_in(login, PASSWORD, f"ws-{login}")
        central = HttpCentral(api)
        engine = make_cache(tmp_path / f"{login}-{uuid.uuid4().hex[:6]}.db")
        scope = SyncScope(
            team_ids=grant.team_ids, agent_id=grant.agent_id, full_replica=grant.full_replica
        )
        syncer = Syncer(LocalStore(engine), central, scope, login)
        if fill:
            syncer.ensure_filled()
        desk = Desktop(login, api, central, engine, LocalWriter(engine, login), syncer)
        made.append(desk)
        return desk

    yield build
    for desk in made:
        desk.api.close()
        desk.engine.dispose()
