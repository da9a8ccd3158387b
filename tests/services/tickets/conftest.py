"""Ticket service fixtures: the site's teams and agents, and a writer that applies as the centre."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from agentdesk.ids import uuid7
from agentdesk.models import Agent, Team, agent_team, utcnow
from agentdesk.services.tickets.service import TicketService
from agentdesk.services.tickets.sla import load_policy
from agentdesk.store.engine import write_session
from agentdesk.store.mutation_args.base import MutationArgs
from agentdesk.store.mutations import MutationContext, apply_mutation
from agentdesk.store.writer import LocalWriter, WriteResult

TEAMS = ("Everyday Banking", "Cards", "Fraud & Disputes", "Back Office", "Loans & Mortgages")


@dataclass(frozen=True)
class Site:
    """Team ids by name and agent ids by login; alice and bob are in Cards, carol in Fraud."""

    teams: dict[str, uuid.UUID]
    agents: dict[str, uuid.UUID]


def add_site(engine: Engine, members: Mapping[str, tuple[str, ...]] | None = None) -> Site:
    members = members or {
        "alice": ("Cards",),
        "bob": ("Cards",),
        "carol": ("Fraud & Disputes",),
        "dan": ("Fraud & Disputes",),
    }
    teams = {name: uuid7() for name in TEAMS}
    agents = {login: uuid7() for login in members}
    with engine.begin() as conn:
        conn.execute(insert(Team), [{"id": i, "name": n} for n, i in teams.items()])
        conn.execute(
            insert(Agent),
            [
                {
                    "id": i,
                    "login": login,
                    "display_name": login.title(),
                    "password_hash": "x",
                    "role": "agent",
                    "active": True,
                }
                for login, i in agents.items()
            ],
        )
        conn.execute(
            insert(agent_team),
            [
                {"agent_id": agents[login], "team_id": teams[t]}
                for login, ts in members.items()
                for t in ts
            ],
        )
    return Site(teams, agents)


class CentreWriter(LocalWriter):
    """Applies each mutation as the server does when a desktop's push arrives (central side)."""

    def write(
        self,
        name: str,
        args: MutationArgs | Mapping[str, Any],
        base_versions: dict[str, Any] | None = None,
    ) -> WriteResult:
        ctx = MutationContext(actor=self.actor, side="central", now=utcnow(), client_id=uuid7())
        with write_session(self._engine) as session:
            outcome = apply_mutation(session, name, args, ctx)
        return WriteResult(uuid7(), 0, outcome.result, tuple(outcome.changed))


class Clock:
    """An injected clock the test moves by hand."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def site(central: Engine) -> Site:
    return add_site(central)


@pytest.fixture
def make_service(central: Engine, site: Site) -> Callable[..., TicketService]:
    def make(
        login: str = "alice", *, at_centre: bool = False, clock: Clock | None = None
    ) -> TicketService:
        writer = (CentreWriter if at_centre else LocalWriter)(central, login)
        return TicketService(
            central, writer, load_policy(), site.agents.get(login), clock=clock or utcnow
        )

    return make
