"""Customer Orders Product end to end on the real desktop (issue 13's COP swimlane).

The real main window signed in through a real server on loopback, the PBX simulator
placing the call: a caller the IVR verified → the pop and the caller's workspace → the
agent opens Order…, sees the catalogue with the customer's eligibility and places an
eligible product → the order goes out through the outbox and becomes a fulfilment
ticket in the Back Office team's queue (routed, assigned, with its SLA) → bob, of the
back office, finds it in his team's ticket pane and moves it along in the order dialog
(the desktop's widgets over his own cache, outbox and sync, authorised by the server)
→ the site's scheduler mails the customer at each step (aiosmtpd on loopback) → every
message is on the customer's timeline in alice's window, pulled live. No sleeps:
signals, sync cycles and scheduler ticks, each bounded.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from agentdesk.client.api import ServerApi
from agentdesk.client.central import HttpCentral
from agentdesk.models import Team, Ticket, agent_team
from agentdesk.server.app import build_context
from agentdesk.server.scheduler import SchedulerSettings, build_scheduler
from agentdesk.server.settings import ServerSettings
from agentdesk.services.desk.screen_pop import ChangeKind
from agentdesk.services.orders.catalogue import load_catalogue
from agentdesk.services.orders.service import OrderService, OrderStatus
from agentdesk.services.tickets.plan import TicketPlanner
from agentdesk.services.tickets.routing import load_rules
from agentdesk.services.tickets.service import TicketService
from agentdesk.services.tickets.sla import load_policy
from agentdesk.store.engine import read_session, write_session
from agentdesk.store.sync import Syncer, SyncScope
from agentdesk.store.sync.local import LocalStore
from agentdesk.store.writer import LocalWriter
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.orders.dialog import OrderDialog
from agentdesk.ui.tickets.pane import TicketPane
from agentdesk.ui.workspace.view import CustomerWorkspace
from tests.services.notifications.conftest import Relay, relay  # noqa: F401 - the fixture
from tests.sync.conftest import make_cache
from tests.ui.conftest import IFACE
from tests.ui.data import PASSWORD, add_agent
from tests.ui_workspace.builders import FIELD_KEYRING
from tests.ui_workspace.builders import add_customer as add_full_customer

pytestmark = pytest.mark.gui

BACK_OFFICE = uuid.UUID("0190f000-0000-7000-8000-0000000000bf")
PHONE = "+447700900123"
TICKS = 20  # scheduler ticks allowed for one notification to go out


def _seed(ids: dict[str, Any]) -> Any:
    def seed(central: Engine) -> None:
        ids["customer"] = add_full_customer(
            central,
            "Ada",
            "Lovelace",
            phone=PHONE,
            email="ada.lovelace@example.org",
            preferred_channel="email",
        )
        ids["bob"] = add_agent(central, "bob", "PJSIP/1002")
        with write_session(central) as s:  # the back office: bob, in a team of his own
            s.execute(insert(Team).values(id=BACK_OFFICE, name="Back Office"))
            s.execute(insert(agent_team).values(agent_id=ids["bob"], team_id=BACK_OFFICE))

    return seed


class BackOffice:
    """Bob's desktop as the server sees it: signed in, his own cache, outbox and syncer."""

    def __init__(self, url: str, tmp: Any, agent_id: uuid.UUID) -> None:
        self.api = ServerApi(url)
        grant = self.api.sign_in("bob", PASSWORD, "ws-bob")
        self.engine = make_cache(tmp / "bob-cache.db")
        scope = SyncScope(
            team_ids=grant.team_ids, agent_id=grant.agent_id, full_replica=grant.full_replica
        )
        self.syncer = Syncer(LocalStore(self.engine), HttpCentral(self.api), scope, "bob")
        self.syncer.ensure_filled()
        writer = LocalWriter(self.engine, "bob")
        policy = load_policy()
        planner = TicketPlanner(self.engine, policy, load_rules(reasons=policy.reasons))
        self.orders = OrderService(self.engine, writer, planner, load_catalogue(), agent_id)
        self.tickets = TicketService(self.engine, writer, policy, agent_id)

    def close(self) -> None:
        self.api.close()
        self.engine.dispose()


def _workspace(desk: Any, customer_id: uuid.UUID) -> CustomerWorkspace:
    def opened() -> bool:
        widget = desk.window.workspace_tabs.currentWidget()
        assert isinstance(widget, CustomerWorkspace) and widget.customer_id == customer_id
        return True

    desk.qtbot.waitUntil(opened, timeout=10_000)
    widget = desk.window.workspace_tabs.currentWidget()
    assert isinstance(widget, CustomerWorkspace)
    return widget


def test_a_verified_caller_orders_on_the_desktop_and_the_back_office_fulfils_it(
    desk_factory: Any,
    relay: Relay,  # noqa: F811
    tmp_path: Any,
) -> None:
    ids: dict[str, Any] = {}
    desk = desk_factory(seed=_seed(ids), time_scale=4.0)  # the IVR's prompts, 4× faster
    desk.sim.run(desk.sim.sim.add_agent, IFACE, "Alice Agent", {"sales": 0})
    cid, qtbot = ids["customer"], desk.qtbot
    ctx = build_context(desk.central, ServerSettings(), cipher=FIELD_KEYRING)
    # The site's scheduler as the server builds it, with mail to aiosmtpd; ticked here.
    scheduler = build_scheduler(
        ctx.store, SchedulerSettings(site="cop", tick_seconds=1), smtp=relay.settings()
    )
    for hook in scheduler.startup:
        hook()

    def mail_until(subject_part: str) -> list[str]:
        for _ in range(TICKS):
            scheduler.tick()
            subjects = [str(m["Subject"]) for m in relay.mailbox.messages]
            if any(subject_part in s for s in subjects):
                return subjects
        raise AssertionError(f"no mail about {subject_part!r}: {subjects}")

    # The call, through the IVR (menu 3: order a product, PIN passed) to the sales queue;
    # the pop, Answer, the caller's workspace.
    placed = desk.call(PHONE, queue=None, intent="order_product", idv="passed")
    pop = desk.wait_pop(placed, timeout=30_000)
    assert pop.call.ivr.verified
    assert pop.chosen == cid
    with qtbot.waitSignal(
        desk.controller.wrapups.call_changed,
        check_params_cb=lambda c: c.kind is ChangeKind.CONNECTED,
        timeout=10_000,
    ):
        desk.window.actions_by_id["answer"].trigger()
    workspace = _workspace(desk, cid)

    # Order… on the workspace: the catalogue with the verdicts; an eligible product.
    assert workspace.order_button.isVisible()
    qtbot.mouseClick(workspace.order_button, _left())
    dialog = workspace.findChild(OrderDialog)
    assert isinstance(dialog, OrderDialog)
    qtbot.waitUntil(lambda: len(dialog.offers.rows) > 0, timeout=10_000)
    assert dialog.verification.text() == "✔ Verified by the IVR (date of birth)"
    verdicts = {v.product.code: v for v in dialog.offers.rows}
    assert verdicts["credit_card"].describe() == "Not eligible: already holds a credit card"
    row = [v.product.code for v in dialog.offers.rows].index("home_insurance")
    dialog.offers_view.selectRow(row)
    with qtbot.waitSignal(dialog.order_placed, timeout=10_000) as placed_order:
        qtbot.mouseClick(dialog.place_button, _left())
    order = placed_order.args[0]
    assert order.status is OrderStatus.PLACED

    # Pushed through the server: a fulfilment ticket in the Back Office's queue, for bob.
    def routed() -> bool:
        with read_session(desk.central) as s:
            ticket = s.get(Ticket, order.ticket_id)
        assert ticket is not None
        assert (ticket.team_id, ticket.assignee_id) == (BACK_OFFICE, ids["bob"])
        assert ticket.resolution_due is not None
        return True

    qtbot.waitUntil(routed, timeout=15_000)
    assert mail_until(f"order {order.number}") == [f"Your order {order.number}: Home insurance"]

    # The back office works its queue in the desktop's own widgets: the order is in the
    # team's ticket pane; in the order dialog bob marks it in fulfilment, then fulfilled.
    bob, bridge = BackOffice(_server_url(desk), tmp_path, ids["bob"]), Bridge()
    try:
        team = TicketPane(bridge, bob.tickets, "team")
        qtbot.addWidget(team)
        team.refresh()
        qtbot.waitUntil(lambda: _numbers(team) == [order.number], timeout=10_000)
        work = OrderDialog(bridge, bob.orders, cid, None)
        qtbot.addWidget(work)
        with qtbot.waitSignal(work.offers_loaded, timeout=10_000):
            work.show()
        assert work.work_row.isVisible()  # a back-office member: the actions are there
        for button, status, subject in (
            (work.start_button, OrderStatus.IN_FULFILMENT, "preparing your order"),
            (work.fulfil_button, OrderStatus.FULFILLED, "complete"),
        ):
            qtbot.waitUntil(lambda: len(work.history.rows) == 1, timeout=10_000)
            work.history_view.selectRow(0)
            with qtbot.waitSignal(work.order_changed, timeout=10_000) as changed:
                qtbot.mouseClick(button, _left())
            assert changed.args[0].status is status
            bob.syncer.cycle()  # bob's outbox to the server
            subjects = mail_until(subject)
        work.close()
    finally:
        bridge.shutdown(wait=True)
        bob.close()
    assert f"We are preparing your order {order.number}" in subjects, subjects
    assert f"Your order {order.number} is complete" in subjects, subjects

    # Alice's window: the messages are on the customer's timeline, pulled live.
    model = workspace.timeline.model

    def on_timeline() -> bool:
        entries = (model.entry_at(r) for r in range(model.entry_count()))
        summaries = [e.summary for e in entries if e is not None]
        assert any(order.number in s and "complete" in s for s in summaries), summaries
        return True

    qtbot.waitUntil(on_timeline, timeout=20_000)


def _numbers(pane: TicketPane) -> list[str]:
    rows = (pane.model.row_at(r) for r in range(pane.model.rowCount()))
    return [row.number for row in rows if row is not None]


def _left() -> Any:
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def _server_url(desk: Any) -> str:
    return str(desk.desktop.server.api.base_url)
