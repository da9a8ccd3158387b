"""Agents' PBX lines, from the ``agent`` table (never from a desktop).

Every call here blocks on the database: the gateway calls them in a worker
thread (``asyncio.to_thread`` / ``run_in_threadpool``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Engine, select

from agentdesk.models import Agent, Role
from agentdesk.models.org import agent_team
from agentdesk.services.desk.call_requests import AgentLine
from agentdesk.store.engine import read_session


@dataclass(frozen=True)
class AgentRecord:
    """One agent as the gateway needs them: who, their line (None: no interface), teams."""

    agent_id: uuid.UUID
    login: str
    role: Role
    line: AgentLine | None
    team_ids: frozenset[uuid.UUID]


class AgentDirectory:
    """Reads agents and their lines; inactive agents have no line."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _one(self, where: ColumnElement[bool]) -> AgentRecord | None:
        with read_session(self._engine) as s:
            agent = s.scalars(select(Agent).where(where)).first()
            if agent is None:
                return None
            teams = s.scalars(select(agent_team.c.team_id).where(agent_team.c.agent_id == agent.id))
            return AgentRecord(
                agent.id,
                agent.login,
                agent.role,
                AgentLine.from_agent(agent) if agent.active else None,
                frozenset(teams),
            )

    def by_id(self, agent_id: uuid.UUID) -> AgentRecord | None:
        return self._one(Agent.id == agent_id)

    def by_login(self, login: str) -> AgentRecord | None:
        return self._one(Agent.login == login)

    def lines(self) -> dict[str, AgentLine]:
        """Every active agent's line by login."""
        columns = (
            Agent.login,
            Agent.display_name,
            Agent.interface,
            Agent.extension,
            Agent.endpoint,
            Agent.state_interface,
        )
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(*columns).where(Agent.active.is_(True), Agent.interface.is_not(None))
            ).all()
        found: dict[str, AgentLine] = {}
        for row in rows:
            line = AgentLine.from_agent(row)
            if line is not None:
                found[row.login] = line
        return found
