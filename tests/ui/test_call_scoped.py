"""Call-scoped state (issue 14 item 4): the "On call" chip, the tab's ☎ marker, a revealed
value and the call's messages belong to the call and go when it ends (or is fixed)."""

from __future__ import annotations

from typing import Any

import pytest

from agentdesk.services.desk.agent_state import AgentState
from agentdesk.services.desk.screen_pop import CallPhase
from agentdesk.ui.workspace.view import CALL_CHIP, CustomerWorkspace
from tests.ui.data import add_customer

pytestmark = pytest.mark.gui
WAIT = 10_000


def _chips(ws: CustomerWorkspace) -> list[str]:
    return [ws.chips.itemAt(i).widget().accessibleName() for i in range(ws.chips.count())]


def test_hang_up_clears_the_call_chip_the_tab_marker_and_masks_the_revealed_value(
    desk_factory: Any,
) -> None:
    def seed(central: Any) -> None:
        add_customer(central, "Ada Lovelace", "+447700900123")

    desk = desk_factory()
    seed(desk.central)
    window = desk.window
    placed = desk.call("+447700900123")
    desk.wait_pop(placed)
    window.actions_by_id["answer"].trigger()
    desk.qtbot.waitUntil(lambda: window.workspace_tabs.count() == 1, timeout=WAIT)
    ws = window.workspace_tabs.widget(0)
    assert isinstance(ws, CustomerWorkspace)
    desk.qtbot.waitUntil(lambda: CALL_CHIP in _chips(ws), timeout=WAIT)
    assert window.workspace_tabs.tabText(0).startswith("☎")
    product = ws.products.rows[0]
    with desk.qtbot.waitSignal(ws.revealed, timeout=WAIT) as revealed:
        ws.reveal("product", product.id, "Confirming account for a payment")
    assert revealed.args[0] in ws.revealed_value.text()  # the clear number, on screen
    window.actions_by_id["hangup"].trigger()
    desk.wait_state(AgentState.WRAP_UP)
    desk.qtbot.waitUntil(lambda: CALL_CHIP not in _chips(ws), timeout=WAIT)
    assert ws.revealed_value.text() == ""  # masked again with the call
    assert not window.workspace_tabs.tabText(0).startswith("☎")
    # "Pick a disposition." goes as soon as one is picked, not when the form is saved.
    form = window.wrapup
    desk.qtbot.waitUntil(lambda: form.context is not None and form.isEnabled(), timeout=WAIT)
    form.save()
    desk.qtbot.waitUntil(lambda: "disposition" in form.errors.text().lower(), timeout=WAIT)
    form.set_disposition("info")
    assert form.errors.text() == ""
    with desk.qtbot.waitSignal(desk.controller.wrapups.saved, timeout=WAIT):
        form.save()
    desk.wait_state(AgentState.AVAILABLE)
    # The same customer calls again: the chip and the marker come back for that call.
    again = desk.call("+447700900123")
    desk.wait_pop(again)
    window.actions_by_id["answer"].trigger()
    desk.qtbot.waitUntil(
        lambda: (
            desk.controller.current_call() is not None
            and desk.controller.current_call().phase is CallPhase.CONNECTED
        ),
        timeout=WAIT,
    )
    desk.qtbot.waitUntil(lambda: CALL_CHIP in _chips(ws), timeout=WAIT)
    assert window.workspace_tabs.tabText(0).startswith("☎")


def test_a_withdrawn_call_message_does_not_linger_into_the_next_call(desk_factory: Any) -> None:
    desk = desk_factory()
    window = desk.window
    first = desk.call("+447700900201")
    desk.wait_pop(first)
    window.actions_by_id["hangup"].trigger()  # rejected while ringing: withdrawn here
    notice = window.status.notice
    desk.qtbot.waitUntil(lambda: window.pop.content is None, timeout=WAIT)
    desk.qtbot.waitUntil(lambda: notice.text() != "", timeout=WAIT)
    assert notice.text().startswith(("Call withdrawn", "Missed call")), notice.text()
    desk.qtbot.waitUntil(lambda: desk.controller.state.state is not AgentState.RINGING)
    if desk.controller.state.state is AgentState.MISSED:
        desk.controller.go_available()
        desk.wait_state(AgentState.AVAILABLE)
    second = desk.call("+447700900202")
    desk.wait_pop(second)
    assert not notice.text().startswith(("Call withdrawn", "Missed call")), notice.text()
