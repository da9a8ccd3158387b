"""The real desktop puts "Call back" on every ticket pane's detail: the My tickets and My team
docks and the Tickets tab of a customer opened afterwards (issue 15: callback tickets)."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QPushButton

from agentdesk.ui.tickets.pane import TicketPane
from agentdesk.ui.workspace.view import CustomerWorkspace
from tests.ui_workspace.builders import add_customer

pytestmark = pytest.mark.gui


def _call_back(pane: TicketPane) -> list[QPushButton]:
    return pane.detail.findChildren(QPushButton, "ticket_callback_button")


def test_every_ticket_pane_offers_call_back(desk_factory: Any) -> None:
    made: dict[str, Any] = {}
    desk = desk_factory(seed=lambda central: made.setdefault("cid", add_customer(central)))
    panes = desk.window.findChildren(TicketPane)
    assert {p._scope for p in panes} >= {"mine", "team"}
    assert all(len(_call_back(p)) == 1 for p in panes)
    workspace = desk.window.open_customer(made["cid"])
    assert isinstance(workspace, CustomerWorkspace)
    (button,) = _call_back(workspace.tickets)
    assert not button.isVisible()  # shown only while an open callback ticket is loaded
