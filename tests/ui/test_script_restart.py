"""Script answers survive a desktop that dies mid-call (issue 13): the run is kept in the
encrypted cache as the agent moves through it, and a desktop started again on that cache
puts it back beside the call it adopts — same step, path, answers and the agent's ID&V —
and files it with the wrap-up."""

from __future__ import annotations

import json
from typing import Any

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import Engine

from agentdesk.app import AmiCredentials, build_desktop
from agentdesk.config import LocalSettings, Settings
from agentdesk.models import DeskScriptRun, IdvResult, Interaction
from agentdesk.services.desk.screen_pop import ChangeKind
from agentdesk.store.engine import read_session
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.scripts.panel import RESTORED, ScriptPanel
from tests.ui.data import add_customer

pytestmark = pytest.mark.gui

PHONE = "+447700900123"


def _panel(window: Any) -> ScriptPanel:
    panel = window.findChild(ScriptPanel)
    assert isinstance(panel, ScriptPanel)
    return panel


def _kept_answers(engine: Engine, linkedid: str) -> list[str]:
    with read_session(engine) as s:
        row = s.get(DeskScriptRun, linkedid)
    return [] if row is None else [a["value"] for a in row.data["answers"]]


def test_answers_typed_before_the_desktop_dies_come_back_beside_the_adopted_call(
    desk_factory: Any, tmp_path: Any
) -> None:
    def seed(central: Engine) -> None:
        add_customer(central, "Ada Lovelace", PHONE)

    desk = desk_factory(seed=seed)
    qtbot, actions, panel = desk.qtbot, desk.window.actions_by_id, _panel(desk.window)
    with qtbot.waitSignal(panel.run_changed, timeout=10_000):
        placed = desk.call(PHONE, intent="card_lost", idv="not_attempted")
    desk.wait_pop(placed)
    with qtbot.waitSignal(
        desk.controller.wrapups.call_changed,
        check_params_cb=lambda c: c.kind is ChangeKind.CONNECTED,
        timeout=10_000,
    ):
        actions["answer"].trigger()
    tabs = desk.window.call_tabs
    tabs.setCurrentIndex(tabs.count() - 1)
    qtbot.waitUntil(panel.next.isVisible, timeout=5_000)
    qtbot.mouseClick(panel.next, Qt.MouseButton.LeftButton)  # greeting → ID&V
    panel.method.setCurrentIndex(panel.method.findData("date_of_birth_postcode"))
    qtbot.keyClick(panel.result_buttons["passed"], Qt.Key.Key_Space)
    qtbot.mouseClick(panel.next, Qt.MouseButton.LeftButton)
    stolen = next(b for b in panel.option_group.buttons() if b.property("value") == "stolen")
    qtbot.keyClick(stolen, Qt.Key.Key_Space)
    qtbot.mouseClick(panel.next, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(panel.entry, "CR/1234/26")
    qtbot.keyClick(panel.entry, Qt.Key.Key_Return)
    assert panel.step_text.text().startswith("When did you last use")
    where = (panel.step_text.text(), panel.path.text())
    # Kept in the cache as typed (the local worker writes it).
    qtbot.waitUntil(
        lambda: _kept_answers(desk.stores.local, placed.linkedid) == ["stolen", "CR/1234/26"],
        timeout=10_000,
    )

    # The desktop dies: its memory (the run in it) is gone; the call goes on at the PBX.
    desk.window.hide()
    agent = desk.controller.agent
    bridge = Bridge()
    again = build_desktop(
        Settings(data_dir=tmp_path, local=LocalSettings(full_replica=True)),
        desk.stores,
        agent,
        bridge,
        AmiCredentials("127.0.0.1", desk.sim.sim.port, "agentdesk", desk.sim.secret),
        server=None,
        with_sync=False,
    )
    try:
        qtbot.addWidget(again.window)
        again.window.show()
        back = _panel(again.window)

        def restored() -> bool:
            run = back.run
            assert run is not None and run.current == "last_used", run
            return True

        qtbot.waitUntil(restored, timeout=15_000)  # the call adopted, its run beside it
        assert (back.step_text.text(), back.path.text()) == where
        assert back.message.text() == RESTORED
        assert back.agent_result.text() == "Passed (Date of birth and postcode)"

        # And the wrap-up files what was typed before the crash.
        again.window.call_tabs.setCurrentIndex(again.window.call_tabs.count() - 1)
        back.entry.setText("2026-11-30")
        back.go_next()
        with qtbot.waitSignal(again.controller.wrapups.started, timeout=10_000):
            again.window.actions_by_id["hangup"].trigger()
        form = again.window.wrapup
        form.set_disposition("resolved")
        with qtbot.waitSignal(form.saved, timeout=10_000) as saved:
            form.save()
        with read_session(desk.stores.local) as s:
            row = s.get(Interaction, saved.args[0].interaction_id)
        assert row is not None
        answers = [(a["step"], a["answer"]) for a in json.loads(row.script_answers or "[]")]
        assert answers == [
            ("what_happened", "stolen"),
            ("police", "CR/1234/26"),
            ("last_used", "2026-11-30"),
        ]
        assert row.agent_idv_result is IdvResult.PASSED
        qtbot.waitUntil(lambda: _kept_answers(desk.stores.local, placed.linkedid) == [])
    finally:
        again.shutdown()
        bridge.shutdown()
