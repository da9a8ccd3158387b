"""Small builders for sync tests: reference rows and mutation arguments."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from agentdesk.ids import uuid7
from agentdesk.models import Agent, Team, agent_team
from agentdesk.store.engine import write_session


@dataclass(frozen=True)
class Reference:
    """Ids of the reference rows every store in a test shares."""

    team_a: uuid.UUID
    team_b: uuid.UUID
    alice: uuid.UUID
    bob: uuid.UUID


REF = Reference(
    team_a=uuid.UUID("0190f000-0000-7000-8000-00000000000a"),
    team_b=uuid.UUID("0190f000-0000-7000-8000-00000000000b"),
    alice=uuid.UUID("0190f000-0000-7000-8000-0000000000a1"),
    bob=uuid.UUID("0190f000-0000-7000-8000-0000000000b0"),
)
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def seed_reference(engine: Engine) -> Reference:
    """Two teams and two agents, identical on every store."""
    with write_session(engine) as s:
        s.add_all([Team(id=REF.team_a, name="Cards"), Team(id=REF.team_b, name="Mortgages")])
        s.add_all(
            [
                Agent(id=REF.alice, login="alice", display_name="Alice", password_hash="x"),
                Agent(id=REF.bob, login="bob", display_name="Bob", password_hash="x"),
            ]
        )
        s.flush()
        s.execute(
            agent_team.insert(),
            [
                {"agent_id": REF.alice, "team_id": REF.team_b},
                {"agent_id": REF.bob, "team_id": REF.team_a},
            ],
        )
    return REF


def person(**extra: Any) -> dict[str, Any]:
    return {
        "id": uuid7(),
        "kind": "person",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "date_of_birth": "1985-12-10",
        "phones": [
            {
                "label": "mobile",
                "number_raw": "07700 900123",
                "e164": "+447700900123",
                "is_primary": True,
            }
        ],
        "emails": [{"label": "personal", "address": "Ada@Example.org"}],
        "addresses": [
            {"label": "home", "line1": "1 Analytical Row", "city": "London", "country": "GB"}
        ],
        **extra,
    }


def ticket(**extra: Any) -> dict[str, Any]:
    return {
        "id": uuid7(),
        "reason": "card_lost",
        "title": "Lost card",
        "team_id": REF.team_a,
        "first_response_due": NOW + dt.timedelta(hours=1),
        "resolution_due": NOW + dt.timedelta(days=1),
        **extra,
    }
