"""Fixtures for the workspace GUI tests: a migrated store, the real bridge, a signed-in org."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from agentdesk.services.crm.customers import CustomerService
from agentdesk.services.crm.search import SearchService
from agentdesk.services.crm.timeline import TimelineService
from agentdesk.services.tickets.service import TicketService
from agentdesk.services.tickets.sla import load_policy
from agentdesk.store import migrate
from agentdesk.store.engine import sqlite_engine
from agentdesk.store.writer import LocalWriter
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.workspace.context import WorkspaceContext
from tests.ui_workspace.builders import Org, add_org


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "ui_workspace" in str(item.fspath):
            item.add_marker(pytest.mark.gui)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = sqlite_engine(tmp_path / "cache.db")
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def org(engine: Engine) -> Org:
    return add_org(engine)


@pytest.fixture
def bridge(qapp: object) -> Iterator[Bridge]:
    bridge = Bridge()
    yield bridge
    bridge.shutdown(wait=True)


@pytest.fixture
def context(engine: Engine, org: Org, bridge: Bridge) -> WorkspaceContext:
    writer = LocalWriter(engine, actor="alice")
    return WorkspaceContext(
        bridge=bridge,
        customers=CustomerService(engine, writer, workstation="ws-test"),
        timeline=TimelineService(engine, writer),
        tickets=TicketService(engine, writer, load_policy(), org.agent_id),
        search=SearchService(engine),
        agent_id=org.agent_id,
    )
