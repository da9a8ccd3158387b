"""The order dialog and the cross-sell strip, driven through the real widgets."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine, insert, select

from agentdesk.ids import uuid7
from agentdesk.models import Interaction, Team, Ticket
from agentdesk.services.desk.call_data import IvrData
from agentdesk.services.orders.catalogue import load_catalogue
from agentdesk.services.orders.cross_sell import CrossSellService, load_rules
from agentdesk.services.orders.service import OrderService
from agentdesk.services.tickets.plan import TicketPlanner
from agentdesk.services.tickets.routing import load_rules as load_routing
from agentdesk.services.tickets.sla import load_policy
from agentdesk.store.engine import read_session
from agentdesk.store.writer import LocalWriter
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.orders.cross_sell import CrossSellStrip
from agentdesk.ui.orders.dialog import OrderDialog
from agentdesk.ui.workspace.context import WorkspaceContext
from tests.ui_workspace.builders import Org, add_customer

PASSED = IvrData(idv_result="passed", idv_method="pin")


@pytest.fixture
def orders(engine: Engine, org: Org) -> OrderService:
    with engine.begin() as conn:
        conn.execute(insert(Team), [{"id": uuid7(), "name": "Back Office"}])
    policy = load_policy()
    planner = TicketPlanner(engine, policy, load_routing(reasons=policy.reasons))
    writer = LocalWriter(engine, actor="alice")
    return OrderService(engine, writer, planner, load_catalogue(), org.agent_id)


def _dialog(
    qtbot: QtBot, bridge: Bridge, orders: OrderService, cid: uuid.UUID, ivr: IvrData | None
) -> OrderDialog:
    dialog = OrderDialog(bridge, orders, cid, ivr)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.offers_loaded, timeout=5000):
        dialog.show()
    return dialog


def _select(dialog: OrderDialog, code: str) -> None:
    row = next(i for i, v in enumerate(dialog.offers.rows) if v.product.code == code)
    dialog.offers_view.selectRow(row)


def test_ineligible_products_show_why_and_cannot_be_ordered(
    qtbot: QtBot, bridge: Bridge, orders: OrderService, engine: Engine
) -> None:
    cid = add_customer(engine)  # holds a current account and a card
    dialog = _dialog(qtbot, bridge, orders, cid, PASSED)
    texts = {v.product.code: v.describe() for v in dialog.offers.rows}
    assert texts["credit_card"] == "Not eligible: already holds a credit card"
    assert dialog.verification.text() == "✔ Verified by the IVR (PIN)"
    assert not dialog.method.isVisible()
    _select(dialog, "credit_card")
    assert not dialog.place_button.isEnabled()
    assert "already holds a credit card" in dialog.error.text()


def test_a_verified_caller_orders_and_the_ticket_is_written(
    qtbot: QtBot, bridge: Bridge, orders: OrderService, engine: Engine
) -> None:
    cid = add_customer(engine)
    dialog = _dialog(qtbot, bridge, orders, cid, PASSED)
    _select(dialog, "easy_saver")
    assert dialog.place_button.isEnabled()
    with qtbot.waitSignal(dialog.order_placed, timeout=5000) as placed:
        dialog.place_button.click()
    assert placed.args[0].product_name == "Easy saver"
    with read_session(engine) as s:
        assert s.scalars(select(Ticket.reason)).all() == ["product_order"]


def test_an_unverified_caller_is_refused_until_the_agent_says_how(
    qtbot: QtBot, bridge: Bridge, orders: OrderService, engine: Engine
) -> None:
    cid = add_customer(engine)
    dialog = _dialog(qtbot, bridge, orders, cid, IvrData(idv_result="not_attempted"))
    assert dialog.verification.text() == (
        "ID&V in the IVR: Not attempted. Verify the caller in the Script tab's identity check,"
        " or yourself and say how."
    )
    _select(dialog, "easy_saver")
    dialog.note.setText("Post the welcome pack")
    dialog.place_button.click()
    qtbot.waitUntil(lambda: "not verified" in dialog.error.text(), timeout=5000)
    assert dialog.place_button.isEnabled() and dialog.note.text() == "Post the welcome pack"
    with read_session(engine) as s:
        assert s.scalars(select(Ticket)).all() == []
    dialog.method.setCurrentIndex(dialog.method.findData("security_questions"))
    with qtbot.waitSignal(dialog.order_placed, timeout=5000) as placed:
        dialog.place_button.click()
    assert placed.args[0].verification == "Verified by the agent: security questions answered"


def test_a_call_that_skipped_the_ivr_says_so_once(
    qtbot: QtBot, bridge: Bridge, orders: OrderService, engine: Engine
) -> None:
    cid = add_customer(engine)
    dialog = _dialog(qtbot, bridge, orders, cid, IvrData(intent="balance"))
    assert dialog.verification.text() == (
        "The IVR did not check the caller's identity. Verify the caller in the Script tab's "
        "identity check, or yourself and say how."
    )
    no_call = _dialog(qtbot, bridge, orders, cid, None)
    assert no_call.verification.text() == (
        "No call in progress. Verify the customer yourself and say how."
    )


def test_a_failed_ivr_check_blocks_orders_on_the_call(
    qtbot: QtBot, bridge: Bridge, orders: OrderService, engine: Engine
) -> None:
    cid = add_customer(engine)
    dialog = _dialog(qtbot, bridge, orders, cid, IvrData(idv_result="failed"))
    assert "ID&V failed in the IVR" in dialog.verification.text()
    assert not dialog.method.isEnabled()


def test_the_cross_sell_strip_shows_why_and_files_the_answer(
    qtbot: QtBot, bridge: Bridge, engine: Engine, org: Org
) -> None:
    cid = add_customer(engine, segment="young_saver", date_of_birth=dt.date(2004, 1, 1))
    catalogue = load_catalogue()
    service = CrossSellService(
        engine, LocalWriter(engine, actor="alice"), catalogue, load_rules(catalogue), org.agent_id
    )
    strip = CrossSellStrip(bridge, service, cid, lambda: "1733650000.7")
    qtbot.addWidget(strip)
    strip.show()
    qtbot.waitUntil(lambda: strip.suggestion is not None, timeout=5000)
    assert strip.text.text() == (
        "Suggest: Young saver account — Young Saver customer without a savings account"
    )
    with qtbot.waitSignal(strip.answered, timeout=5000) as answered:
        strip.decline_button.click()
    assert answered.args[1] is False
    with read_session(engine) as s:
        note = s.scalars(select(Interaction).where(Interaction.customer_id == cid)).one()
        assert note.subject == "Offer declined: Young saver account"
        assert note.linkedid == "1733650000.7"


def test_an_opted_out_customer_sees_no_strip(
    qtbot: QtBot, bridge: Bridge, engine: Engine, org: Org
) -> None:
    cid = add_customer(engine, segment="young_saver", marketing_opt_out=True)
    catalogue = load_catalogue()
    service = CrossSellService(
        engine, LocalWriter(engine, actor="alice"), catalogue, load_rules(catalogue), org.agent_id
    )
    strip = CrossSellStrip(bridge, service, cid)
    qtbot.addWidget(strip)
    with qtbot.waitSignal(strip.suggestion_shown, timeout=5000) as shown:
        strip.show()
    assert shown.args == [None]
    assert not strip.isVisible()


def test_the_workspace_order_button_opens_the_dialog_with_the_calls_idv(
    qtbot: QtBot, context: WorkspaceContext, orders: OrderService, engine: Engine, org: Org
) -> None:
    import dataclasses

    from agentdesk.services.desk.screen_pop import CallInfo, CallPhase
    from agentdesk.ui.workspace.view import CustomerWorkspace

    call = CallInfo(
        linkedid="1733650000.9",
        uniqueid="1733650000.9",
        queue="general",
        caller_raw="+447700900123",
        caller_name=None,
        agent_channel=None,
        phase=CallPhase.CONNECTED,
        offered_at=0.0,
        ivr=PASSED,
    )
    ctx = dataclasses.replace(context, orders=orders, current_call=lambda: call)
    cid = add_customer(engine)
    ws = CustomerWorkspace(ctx, cid, caller=True)
    qtbot.addWidget(ws)
    ws.show()
    assert ws.order_button.isVisible() and ws.cross_sell is None
    dialog = ws.open_order_dialog()
    assert isinstance(dialog, OrderDialog)
    qtbot.waitUntil(lambda: len(dialog.offers.rows) > 0, timeout=5000)
    assert dialog.verification.text() == "✔ Verified by the IVR (PIN)"
    dialog.reject()


def test_the_back_office_moves_the_order_along_in_the_dialog(
    qtbot: QtBot, bridge: Bridge, orders: OrderService, engine: Engine, org: Org
) -> None:
    from agentdesk.models import agent_team
    from agentdesk.services.orders.service import OrderStatus

    cid = add_customer(engine)
    placed = orders.place(cid, "easy_saver", ivr=PASSED)
    with engine.begin() as conn:
        team = conn.execute(select(Team.id).where(Team.name == "Back Office")).scalar_one()
        conn.execute(insert(agent_team), [{"agent_id": org.agent_id, "team_id": team}])
    dialog = _dialog(qtbot, bridge, orders, cid, None)
    assert dialog.work_row.isVisible()
    assert [o.number for o in dialog.history.rows] == [placed.number]
    dialog.history_view.selectRow(0)
    assert dialog.start_button.isEnabled()
    with qtbot.waitSignal(dialog.order_changed, timeout=5000) as changed:
        dialog.start_button.click()
    assert changed.args[0].status is OrderStatus.IN_FULFILMENT
    qtbot.waitUntil(
        lambda: dialog.history.rows[0].status is OrderStatus.IN_FULFILMENT, timeout=5000
    )
    dialog.history_view.selectRow(0)
    dialog.reject_button.click()  # no reason yet: refused, nothing written
    qtbot.waitUntil(lambda: "say why" in dialog.work_result.text(), timeout=5000)
    dialog.reject_reason.setText("Credit check declined")
    with qtbot.waitSignal(dialog.order_changed, timeout=5000) as changed:
        dialog.reject_button.click()
    assert changed.args[0].status is OrderStatus.REJECTED
    assert dialog.work_result.text() == f"Order {placed.number} is now rejected."


def test_a_front_line_agent_sees_no_back_office_actions(
    qtbot: QtBot, bridge: Bridge, orders: OrderService, engine: Engine
) -> None:
    cid = add_customer(engine)
    orders.place(cid, "easy_saver", ivr=PASSED)
    dialog = _dialog(qtbot, bridge, orders, cid, PASSED)
    assert len(dialog.history.rows) == 1
    assert not dialog.work_row.isVisible()


def test_accepting_the_suggestion_opens_the_order_on_that_product(
    qtbot: QtBot, context: WorkspaceContext, orders: OrderService, engine: Engine, org: Org
) -> None:
    import dataclasses

    from PySide6.QtWidgets import QApplication

    from agentdesk.ui.workspace.view import CustomerWorkspace

    catalogue = load_catalogue()
    cross_sell = CrossSellService(
        engine, LocalWriter(engine, actor="alice"), catalogue, load_rules(catalogue), org.agent_id
    )
    ctx = dataclasses.replace(context, orders=orders, cross_sell=cross_sell)
    cid = add_customer(engine, segment="young_saver", date_of_birth=dt.date(2004, 1, 1))
    ws = CustomerWorkspace(ctx, cid)
    qtbot.addWidget(ws)
    ws.show()
    strip = ws.cross_sell
    assert strip is not None
    qtbot.waitUntil(lambda: strip.isVisible(), timeout=5000)
    strip.accept_button.click()
    qtbot.waitUntil(
        lambda: any(isinstance(w, OrderDialog) for w in QApplication.topLevelWidgets()),
        timeout=5000,
    )
    dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, OrderDialog))
    qtbot.waitUntil(lambda: dialog.selected() is not None, timeout=5000)
    selected = dialog.selected()
    assert selected is not None and selected.product.code == "young_saver"
    dialog.reject()
    with read_session(engine) as s:
        note = s.scalars(select(Interaction).where(Interaction.customer_id == cid)).one()
        assert note.subject == "Offer accepted: Young saver account"


def test_the_id_and_v_done_in_the_script_verifies_the_order(
    qtbot: QtBot, bridge: Bridge, orders: OrderService, engine: Engine
) -> None:
    from agentdesk.services.scripts.engine import IdvCheck

    cid = add_customer(engine)
    not_attempted = IvrData(idv_result="not_attempted")
    failed = OrderDialog(
        bridge, orders, cid, not_attempted, script=IdvCheck("failed", "one_time_code")
    )
    qtbot.addWidget(failed)
    with qtbot.waitSignal(failed.offers_loaded, timeout=5000):
        failed.show()
    assert failed.verification.text() == (
        "✖ The caller failed the identity check in the script (One-time code by SMS): "
        "no order can be placed on this call."
    )
    assert not failed.method.isVisible()  # no other method gets round the failed check
    _select(failed, "easy_saver")
    failed.place_button.click()
    qtbot.waitUntil(lambda: "failed the identity check" in failed.error.text(), timeout=5000)
    with read_session(engine) as s:
        assert s.scalars(select(Ticket)).all() == []
    failed.reject()

    passed = OrderDialog(
        bridge, orders, cid, not_attempted, script=IdvCheck("passed", "date_of_birth_postcode")
    )
    qtbot.addWidget(passed)
    with qtbot.waitSignal(passed.offers_loaded, timeout=5000):
        passed.show()
    assert passed.verification.text() == (
        "✔ Verified by the agent in the script: date of birth and postcode"
    )
    assert not passed.method.isVisible()
    _select(passed, "easy_saver")
    with qtbot.waitSignal(passed.order_placed, timeout=5000) as placed:
        passed.place_button.click()
    assert placed.args[0].verification == "Verified by the agent: date of birth and postcode"


def test_a_check_recorded_in_the_script_while_the_dialog_is_open_counts(
    qtbot: QtBot, bridge: Bridge, orders: OrderService, engine: Engine
) -> None:
    from agentdesk.services.scripts.engine import IdvCheck

    cid = add_customer(engine)
    checks: dict[str, IdvCheck] = {}
    dialog = OrderDialog(
        bridge, orders, cid, IvrData(idv_result="not_attempted"), script=lambda: checks.get("call")
    )
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.offers_loaded, timeout=5000):
        dialog.show()
    assert dialog.method.isVisible()  # nothing recorded yet: the agent may say how here
    checks["call"] = IdvCheck("passed", "card_details")  # meanwhile, in the Script tab
    _select(dialog, "easy_saver")
    with qtbot.waitSignal(dialog.order_placed, timeout=5000) as placed:
        dialog.place_button.click()
    assert placed.args[0].verification == (
        "Verified by the agent: last four digits of the card and expiry"
    )
