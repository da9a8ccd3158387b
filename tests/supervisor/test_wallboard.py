"""The real wallboard window, fed by the server's floor (its gateway logged in to the simulator)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from agentdesk.client.api import ServerApi
from agentdesk.client.floor import ServerFloorFeed
from agentdesk.services.platform.roles import PermissionDenied
from agentdesk.services.supervisor import AgentStatus
from agentdesk.store.writer import LocalWriter
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.supervisor import open_wallboard
from tests.supervisor.conftest import FakeSession, audit_entries
from tests.supervisor.gui_support import Board, start_board
from tests.supervisor.simfloor import settings

pytestmark = pytest.mark.gui
IFACE = "PJSIP/agent-3001"


@pytest.fixture
def board(qtbot: QtBot, supervisor: FakeSession, audit: LocalWriter) -> Iterator[Board]:
    made = start_board(qtbot, supervisor, audit, agents=2)
    yield made
    made.close()


def test_wallboard_shows_the_floor_after_the_login_resync(board: Board) -> None:
    board.wait(lambda s: len(s.agents) == 2 and s.connected)
    assert board.window.ui.link.text() == "PBX: connected"
    assert board.window.last_snapshot.link_detail  # type: ignore[union-attr]
    assert board.cell(board.window.ui.queues, "general", "Logged in") == "2"
    assert board.cell(board.window.ui.agents, "Agent 3001", "State") == "Available"
    assert "answered within 20 s" in board.window.ui.definition.text()
    # The header's totals and the queue rows count agents differently: said, not left to
    # look like a contradiction (4 on call at the top, 3 + 4 + 1 + 3 in the rows).
    assert "counts each agent once" in board.window.ui.definition.text()


def test_wallboard_updates_when_the_simulator_events_arrive(board: Board) -> None:
    board.wait(lambda s: len(s.agents) == 2)
    # Both agents busy on long calls, then a third caller has to wait.
    for n in range(3):
        board.sim.call(f"+44770090000{n}", handle_time=600)
    board.wait(lambda s: s.queue("general").waiting == 1)  # type: ignore[union-attr]
    board.wait(lambda s: all(a.status is AgentStatus.ON_CALL for a in s.agents))
    ui = board.window.ui
    assert board.cell(ui.queues, "general", "Waiting") == "1"
    assert board.cell(ui.queues, "general", "On call") == "2"
    assert "+44770090000" in board.cell(ui.agents, "Agent 3001", "Caller")
    assert board.cell(ui.agents, "Agent 3001", "Call queue") == "general"
    # The longest wait ticks on without any new event.
    first = board.cell(ui.queues, "general", "Longest")
    board.qtbot.waitUntil(
        lambda: board.cell(ui.queues, "general", "Longest") != first, timeout=3000
    )


def test_supervisor_pause_from_the_window_reaches_the_pbx_and_is_audited(
    board: Board, audit: LocalWriter
) -> None:
    board.wait(lambda s: len(s.agents) == 2)
    window = board.window
    assert window.ui.agents.select_key(0, "Agent 3001")
    window.actions_by_id["pause"].trigger()
    dialog = window.open_dialog
    dialog.reason.setCurrentIndex(dialog.reason.findData("Coaching"))
    with board.qtbot.waitSignal(window.action_reported, timeout=10_000) as reported:
        dialog.accept()
    assert "done" in reported.args[0]
    board.wait(lambda s: s.agent(IFACE).status is AgentStatus.PAUSED)  # type: ignore[union-attr]
    assert board.cell(window.ui.agents, "Agent 3001", "Reason") == "Coaching"
    entry = audit_entries(audit)[0]
    assert (entry.action, entry.reason, entry.entity_id) == ("supervisor.pause", "Coaching", IFACE)


def test_an_agent_account_cannot_open_the_supervisor_view(
    qtbot: QtBot, agent: FakeSession, audit: LocalWriter
) -> None:
    bridge = Bridge()
    source = ServerFloorFeed(ServerApi("http://127.0.0.1:9"))
    try:
        with pytest.raises(PermissionDenied, match="may not view the supervisor wallboard"):
            open_wallboard(agent, settings(), audit=audit, source=source, bridge=bridge)
    finally:
        bridge.shutdown()
        source.api.close()
    assert audit_entries(audit) == []


def test_wall_screen_mode_goes_large_and_back(board: Board) -> None:
    board.wait(lambda s: len(s.agents) == 2)
    window = board.window
    ui = window.ui
    window.actions_by_id["wall"].trigger()
    assert window.wall.enabled and window.isFullScreen()
    assert not ui.bottom.isVisible() and ui.queues.isColumnHidden(
        [c.title for c in ui.queues.source.columns].index("ASA")
    )
    assert ui.queues.verticalHeader().defaultSectionSize() >= 40
    # Why callers wait is read from across the room too (it was the smallest type there).
    note, totals = ui.wait_note.label, ui.totals.label  # the object names the sheet styles
    note.ensurePolished()
    totals.ensurePolished()
    assert note.font().pixelSize() >= 0.5 * totals.font().pixelSize() >= 14
    window.wall.set_enabled(False)
    assert not window.isFullScreen() and ui.bottom.isVisible()
    assert not ui.queues.isColumnHidden(0)
