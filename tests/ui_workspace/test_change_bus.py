"""The change bus: own saves and a colleague's changes appear on screen without any refresh.

These run the real desktop (``agentdesk.app.build_desktop``) signed in to a real
server on a loopback thread with the PBX simulator (``tests/ui/conftest.py``). The
colleague is a second desktop as the server sees it: a session, an encrypted cache,
a ``LocalWriter`` and a ``Syncer`` pushing to the same server.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from agentdesk.client.api import ServerApi
from agentdesk.client.central import HttpCentral
from agentdesk.ids import uuid7
from agentdesk.models import Agent, Team, agent_team
from agentdesk.services.desk.screen_pop import CallPhase
from agentdesk.services.tickets.service import TicketService
from agentdesk.services.tickets.sla import load_policy
from agentdesk.store.engine import read_session, write_session
from agentdesk.store.sync import Syncer, SyncScope
from agentdesk.store.sync.local import LocalStore
from agentdesk.store.writer import LocalWriter
from agentdesk.ui.change_bus import ChangeBus, Changes
from agentdesk.ui.tickets.pane import TicketPane
from agentdesk.ui.workspace.view import CustomerWorkspace
from tests.sync.conftest import make_cache
from tests.ui.conftest import desk_factory  # noqa: F401 - the real desktop fixture
from tests.ui.data import PASSWORD, add_agent, add_customer

pytestmark = pytest.mark.gui
WAIT_MS = 15_000


def _add_cards_team(central: Engine, *logins: str) -> uuid.UUID:
    """The "Cards" team (routing sends card_lost there, round robin) with ``logins``."""
    team_id = uuid7()
    with write_session(central) as s:
        s.execute(insert(Team), [{"id": team_id, "name": "Cards"}])
        agents = s.scalars(select(Agent.id).where(Agent.login.in_(logins))).all()
        s.execute(insert(agent_team), [{"agent_id": a, "team_id": team_id} for a in agents])
    return team_id


def _agent_id(engine: Engine, login: str) -> uuid.UUID:
    with read_session(engine) as s:
        return s.scalars(select(Agent.id).where(Agent.login == login)).one()


def _workspace(desk: Any, customer_id: uuid.UUID) -> CustomerWorkspace:
    found: list[CustomerWorkspace] = [
        w for w in desk.window.findChildren(CustomerWorkspace) if w.customer_id == customer_id
    ]
    assert found, "no workspace open for the customer"
    return found[0]


def _my_tickets(desk: Any) -> TicketPane:
    panes: list[TicketPane] = [
        p for p in desk.window.findChildren(TicketPane) if p.accessibleName() == "My tickets"
    ]
    assert len(panes) == 1
    return panes[0]


def _timeline_has(workspace: CustomerWorkspace, source_id: uuid.UUID) -> bool:
    model = workspace.timeline.model
    return any(
        (e := model.entry_at(n)) is not None and e.source_id == source_id
        for n in range(model.entry_count())
    )


def _selected_key(workspace: CustomerWorkspace) -> str | None:
    index = workspace.timeline.list.currentIndex()
    entry = workspace.timeline.model.entry_at(index.row()) if index.isValid() else None
    return entry.key if entry is not None else None


def test_a_wrap_ups_follow_up_ticket_appears_in_the_open_workspace_and_my_tickets(
    desk_factory: Any,  # noqa: F811
) -> None:
    ids: dict[str, Any] = {}

    def seed(central: Engine) -> None:
        _add_cards_team(central, "alice")
        ids["cid"] = add_customer(central, "Olga Nowak", "+447700900131", open_tickets=0)

    desk = desk_factory(auto_answer=True, seed=seed)
    placed = desk.call("+447700900131", intent="card_lost")
    desk.wait_pop(placed)
    desk.qtbot.waitUntil(
        lambda: (
            (c := desk.controller.current_call()) is not None and c.phase is CallPhase.CONNECTED
        ),
        timeout=WAIT_MS,
    )
    workspace = _workspace(desk, ids["cid"])
    mine = _my_tickets(desk)
    desk.qtbot.waitUntil(lambda: workspace.timeline.model.entry_count() == 2, timeout=WAIT_MS)
    workspace.timeline.list.setCurrentIndex(workspace.timeline.model.index(1))
    selected = _selected_key(workspace)
    assert selected is not None and mine.model.rowCount() == 0

    desk.controller.hangup()
    form = desk.window.wrapup
    desk.qtbot.waitUntil(lambda: form.context is not None, timeout=WAIT_MS)
    form.set_disposition("ticket")
    form.follow_up_title.setText("Send replacement card")
    with desk.qtbot.waitSignal(desk.controller.wrapups.saved, timeout=WAIT_MS) as saved:
        form.save()
    ticket_id, interaction_id = saved.args[0].ticket_id, saved.args[0].interaction_id
    assert ticket_id is not None

    # Nobody presses Refresh: the bus brings both writes to the screens that show them.
    desk.qtbot.waitUntil(
        lambda: _timeline_has(workspace, ticket_id) and _timeline_has(workspace, interaction_id),
        timeout=WAIT_MS,
    )
    desk.qtbot.waitUntil(lambda: mine.model.find(ticket_id) >= 0, timeout=WAIT_MS)
    desk.qtbot.waitUntil(lambda: workspace.tickets.model.find(ticket_id) >= 0, timeout=WAIT_MS)
    assert mine.status.text() == "1 ticket"
    # In place: the entry the agent had selected is still the selected one.
    assert _selected_key(workspace) == selected
    # And the save was confirmed where the agent looks.
    assert "Wrap-up and its follow-up ticket saved" in desk.window.status.notice.text()


def test_a_colleagues_change_pulled_from_the_server_appears_without_a_refresh(
    desk_factory: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    ids: dict[str, Any] = {}

    def seed(central: Engine) -> None:
        add_agent(central, "bob", "PJSIP/1002")
        _add_cards_team(central, "alice", "bob")
        ids["cid"] = add_customer(central, "Kwame Okafor", "+447700900177", open_tickets=0)

    desk = desk_factory(seed=seed)
    desk.window.open_customer(ids["cid"])
    workspace = _workspace(desk, ids["cid"])
    mine = _my_tickets(desk)
    desk.qtbot.waitUntil(lambda: workspace.timeline.model.entry_count() == 2, timeout=WAIT_MS)
    assert mine.model.rowCount() == 0

    # Bob, on his own desktop, opens a ticket for this customer and hands it to Alice.
    api = ServerApi(desk.desktop.server.api.base_url)
    grant = api.sign_in("bob", PASSWORD, "ws-bob")
    engine = make_cache(tmp_path / "bob-cache.db")
    try:
        scope = SyncScope(
            team_ids=grant.team_ids, agent_id=grant.agent_id, full_replica=grant.full_replica
        )
        syncer = Syncer(LocalStore(engine), HttpCentral(api), scope, "bob")
        syncer.ensure_filled()
        tickets = TicketService(engine, LocalWriter(engine, "bob"), load_policy(), grant.agent_id)
        alice = _agent_id(engine, "alice")
        ticket = tickets.create(
            reason="card_lost",
            title="Card retained by an ATM",
            customer_id=ids["cid"],
            assignee_id=alice,
            now=dt.datetime.now(dt.UTC),
        )
        syncer.push_all()
    finally:
        api.close()
        engine.dispose()

    # Alice's desktop pulls it (the server pokes its live link) and every screen shows it.
    desk.qtbot.waitUntil(lambda: _timeline_has(workspace, ticket.id), timeout=WAIT_MS)
    desk.qtbot.waitUntil(lambda: mine.model.find(ticket.id) >= 0, timeout=WAIT_MS)
    desk.qtbot.waitUntil(lambda: workspace.tickets.model.find(ticket.id) >= 0, timeout=WAIT_MS)


def test_the_bus_gathers_a_burst_into_one_value_with_the_customers_it_touches(
    qtbot: Any, bridge: Any
) -> None:
    customer, other = uuid7(), uuid7()
    bus = ChangeBus(bridge, lambda pairs: frozenset({customer}))
    busy = threading.Event()
    bridge.submit(busy.wait, 5)  # the local lane is busy (a write): changes wait and gather
    with qtbot.waitSignal(bus.changed, timeout=5000) as got:
        bus.publish([("ticket", other)], "local")
        bus.publish([("interaction", other)], "server")
        busy.set()
    changes: Changes = got.args[0]
    assert changes.ids("ticket") == {other} and changes.touches("interaction")
    assert changes.touches_customer(customer) and not changes.touches_customer(other)
    assert changes.origins == {"local", "server"} and not changes.everything
    with qtbot.waitSignal(bus.changed, timeout=5000) as filled:
        bus.publish([("cache", uuid.UUID(int=0))], "server")
    assert filled.args[0].everything and filled.args[0].touches_customer(other)
