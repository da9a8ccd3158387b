"""The supervisor views inside the real agent desktop (issue 4's window, in-process simulator)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine, update

from agentdesk.models import Agent, Role
from agentdesk.services.desk.agent_state import AgentState, load_policy
from agentdesk.services.platform.roles import PermissionDenied
from agentdesk.services.supervisor import AgentStatus, load_settings
from agentdesk.store.writer import LocalWriter
from agentdesk.telephony.client import AmiClient
from agentdesk.telephony.loop_thread import LoopThread
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.supervisor import WallboardWindow, open_wallboard
from agentdesk.ui.supervisor.install import install_supervisor
from tests.supervisor.conftest import FakeSession, audit_entries

pytestmark = pytest.mark.gui
IFACE = "PJSIP/1001"


@pytest.fixture
def wallboard_for(qtbot: QtBot) -> Iterator[Any]:
    """A supervisor's wallboard on its own workstation, logged in to the desk's simulator."""
    made: list[tuple[WallboardWindow, AmiClient, LoopThread, Bridge]] = []

    def build(desk: Any, session: FakeSession, audit: LocalWriter) -> WallboardWindow:
        loop, bridge = LoopThread("supervisor-ws"), Bridge()
        client = AmiClient("127.0.0.1", desk.sim.sim.port, "agentdesk", desk.sim.secret)
        window = open_wallboard(session, load_settings(), audit=audit, client=client, loop=loop,
                                bridge=bridge, reasons=load_policy().reasons)  # fmt: skip
        qtbot.addWidget(window)
        window.show()
        made.append((window, client, loop, bridge))
        return window

    yield build
    for window, client, loop, bridge in made:
        window.shutdown()
        loop.submit(client.close()).result(5)
        loop.stop()
        bridge.shutdown()


def _alice(window: WallboardWindow) -> Any:
    snapshot = window.last_snapshot
    return snapshot.agent(IFACE) if snapshot is not None else None


def test_a_pause_issued_by_the_supervisor_shows_on_the_agents_desktop(
    desk: Any, wallboard_for: Any, qtbot: QtBot, supervisor: FakeSession, audit: LocalWriter
) -> None:
    window = wallboard_for(desk, supervisor, audit)
    qtbot.waitUntil(lambda: _alice(window) is not None, timeout=10_000)
    assert _alice(window).status is AgentStatus.AVAILABLE
    assert window.ui.agents.select_key(0, "Alice Agent")
    window.actions_by_id["pause"].trigger()
    dialog = window.open_dialog
    dialog.reason.setCurrentIndex(dialog.reason.findData("Coaching"))
    with qtbot.waitSignal(window.action_reported, timeout=10_000) as reported:
        dialog.accept()
    assert "done" in reported.args[0]
    # The PBX tells every desktop: the agent's own state bar now says why.
    qtbot.waitUntil(lambda: desk.controller.state.state is AgentState.NOT_READY, timeout=10_000)
    assert desk.controller.state.label == "Not ready: Coaching session"
    assert "Coaching session" in desk.window.state_bar.chip.text()
    qtbot.waitUntil(lambda: _alice(window).status is AgentStatus.PAUSED, timeout=10_000)
    assert _alice(window).reason == "Coaching"
    entry = audit_entries(audit)[0]
    assert (entry.actor, entry.action, entry.entity_id, entry.reason) == (
        "sam.supervisor", "supervisor.pause", IFACE, "Coaching",
    )  # fmt: skip
    # And back: the supervisor unpauses, the agent is Available again.
    window.actions_by_id["unpause"].trigger()
    qtbot.waitUntil(lambda: desk.controller.state.state is AgentState.AVAILABLE, timeout=10_000)


def test_an_agents_desktop_has_no_supervisor_views(desk: Any, audit: LocalWriter) -> None:
    window = desk.window
    assert "wallboard" not in window.actions_by_id and "reports" not in window.actions_by_id
    identity = desk.controller.agent
    assert identity.role is Role.AGENT
    loop, bridge = LoopThread("unused"), Bridge()
    try:
        assert install_supervisor(window, identity, bridge=bridge, client=None, loop=loop,  # type: ignore[arg-type]
                                  audit=audit, floor=None, data_dir=desk.stores.local.url) is None  # type: ignore[arg-type]  # fmt: skip
        with pytest.raises(PermissionDenied):
            open_wallboard(identity, load_settings(), audit=audit, client=None, loop=loop,
                           bridge=bridge)  # fmt: skip
    finally:
        bridge.shutdown()


def test_a_supervisors_desktop_opens_the_wallboard_on_its_own_pbx_link(
    desk_factory: Any, qtbot: QtBot
) -> None:
    def promote(central: Engine) -> None:
        with central.begin() as conn:
            conn.execute(update(Agent).where(Agent.login == "alice").values(role=Role.SUPERVISOR))

    desk = desk_factory(seed=promote)
    window = desk.window
    action = window.actions_by_id["wallboard"]
    assert action.shortcut().toString() == "Ctrl+Shift+W"
    action.trigger()
    launcher = next(c for c in window.children() if type(c).__name__ == "SupervisorLauncher")
    board = launcher.wallboard
    assert board is not None
    # It shares the desktop's AMI client, already logged in: the wallboard resyncs itself.
    qtbot.waitUntil(lambda: _alice(board) is not None, timeout=10_000)
    placed = desk.call("+447700900123")
    qtbot.waitUntil(lambda: _alice(board).status is AgentStatus.RINGING, timeout=10_000)
    assert "+447700900123" in _alice(board).caller
    assert placed.linkedid
    started = time.monotonic()
    window.actions_by_id["wallboard"].trigger()  # a second press brings the same window up
    assert launcher.wallboard is board and time.monotonic() - started < 1
