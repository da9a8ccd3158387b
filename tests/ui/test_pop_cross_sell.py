"""The cross-sell suggestion in the screen pop, on the real desktop through the server: the
ringing call's customer gets the product and the rule's reason under their card; the
answer is filed once, linked to the call, and the workspace's strip shows it answered;
Accepted in the pop opens the order dialog on that product."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from sqlalchemy import Engine, select

from agentdesk.models import Interaction
from agentdesk.services.desk.screen_pop import ChangeKind
from agentdesk.store.engine import read_session
from agentdesk.ui.orders.dialog import OrderDialog
from agentdesk.ui.orders.pop import PopCrossSell
from agentdesk.ui.workspace.view import CustomerWorkspace
from tests.ui_workspace.builders import add_customer as add_full_customer

pytestmark = pytest.mark.gui

PHONE = "+447700900123"
WHY = "Suggest: Young saver account — Young Saver customer without a savings account"


def _young_saver(ids: dict[str, Any]) -> Any:
    def seed(central: Engine) -> None:
        ids["customer"] = add_full_customer(
            central, phone=PHONE, segment="young_saver", date_of_birth=dt.date(2004, 1, 1)
        )

    return seed


def _holder(desk: Any) -> PopCrossSell:
    holder = desk.window.findChild(PopCrossSell)
    assert isinstance(holder, PopCrossSell)
    return holder


def _answer(desk: Any) -> None:
    with desk.qtbot.waitSignal(
        desk.controller.wrapups.call_changed,
        check_params_cb=lambda c: c.kind is ChangeKind.CONNECTED,
        timeout=10_000,
    ):
        desk.window.actions_by_id["answer"].trigger()


def test_the_pop_suggests_with_the_reason_and_the_answer_is_filed_once(
    desk_factory: Any,
) -> None:
    ids: dict[str, Any] = {}
    desk = desk_factory(seed=_young_saver(ids))
    qtbot, holder = desk.qtbot, _holder(desk)
    assert not holder.isVisible()  # no call, no suggestion
    placed = desk.call(PHONE)
    desk.wait_pop(placed)
    qtbot.waitUntil(lambda: holder.strip is not None and holder.strip.isVisible(), timeout=10_000)
    strip = holder.strip
    assert strip is not None and strip.customer_id == ids["customer"]
    assert strip.text.text() == WHY
    assert desk.window.pop.card_view.isAncestorOf(strip)  # under the caller's card
    with qtbot.waitSignal(strip.answered, timeout=10_000):
        qtbot.mouseClick(strip.decline_button, Qt.MouseButton.LeftButton)
    assert strip.text.text() == "Young saver account: declined, noted on the timeline."

    _answer(desk)  # the workspace opens: its strip knows the offer was answered on this call
    workspace = desk.window.workspace_tabs.currentWidget()
    assert isinstance(workspace, CustomerWorkspace) and workspace.cross_sell is not None
    mirror = workspace.cross_sell
    qtbot.waitUntil(
        lambda: mirror.text.text() == "Young saver account: declined, noted on the timeline.",
        timeout=10_000,
    )
    assert not mirror.accept_button.isEnabled()
    with read_session(desk.stores.local) as s:
        notes = s.execute(
            select(Interaction.subject, Interaction.linkedid).where(
                Interaction.customer_id == ids["customer"],
                Interaction.subject.like("Offer %"),
            )
        ).all()
    assert notes == [("Offer declined: Young saver account", placed.linkedid)]


def test_accepted_in_the_pop_opens_the_order_on_that_product(desk_factory: Any) -> None:
    ids: dict[str, Any] = {}
    desk = desk_factory(seed=_young_saver(ids))
    qtbot, holder = desk.qtbot, _holder(desk)
    placed = desk.call(PHONE)
    desk.wait_pop(placed)
    _answer(desk)
    qtbot.waitUntil(lambda: holder.strip is not None and holder.strip.isVisible(), timeout=10_000)
    strip = holder.strip
    assert strip is not None
    qtbot.waitUntil(strip.accept_button.isEnabled, timeout=10_000)
    qtbot.mouseClick(strip.accept_button, Qt.MouseButton.LeftButton)

    def dialog() -> OrderDialog:
        found = [w for w in QApplication.topLevelWidgets() if isinstance(w, OrderDialog)]
        found += desk.window.findChildren(OrderDialog)
        assert found
        return found[0]

    qtbot.waitUntil(lambda: dialog().selected() is not None, timeout=10_000)
    selected = dialog().selected()
    assert selected is not None and selected.product.code == "young_saver"
    dialog().reject()
