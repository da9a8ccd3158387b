"""The real main window pops the right thing for each kind of caller (in-process simulator)."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from agentdesk.services.crm.caller_match import MatchKind
from agentdesk.services.crm.phone import NumberStatus
from tests.ui.data import add_customer

pytestmark = pytest.mark.gui


def test_known_caller_pops_that_customer(desk_factory: Any) -> None:
    ids: dict[str, Any] = {}

    def seed(central: Any) -> None:
        ids["ada"] = add_customer(
            central,
            "Ada Lovelace",
            "+447700900123",
            products=3,
            open_tickets=2,
        )

    desk = desk_factory(seed=seed)
    placed = desk.call("07700 900123", intent="card_lost", language="en")
    pop = desk.wait_pop(placed)
    assert pop.match.kind is MatchKind.SINGLE and pop.match.source == "local"
    assert pop.chosen == ids["ada"]
    view = desk.window.pop
    assert view.card_view.name.text() == "Ada Lovelace"
    assert view.tickets.rowCount() == 2 and view.recent.rowCount() == 2
    assert "Card lost" in view.ivr.text() and "+44 7700 900123" in view.number.text()
    assert desk.window.call_tabs.currentIndex() == 0  # the pop tab
    # The first paint after the pop filled in records the ring → pop-painted latency.
    desk.qtbot.waitUntil(lambda: desk.desktop.recorder.for_call(placed.linkedid) is not None)
    assert 0 < desk.desktop.recorder.for_call(placed.linkedid) < 1000


def test_withheld_number_pops_unknown(desk: Any) -> None:
    placed = desk.call("anonymous")
    pop = desk.wait_pop(placed)
    assert pop.match.kind is MatchKind.NONE
    assert pop.match.number.status is NumberStatus.WITHHELD
    view = desk.window.pop
    assert view.pages.currentIndex() == 2 and "withheld" in view.unknown_text.text()
    assert view.search_field.text() == "" and "withheld" in view.number.text().lower()


def test_unknown_number_prefills_search_and_offers_new_customer(desk: Any, qtbot: Any) -> None:
    placed = desk.call("+447700900777")
    desk.wait_pop(placed)
    view = desk.window.pop
    assert view.search_field.text() == "+447700900777"
    # Said once, on the page that offers what to do (the status line repeated it).
    shown = [w.text() for w in (view.status, view.unknown_text) if w.isVisible()]
    assert sum("No customer has this number" in t for t in shown) == 1, shown
    with qtbot.waitSignal(desk.window.new_customer_requested) as blocker:
        view.new_button.click()
    assert blocker.args == ["+447700900777"]
    with qtbot.waitSignal(desk.window.search_requested) as blocker:
        view.search_button.click()
    assert blocker.args == ["+447700900777"]


def test_shared_number_pops_the_chooser_and_the_pick_loads_the_card(desk_factory: Any) -> None:
    ids: dict[str, Any] = {}

    def seed(central: Any) -> None:
        for name in ("Tom Shared", "Tina Shared"):
            ids[name] = add_customer(central, name, "+447700900555")

    desk = desk_factory(seed=seed)
    placed = desk.call("+447700900555")
    pop = desk.wait_pop(placed)
    view = desk.window.pop
    assert pop.match.kind is MatchKind.MULTIPLE and view.pages.currentIndex() == 1
    assert [r.display_name for r in view.candidates.rows] == ["Tina Shared", "Tom Shared"]
    view.chooser_view.selectRow(1)
    view.use_button.click()
    desk.qtbot.waitUntil(
        lambda: view.pages.currentIndex() == 0 and view.card_view.name.text() == "Tom Shared"
    )
    assert desk.controller.pops[placed.linkedid].chosen == ids["Tom Shared"]


def test_customer_only_in_central_is_found_after_the_local_miss(desk_factory: Any) -> None:
    def seed(central: Any) -> None:
        add_customer(central, "Grace Hopper", "+447700900321")

    desk = desk_factory(late_seed=seed)
    placed = desk.call("+447700900321")
    pop = desk.wait_pop(placed)
    assert pop.match.kind is MatchKind.SINGLE and pop.match.source == "central"
    assert desk.window.pop.card_view.name.text() == "Grace Hopper"
    # In the agent's words: where it was looked up ("the central database") is not theirs.
    status = desk.window.pop.status.text()
    assert status == "Matched on the caller's number.", status


def test_unknown_caller_becomes_a_new_customer_attached_to_the_call(desk: Any, qtbot: Any) -> None:
    placed = desk.call("+447700900778")
    desk.wait_pop(placed)
    desk.window.pop.new_button.click()
    dialog = desk.window.quick_customer
    assert dialog.number.text() == "+447700900778"
    dialog.submit()  # no name yet
    qtbot.waitUntil(lambda: "name" in dialog.errors.text())
    dialog.given.setText("Kofi")
    dialog.family.setText("Mensah")
    with qtbot.waitSignal(dialog.created) as created:
        dialog.submit()
    customer_id = created.args[0]
    qtbot.waitUntil(lambda: desk.window.pop.card_view.name.text() == "Kofi Mensah")
    assert desk.controller.pops[placed.linkedid].chosen == customer_id
    assert "Kofi Mensah" in desk.window.workspace_tabs.tabText(
        desk.window.workspace_tabs.currentIndex()
    )


def test_the_chooser_works_from_the_keyboard(desk_factory: Any, qtbot: Any) -> None:
    def seed(central: Any) -> None:
        for name in ("Ann Keys", "Bob Keys"):
            add_customer(central, name, "+447700900556")

    desk = desk_factory(seed=seed)
    window = desk.window
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    placed = desk.call("+447700900556")
    desk.wait_pop(placed)
    qtbot.keyClick(window, Qt.Key.Key_F7)  # go to the pop: the first candidate is selected
    view = window.pop.chooser_view
    qtbot.waitUntil(view.hasFocus)
    qtbot.keyClick(view, Qt.Key.Key_Down)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.pop.card_view.name.text() == "Bob Keys")
