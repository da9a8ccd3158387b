"""A migrated store with the routing teams, an agent and customers built for eligibility."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from agentdesk.ids import uuid7
from agentdesk.models import Agent, Customer, IdentityDocument, Product, Team, agent_team
from agentdesk.services.orders.catalogue import load_catalogue
from agentdesk.services.orders.service import OrderService
from agentdesk.services.tickets.plan import TicketPlanner
from agentdesk.services.tickets.routing import load_rules
from agentdesk.services.tickets.sla import load_policy
from agentdesk.store import migrate
from agentdesk.store.engine import sqlite_engine
from agentdesk.store.writer import LocalWriter
from tests.ui_workspace.builders import BASE_TIME, _customer_row, _insert

NOW = dt.datetime(2026, 12, 8, 10, 0, tzinfo=dt.UTC)  # a Tuesday, office hours in London
TEAMS = ("Everyday Banking", "Cards", "Back Office", "Business Banking", "Loans & Mortgages")


@dataclass
class Shop:
    engine: Engine
    service: OrderService
    teams: dict[str, uuid.UUID]
    agent_id: uuid.UUID

    def customer(
        self,
        *,
        held: tuple[str, ...] = ("current",),
        verified_document: bool = True,
        **extra: Any,
    ) -> uuid.UUID:
        cid = uuid7()
        given = extra.pop("given", "Amelia")
        _insert(self.engine, Customer, iter([_customer_row(cid, given, "Okafor", **extra)]))
        for kind in held:
            _insert(
                self.engine,
                Product,
                iter(
                    [
                        {
                            "id": uuid7(),
                            "customer_id": cid,
                            "kind": kind,
                            "name": kind.title(),
                            "number_last4": "1234",
                            "status": "active",
                            "currency": "GBP",
                            "source_system": "core-banking",
                            "as_of": BASE_TIME,
                        }
                    ]
                ),
            )
        _insert(
            self.engine,
            IdentityDocument,
            iter(
                [
                    {
                        "id": uuid7(),
                        "customer_id": cid,
                        "kind": "passport",
                        "number_masked": "•••••1234",
                        "issuing_country": "GB",
                        "expires_on": dt.date(2031, 1, 1),
                        "verified": verified_document,
                        "created_at": BASE_TIME,
                    }
                ]
            ),
        )
        return cid


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = sqlite_engine(tmp_path / "store.db")
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def shop(engine: Engine) -> Shop:
    teams = {name: uuid7() for name in TEAMS}
    agent_id = uuid7()
    with engine.begin() as conn:
        conn.execute(insert(Team), [{"id": i, "name": n} for n, i in teams.items()])
        conn.execute(
            insert(Agent),
            [
                {
                    "id": agent_id,
                    "login": "alice",
                    "display_name": "Alice Agent",
                    "password_hash": "x",
                    "role": "agent",
                    "active": True,
                    "created_at": BASE_TIME,
                }
            ],
        )
        conn.execute(insert(agent_team), [{"agent_id": agent_id, "team_id": teams["Cards"]}])
    policy = load_policy()
    planner = TicketPlanner(engine, policy, load_rules(reasons=policy.reasons))
    service = OrderService(
        engine,
        LocalWriter(engine, actor="alice"),
        planner,
        load_catalogue(),
        agent_id,
        clock=lambda: NOW,
    )
    return Shop(engine, service, teams, agent_id)
