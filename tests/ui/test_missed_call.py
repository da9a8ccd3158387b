"""Missed calls (issue 14 item 5): a call that rings out leaves the pill on "Missed call" with
the PBX's reason (not green "Available" while a queue is auto-paused), one key back to
Available, and the call on the agent's missed list."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from agentdesk.app import AmiCredentials, build_desktop
from agentdesk.config import LocalSettings, Settings
from agentdesk.services.desk.agent_state import AgentState
from agentdesk.services.desk.missed_calls import MissedCallLog
from agentdesk.ui.bridge import Bridge

pytestmark = pytest.mark.gui


def test_a_call_that_rings_out_shows_missed_call_and_f5_makes_the_agent_available(
    desk_factory: Any,
) -> None:
    desk = desk_factory(time_scale=6.0)  # the 15 s ring timeout passes in 2.5 s
    window, bar = desk.window, desk.window.state_bar
    placed = desk.call("+447700900126")
    desk.wait_pop(placed)
    with desk.qtbot.waitSignal(desk.controller.missed_call, timeout=15_000):
        pass
    desk.wait_state(AgentState.MISSED, timeout=15_000)
    snapshot = desk.controller.state
    assert snapshot.label == "Missed call: not answered"
    assert "general" in bar.queues.text()  # the paused queue, beside the pill
    desk.qtbot.waitUntil(lambda: bar.text.startswith("Missed call"))
    assert bar.chip.property("state") == "missed"
    assert bar.go_button.isVisible() and "F5" in bar.go_button.text()
    # The missed call is on the agent's list, with the queue and the reason.
    assert bar.missed_button.isVisible() and bar.missed_button.text() == "Missed calls: 1"
    entries = [a.text() for a in bar.missed_menu.actions()]
    assert len(entries) == 1 and "general" in entries[0] and "not answered" in entries[0]
    assert desk.controller.missed_calls[0].linkedid == placed.linkedid
    # One key back to Available.
    go = window.actions_by_id["go_available"]
    assert go.isEnabled() and go.shortcut().toString() == "F5"
    window.activateWindow()
    desk.qtbot.keyClick(window, Qt.Key.Key_F5)
    desk.wait_state(AgentState.AVAILABLE)
    desk.qtbot.waitUntil(lambda: not bar.go_button.isVisible())
    assert not go.isEnabled()  # F5 does nothing on a break: only after a missed call
    assert bar.missed_button.isVisible()  # the list stays for calling back


def test_the_missed_call_list_comes_back_after_a_restart(desk_factory: Any, tmp_path: Any) -> None:
    """The list lived in the process only: a restarted desktop showed no missed calls, so the
    callers the agent still owed a call back were forgotten. It is read back from the
    encrypted cache, where every missed call is filed."""
    desk = desk_factory(time_scale=6.0)
    placed = desk.call("+447700900127")
    desk.wait_pop(placed)
    with desk.qtbot.waitSignal(desk.controller.missed_call, timeout=15_000):
        pass
    agent = desk.controller.agent
    filed = MissedCallLog(desk.stores.local, agent.id)
    desk.qtbot.waitUntil(lambda: len(filed.today()) == 1, timeout=10_000)
    desk.window.hide()

    bridge = Bridge()  # the desktop started again on the same cache
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
        desk.qtbot.addWidget(again.window)
        bar = again.window.state_bar
        desk.qtbot.waitUntil(lambda: bar.missed_button.text() == "Missed calls: 1", timeout=10_000)
        assert not bar.missed_button.isHidden()
        (entry,) = [a.text() for a in bar.missed_menu.actions()]
        assert "+44 7700 900127" in entry and "general" in entry and "not answered" in entry
        assert again.controller.missed_calls[0].linkedid == placed.linkedid
    finally:
        again.shutdown()
        bridge.shutdown()
