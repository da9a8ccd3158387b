"""The abandoned-call worklist and callback tasks, asked of the server.

The same dataclasses back as the services build (``services/supervisor/abandoned*.py``),
so the worklist view does not care where they were computed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from agentdesk.client.api import ServerApi
from agentdesk.services.supervisor.abandoned import AbandonedRow, Worklist
from agentdesk.services.supervisor.abandoned_callback import CallbackCreated

_WORKLIST = TypeAdapter(Worklist)
_CREATED = TypeAdapter(CallbackCreated)


@dataclass(frozen=True)
class Targets:
    """Who a callback can go to: (id, name) of the active agents and of the teams."""

    agents: tuple[tuple[uuid.UUID, str], ...]
    teams: tuple[tuple[uuid.UUID, str], ...]


class ServerAbandoned:
    """``GET /supervisor/abandoned`` and ``POST /supervisor/abandoned/callback``."""

    def __init__(self, api: ServerApi) -> None:
        self._api = api

    def worklist(self, start: dt.date | dt.datetime, end: dt.date | dt.datetime) -> Worklist:
        params = {"start": start.isoformat(), "end": end.isoformat()}
        return _WORKLIST.validate_python(
            self._api.request("GET", "/supervisor/abandoned", params=params)
        )

    def targets(self) -> Targets:
        data = self._api.request("GET", "/supervisor/abandoned/targets")
        return Targets(
            agents=tuple((uuid.UUID(a["id"]), str(a["name"])) for a in data["agents"]),
            teams=tuple((uuid.UUID(t["id"]), str(t["name"])) for t in data["teams"]),
        )

    def callback(
        self,
        row: AbandonedRow,
        *,
        agent_id: uuid.UUID | None = None,
        team_id: uuid.UUID | None = None,
    ) -> CallbackCreated:
        body: dict[str, Any] = {"number": row.number, "queue": row.queue, "wait_s": row.wait_s}
        if agent_id is not None:
            body["agent_id"] = str(agent_id)
        if team_id is not None:
            body["team_id"] = str(team_id)
        if row.customer is not None and row.customer.id is not None:
            body["customer_id"] = str(row.customer.id)
        data = self._api.request("POST", "/supervisor/abandoned/callback", json=body)
        return _CREATED.validate_python(data)
