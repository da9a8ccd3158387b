"""The Script tab beside a call, on the real desktop through the server: the call's IVR
intent picks the script, the agent cannot pass the ID&V step until they verify the caller
(the IVR had not), answers are typed and picked on real widgets with the keyboard, and the
wrap-up files the script, its answers and the agent's check on the interaction — in the
cache and at the centre."""

from __future__ import annotations

import json
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from sqlalchemy import Engine

from agentdesk.models import IdvResult, Interaction
from agentdesk.services.desk.screen_pop import ChangeKind
from agentdesk.store.engine import read_session
from agentdesk.ui.scripts.install import TAB_TITLE
from agentdesk.ui.scripts.panel import ScriptPanel
from tests.ui.data import add_customer

pytestmark = pytest.mark.gui


def _panel(window: Any) -> ScriptPanel:
    panel = window.findChild(ScriptPanel)
    assert isinstance(panel, ScriptPanel)
    return panel


def _option(panel: ScriptPanel, value: str) -> Any:
    return next(b for b in panel.option_group.buttons() if b.property("value") == value)


def _pick(qtbot: Any, panel: ScriptPanel, value: str) -> None:
    """Click the answer's round indicator (a radio button takes clicks on its indicator
    and label only, not on the empty width the layout gives it)."""
    button = _option(panel, value)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton, pos=QPoint(6, button.height() // 2))
    assert button.isChecked()


def test_a_call_runs_its_script_and_the_answers_reach_the_interaction(
    desk_factory: Any,
) -> None:
    def seed(central: Engine) -> None:
        add_customer(central, "Ada Lovelace", "+447700900123")

    desk = desk_factory(seed=seed)
    window, qtbot, actions = desk.window, desk.qtbot, desk.window.actions_by_id
    panel = _panel(window)
    tabs = window.call_tabs
    assert [tabs.tabText(i) for i in range(tabs.count())][-1] == TAB_TITLE
    assert not panel.next.isEnabled()  # no call yet
    with qtbot.waitSignal(panel.run_changed, timeout=10_000) as shown:
        placed = desk.call("+447700900123", intent="card_lost", idv="not_attempted")
    assert shown.args[0].script.id == "card_lost"
    assert panel.picker.currentText() == "Lost or stolen card (version 1)"
    desk.wait_pop(placed)
    with qtbot.waitSignal(
        desk.controller.wrapups.call_changed,
        check_params_cb=lambda c: c.kind is ChangeKind.CONNECTED,
        timeout=10_000,
    ):
        actions["answer"].trigger()
    tabs.setCurrentIndex(tabs.count() - 1)
    qtbot.waitUntil(panel.next.isVisible, timeout=5_000)

    assert panel.step_title.text() == "Say"
    qtbot.mouseClick(panel.next, Qt.MouseButton.LeftButton)  # greeting → ID&V
    assert panel.step_title.text() == "Identity check"
    assert panel.ivr_result.text() == "Not attempted"
    # Not verified: Next refuses and says why; the step stays.
    qtbot.mouseClick(panel.next, Qt.MouseButton.LeftButton)
    assert "The caller is not verified — IVR: not attempted." in panel.message.text()
    assert panel.step_title.text() == "Identity check"
    # Picking the result records the check with the method shown (Space on the radio).
    panel.method.setCurrentIndex(panel.method.findData("one_time_code"))
    qtbot.keyClick(panel.result_buttons["failed"], Qt.Key.Key_Space)
    assert panel.agent_result.text() == "Failed (One-time code by SMS)"
    panel.method.setCurrentIndex(panel.method.findData("date_of_birth_postcode"))
    qtbot.keyClick(panel.result_buttons["passed"], Qt.Key.Key_Space)
    assert panel.agent_result.text() == "Passed (Date of birth and postcode)"
    qtbot.mouseClick(panel.next, Qt.MouseButton.LeftButton)

    # A choice, by keyboard: Space on "Stolen", then Space on Next.
    assert panel.step_text.text().startswith("Was the card lost, stolen")
    qtbot.keyClick(_option(panel, "stolen"), Qt.Key.Key_Space)
    assert _option(panel, "stolen").isChecked()
    qtbot.keyClick(panel.next, Qt.Key.Key_Space)
    assert panel.step_text.text().startswith("Have you reported the theft")  # the branch
    qtbot.keyClicks(panel.entry, "CR/1234/26")
    qtbot.keyClick(panel.entry, Qt.Key.Key_Return)
    # A date that is not one: a sentence, the text kept.
    qtbot.keyClicks(panel.entry, "last tuesday")
    qtbot.keyClick(panel.entry, Qt.Key.Key_Return)
    assert "is not a date" in panel.message.text()
    assert panel.entry.text() == "last tuesday"
    panel.entry.setText("2026-11-30")
    qtbot.keyClick(panel.entry, Qt.Key.Key_Return)
    # Back shows the earlier answer again; Next returns.
    qtbot.mouseClick(panel.back, Qt.MouseButton.LeftButton)
    assert panel.entry.text() == "2026-11-30"
    qtbot.mouseClick(panel.next, Qt.MouseButton.LeftButton)
    _pick(qtbot, panel, "no")
    qtbot.mouseClick(panel.next, Qt.MouseButton.LeftButton)
    _pick(qtbot, panel, "yes")
    qtbot.mouseClick(panel.next, Qt.MouseButton.LeftButton)
    assert panel.step_title.text() == "Closing", (panel.step_text.text(), panel.message.text())
    assert not panel.next.isEnabled()
    assert "Path so far:" in panel.path.text() and "Stolen" in panel.path.text()

    with qtbot.waitSignal(desk.controller.wrapups.started, timeout=10_000):
        actions["hangup"].trigger()
    form = window.wrapup
    form.set_disposition("resolved")
    with qtbot.waitSignal(form.saved, timeout=10_000) as saved:
        form.save()
    interaction_id = saved.args[0].interaction_id
    expected = [
        ("what_happened", "stolen"),
        ("police", "CR/1234/26"),
        ("last_used", "2026-11-30"),
        ("unknown_payments", "no"),
        ("replace", "yes"),
    ]

    def check(engine: Engine) -> bool:
        with read_session(engine) as s:
            row = s.get(Interaction, interaction_id)
        assert row is not None
        assert (row.script_id, row.script_version) == ("card_lost", 1)
        answers = json.loads(row.script_answers or "[]")
        assert [(a["step"], a["answer"]) for a in answers] == expected
        assert row.agent_idv_result is IdvResult.PASSED
        assert row.agent_idv_method == "date_of_birth_postcode"
        assert row.idv_result is not IdvResult.PASSED  # the IVR's own, filed as it came
        return True

    check(desk.stores.local)
    qtbot.waitUntil(lambda: check(desk.central), timeout=15_000)
    # The run is filed: the tab lets the call go.
    qtbot.waitUntil(lambda: panel.run is None, timeout=5_000)


def test_a_call_that_rings_out_takes_its_script_with_it(desk_factory: Any) -> None:
    desk = desk_factory(time_scale=6.0)  # the 15 s ring timeout passes in 2.5 s
    panel = _panel(desk.window)
    with desk.qtbot.waitSignal(panel.run_changed, timeout=10_000) as shown:
        placed = desk.call("+447700900126", intent="balance")
    assert shown.args[0].script.id == "balance"
    with desk.qtbot.waitSignal(desk.controller.missed_call, timeout=15_000):
        pass
    desk.qtbot.waitUntil(lambda: panel.run is None, timeout=5_000)
    assert panel.heading.text().startswith("No call yet")
    assert desk.controller.missed_calls[0].linkedid == placed.linkedid
