"""A Qt-free desk session on real SQLite stores, with hand-cranked ports."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from agentdesk.models import Role
from agentdesk.services.crm.caller_match import CallerMatcher
from agentdesk.services.desk.agent_state import AgentStateMachine, load_policy
from agentdesk.services.desk.drafts import DraftStore
from agentdesk.services.desk.session import DeskOptions, DeskSession
from agentdesk.services.desk.wrapup import WrapUpService, load_dispositions
from agentdesk.services.platform.auth import AgentIdentity
from agentdesk.store import migrate
from agentdesk.store.engine import sqlite_engine
from agentdesk.store.writer import LocalWriter
from tests.services.desk.fakes import (
    CountingMatcher,
    FakeClock,
    QueuedRunner,
    Recorder,
    Rows,
    Sent,
)
from tests.ui.ami_events import AGENT_IFACE, member
from tests.ui.data import add_agent


@dataclass
class Desk:
    """One agent's session and everything around it."""

    session: DeskSession
    clock: FakeClock
    runner: QueuedRunner
    seen: Recorder
    sent: Sent
    local: Engine
    central: Engine
    local_matcher: CountingMatcher
    central_matcher: CountingMatcher | None
    agent_id: uuid.UUID
    cached: list[uuid.UUID] = field(default_factory=list)

    def online(self, *queues: tuple[str, bool, str]) -> None:
        """Link up and a resync: ``(queue, paused, reason)`` rows for this agent."""
        self.session.link_changed("connected", "")
        rows = [member("QueueMember", queue=q, paused=p, reason=r) for q, p, r in queues]
        self.session.resync(Rows(rows))

    def event(self, event: Any) -> None:
        self.session.handle_event(event, 0.0)

    def pauses(self) -> list[Any]:
        return [r for r in self.sent.requests if r.kind == "pause"]


@dataclass
class DeskMaker:
    tmp_path: Path
    made: list[Engine] = field(default_factory=list)
    engines: dict[str, Engine] = field(default_factory=dict)

    def engine(self, name: str) -> Engine:
        if name not in self.engines:
            engine = sqlite_engine(self.tmp_path / f"{name}.db")
            migrate.upgrade(engine)
            self.engines[name] = engine
            self.made.append(engine)
        return self.engines[name]

    def __call__(
        self,
        *,
        acw_limit: int = 120,
        central: bool = True,
        clock: FakeClock | None = None,
        agent_id: uuid.UUID | None = None,
    ) -> Desk:
        local, centre = self.engine("cache"), self.engine("central")
        if agent_id is None:
            agent_id = add_agent([local, centre])
        clock = clock or FakeClock()
        runner, seen, sent = QueuedRunner(), Recorder(), Sent()
        policy = load_policy(acw_limit_seconds=acw_limit)
        writer = LocalWriter(local, "alice")
        wrapup = WrapUpService(
            writer, load_dispositions(), extra_codes=(policy.acw_timeout_disposition,)
        )
        local_matcher = CountingMatcher(CallerMatcher(local, source="local"))
        central_matcher = (
            CountingMatcher(CallerMatcher(centre, source="central")) if central else None
        )
        identity = AgentIdentity(agent_id, "alice", "Alice Agent", Role.AGENT, AGENT_IFACE, "1001")
        cached: list[uuid.UUID] = []
        session = DeskSession(
            identity,
            state=AgentStateMachine(AGENT_IFACE, policy, clock=clock.now),
            local=local_matcher,
            central=central_matcher,
            wrapup=wrapup,
            send=sent,
            clock=clock,
            runner=runner,
            listener=seen,
            options=DeskOptions(),
            drafts=DraftStore(local),
            cache_customer=cached.append,
        )
        return Desk(
            session,
            clock,
            runner,
            seen,
            sent,
            local,
            centre,
            local_matcher,
            central_matcher,
            agent_id,
            cached,
        )


@pytest.fixture
def make_desk(tmp_path: Path) -> Iterator[DeskMaker]:
    maker = DeskMaker(tmp_path)
    yield maker
    for engine in maker.made:
        engine.dispose()
