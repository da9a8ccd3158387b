"""Fixtures for sign-in tests: a settable clock, agents in the central store, a real slapd."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from agentdesk.ids import uuid7
from agentdesk.models import Agent, Role, Team, agent_team
from agentdesk.services.platform.auth import hash_password
from tests.support.slapd import SlapdServer, running_slapd

PASSWORD = "correct horse 42"


class Clock:
    """A clock the test moves by hand, so lockout and expiry need no sleeps."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def add_agent(
    engine: Engine,
    login: str = "alice",
    *,
    password: str = PASSWORD,
    role: Role = Role.AGENT,
    active: bool = True,
    team: str | None = None,
) -> uuid.UUID:
    with Session(engine) as s, s.begin():
        agent = Agent(
            id=uuid7(),
            login=login,
            display_name=f"{login.title()} Agent",
            role=role,
            password_hash=hash_password(password),
            interface=f"PJSIP/{login}",
            extension="1001",
            active=active,
        )
        s.add(agent)
        if team:
            t = Team(id=uuid7(), name=team)
            s.add(t)
            s.flush()
            s.execute(agent_team.insert().values(agent_id=agent.id, team_id=t.id))
        return agent.id


@pytest.fixture(scope="session")
def slapd() -> Iterator[SlapdServer]:
    with running_slapd() as server:
        yield server
