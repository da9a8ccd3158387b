"""Desktop behaviour around the pop: focus, tray, other agents, state from the PBX, faults."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit, QWidget

from agentdesk.services.desk.agent_state import AgentState
from agentdesk.services.desk.screen_pop import CallPhase
from tests.ui.conftest import IFACE

pytestmark = pytest.mark.gui


def test_pop_never_steals_focus_from_text_being_typed(desk: Any, qtbot: Any) -> None:
    window = desk.window
    editor = QLineEdit()
    window.workspace_tabs.addTab(editor, "Notes")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    editor.setFocus()
    qtbot.waitUntil(editor.hasFocus)
    qtbot.keyClicks(editor, "Customer asked about")
    placed = desk.call("+447700900123")
    desk.wait_pop(placed)
    qtbot.keyClicks(editor, " fees")
    assert QApplication.focusWidget() is editor and editor.text() == "Customer asked about fees"
    assert window.tray.last_message is None  # the window is in front: no tray balloon
    # F7 moves the focus to the pop on purpose; F2 answers without moving it.
    qtbot.keyClick(editor, Qt.Key.Key_F2)
    desk.qtbot.waitUntil(lambda: desk.controller.current_call().phase is CallPhase.CONNECTED)
    assert QApplication.focusWidget() is editor
    window.actions_by_id["focus_pop"].trigger()
    assert window.pop.isAncestorOf(QApplication.focusWidget())


def test_tray_notification_when_the_window_is_not_in_front(desk: Any, qtbot: Any) -> None:
    other = QWidget()
    qtbot.addWidget(other)
    other.show()
    other.activateWindow()
    qtbot.waitUntil(lambda: not desk.window.isActiveWindow())
    placed = desk.call("+447700900124")
    desk.wait_pop(placed)
    title, text = desk.window.tray.last_message
    assert title == "Incoming call" and "+44 7700 900124" in text


def test_calls_for_other_agents_do_not_pop(desk: Any) -> None:
    desk.sim.run(desk.sim.sim.add_agent, "PJSIP/1002", "Bob Agent", {"general": 0})
    desk.sim.run(desk.sim.sim.place_call, "+447700900125", agent="PJSIP/1002", queue="general")
    desk.qtbot.waitUntil(lambda: desk.controller.tracker.ignored >= 1)
    assert desk.window.pop.content is None and desk.controller.current_call() is None


def test_not_ready_and_available_follow_the_pbx_with_time_in_state(desk: Any) -> None:
    bar = desk.window.state_bar
    assert bar.text.startswith("Available")
    bar.reason_actions["Lunch"].trigger()  # QueuePause Reason=Lunch; the state waits for the PBX
    desk.wait_state(AgentState.NOT_READY)
    assert desk.controller.state.label == "Not ready: Lunch" and "Lunch" in bar.text
    assert bar.chip.property("state") == "not_ready" and "0:0" in bar.text
    desk.window.actions_by_id["available"].trigger()
    desk.wait_state(AgentState.AVAILABLE)
    bar.logout_action.trigger()
    desk.wait_state(AgentState.LOGGED_OUT)
    bar.login_action.trigger()
    desk.wait_state(AgentState.AVAILABLE)


def test_ring_no_answer_dismisses_the_pop_and_the_pbx_auto_pauses(desk_factory: Any) -> None:
    desk = desk_factory(time_scale=6.0)  # the 15 s ring timeout passes in 2.5 s
    placed = desk.call("+447700900126")
    desk.wait_pop(placed)
    desk.qtbot.waitUntil(lambda: desk.window.pop.content is None, timeout=15_000)
    desk.wait_state(AgentState.MISSED, timeout=15_000)  # not Available: auto-paused
    assert desk.controller.state.label == "Missed call: not answered"


def test_pbx_link_drop_mid_call_keeps_the_call_and_resyncs(desk: Any) -> None:
    placed = desk.call("+447700900127")
    desk.wait_pop(placed)
    desk.controller.answer()
    desk.qtbot.waitUntil(lambda: desk.controller.current_call().phase is CallPhase.CONNECTED)
    with desk.qtbot.waitSignal(desk.desktop.link.resynced, timeout=20_000) as resynced:
        desk.sim.run(lambda: [s.close(abort=True) for s in list(desk.sim.sim.server.sessions)])
    assert resynced.args[0].reconnect
    call = desk.controller.current_call()
    assert (
        call is not None and call.linkedid == placed.linkedid and call.phase is CallPhase.CONNECTED
    )
    desk.wait_state(AgentState.ON_CALL)


def test_garbage_on_the_ami_socket_does_not_break_the_desktop(desk: Any) -> None:
    junk = (
        b"\x00\xff\xfe not a header\r\nEvent: AgentCalled\r\nInterface: "
        + IFACE.encode()
        + b"\r\n\r\nEvent: Hold\r\nLinkedid: nope\r\n\r\nEvent: \xf0\x9f\x92\xa5\r\n\r\n"
    )
    desk.sim.run(lambda: [s.send_bytes(junk) for s in list(desk.sim.sim.server.sessions)])
    desk.qtbot.waitUntil(lambda: desk.controller.tracker.malformed >= 1)
    placed = desk.call("+447700900128")  # and the next real call still pops
    desk.wait_pop(placed)


def test_link_drop_during_wrap_up_keeps_the_wrap_up_and_it_still_saves(desk: Any) -> None:
    placed = desk.call("+447700900129")
    desk.wait_pop(placed)
    desk.controller.answer()
    desk.qtbot.waitUntil(lambda: desk.controller.current_call().phase is CallPhase.CONNECTED)
    desk.controller.hangup()
    form = desk.window.wrapup
    desk.qtbot.waitUntil(lambda: form.context is not None)
    form.set_disposition("info")
    form.notes.setPlainText("typed before the PBX link dropped")
    with desk.qtbot.waitSignal(desk.desktop.link.resynced, timeout=20_000):
        desk.sim.run(lambda: [s.close(abort=True) for s in list(desk.sim.sim.server.sessions)])
    assert form.context is not None and form.context.call.linkedid == placed.linkedid
    assert form.notes.toPlainText() == "typed before the PBX link dropped"
    with desk.qtbot.waitSignal(desk.controller.wrapups.saved, timeout=10_000):
        form.save()
    desk.wait_state(AgentState.AVAILABLE)
