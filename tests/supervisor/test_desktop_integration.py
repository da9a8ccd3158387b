"""The supervisor views inside the real desktop, everything through the server.

Desktops are built as ``agentdesk run`` builds them with a server configured:
no AMI login on any desktop; the server's CTI gateway holds the one login to
the in-process simulator, agents get their calls from ``/api/v1/cti`` and the
supervisor's wallboard its floor from ``/api/v1/cti/floor``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from agentdesk.app import Desktop, Stores, build_desktop, server_connection
from agentdesk.client.api import ServerApi
from agentdesk.client.floor import ServerFloorFeed
from agentdesk.client.signin import DesktopSignIn
from agentdesk.config import LocalSettings, Settings
from agentdesk.models import Role
from agentdesk.server.run import ServerThread
from agentdesk.services.desk.agent_state import AgentState
from agentdesk.services.platform.roles import PermissionDenied
from agentdesk.services.supervisor import AgentStatus, load_settings
from agentdesk.store import migrate
from agentdesk.store.engine import sqlite_engine
from agentdesk.store.writer import LocalWriter
from agentdesk.telephony.sim.simulator import PlacedCall
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.supervisor import WallboardWindow, open_wallboard
from agentdesk.ui.supervisor.install import install_supervisor
from tests.supervisor.conftest import audit_entries
from tests.supervisor.gui_support import seed_floor, start_floor_server
from tests.ui.conftest import SimThread
from tests.ui.data import PASSWORD
from tests.ui_workspace.builders import FIELD_KEYRING

pytestmark = pytest.mark.gui
IFACE = "PJSIP/1001"
SUPERVISOR = "sam"


@dataclass
class Floor:
    """The central store, the simulator, the server; ``desk(login)`` builds a desktop."""

    central: Engine
    sim: SimThread
    server: ServerThread
    qtbot: QtBot
    tmp_path: Path
    made: list[tuple[Desktop, Bridge, Stores]]

    def desk(self, login: str) -> Desktop:
        cache = sqlite_engine(self.tmp_path / f"cache-{login}.db")
        migrate.upgrade(cache)
        stores = Stores(cache)
        api = ServerApi(self.server.url)
        signin = DesktopSignIn(api, f"ws-{login}")
        identity = signin.authenticate(login, PASSWORD)
        connection = server_connection(api, signin.grant)
        bridge = Bridge()
        data_dir = self.tmp_path / login
        data_dir.mkdir()
        desktop = build_desktop(
            Settings(data_dir=data_dir, local=LocalSettings(full_replica=True)),
            stores, identity, bridge, None, server=connection,
        )  # fmt: skip
        self.made.append((desktop, bridge, stores))
        self.qtbot.addWidget(desktop.window)
        desktop.window.show()
        return desktop

    def call(self, number: str) -> PlacedCall:
        placed: PlacedCall = self.sim.run(
            self.sim.sim.place_call, number, queue="general", agent=IFACE
        )
        return placed


@pytest.fixture
def floor(qtbot: QtBot, tmp_path: Path) -> Iterator[Floor]:
    central = sqlite_engine(tmp_path / "central.db")
    migrate.upgrade(central, field_keyring=FIELD_KEYRING)
    seed_floor(central, {"alice": IFACE}, SUPERVISOR)
    sim = SimThread()
    sim.run(sim.sim.add_agent, IFACE, "Alice Agent", {"general": 0})
    server = start_floor_server(central, sim.sim.port, "agentdesk", sim.secret, tmp_path)
    made = Floor(central, sim, server, qtbot, tmp_path, [])
    try:
        yield made
    finally:
        for desktop, bridge, stores in made.made:
            desktop.shutdown()
            bridge.shutdown()
            stores.dispose()
        server.stop()
        sim.stop()
        central.dispose()


def _launcher(desktop: Desktop) -> Any:
    return next(c for c in desktop.window.children() if type(c).__name__ == "SupervisorLauncher")


def _alice(window: WallboardWindow) -> Any:
    snapshot = window.last_snapshot
    return snapshot.agent(IFACE) if snapshot is not None else None


def test_a_supervisors_desktop_shows_the_live_floor_from_the_server(
    floor: Floor, qtbot: QtBot
) -> None:
    sup = floor.desk(SUPERVISOR)
    action = sup.window.actions_by_id["wallboard"]
    assert action.shortcut().toString() == "Ctrl+Shift+W"
    action.trigger()
    launcher = _launcher(sup)
    board = launcher.wallboard
    assert board is not None
    # The badge follows the server's report of the PBX link (its first snapshot says it).
    qtbot.waitUntil(lambda: board.ui.link.text() == "PBX: connected", timeout=10_000)
    qtbot.waitUntil(lambda: _alice(board) is not None, timeout=10_000)
    assert board.ui.link.text() == "PBX: connected"
    assert board.last_snapshot.connected is True
    assert _alice(board).status is AgentStatus.AVAILABLE
    general = board.last_snapshot.queue("general")
    assert (general.logged_in, general.available) == (1, 1)

    # A call rings alice's phone: the wallboard follows, live.
    def ringing(snapshot: Any) -> bool:
        row = snapshot.agent(IFACE)
        return row is not None and row.status is AgentStatus.RINGING

    with qtbot.waitSignal(board.snapshot_applied, timeout=10_000, check_params_cb=ringing):
        placed = floor.call("+447700900123")
    assert "+447700900123" in _alice(board).caller and placed.linkedid
    # A second press brings the same window up.
    action.trigger()
    assert launcher.wallboard is board


def test_a_pause_issued_by_the_supervisor_shows_on_the_agents_desktop(
    floor: Floor, qtbot: QtBot
) -> None:
    agent = floor.desk("alice")
    qtbot.waitUntil(lambda: agent.controller.state.state is AgentState.AVAILABLE, timeout=10_000)
    sup = floor.desk(SUPERVISOR)
    sup.window.actions_by_id["wallboard"].trigger()
    window = _launcher(sup).wallboard
    qtbot.waitUntil(lambda: _alice(window) is not None, timeout=10_000)
    assert window.ui.agents.select_key(0, "Alice Agent")
    window.actions_by_id["pause"].trigger()
    dialog = window.open_dialog
    dialog.reason.setCurrentIndex(dialog.reason.findData("Coaching"))
    with qtbot.waitSignal(window.action_reported, timeout=10_000) as reported:
        dialog.accept()
    assert "done" in reported.args[0]
    # The PBX tells the agent's desktop (through the server): its state bar says why.
    qtbot.waitUntil(lambda: agent.controller.state.state is AgentState.NOT_READY, timeout=10_000)
    assert agent.controller.state.label == "Not ready: Coaching session"
    qtbot.waitUntil(lambda: _alice(window).status is AgentStatus.PAUSED, timeout=10_000)
    assert _alice(window).reason == "Coaching"
    entries = audit_entries(LocalWriter(floor.made[-1][2].local, SUPERVISOR))  # sam's cache
    assert (entries[0].action, entries[0].entity_id, entries[0].reason) == (
        "supervisor.pause", IFACE, "Coaching",
    )  # fmt: skip
    window.actions_by_id["unpause"].trigger()
    qtbot.waitUntil(lambda: agent.controller.state.state is AgentState.AVAILABLE, timeout=10_000)


def test_an_agents_desktop_has_no_supervisor_views(floor: Floor, tmp_path: Path) -> None:
    desktop = floor.desk("alice")
    window = desktop.window
    assert "wallboard" not in window.actions_by_id and "reports" not in window.actions_by_id
    identity = desktop.controller.agent
    assert identity.role is Role.AGENT
    audit = LocalWriter(floor.made[0][2].local, "alice")
    bridge = Bridge()
    source = ServerFloorFeed(ServerApi(floor.server.url))
    try:
        assert install_supervisor(window, identity, bridge=bridge, api=None, audit=audit,
                                  floor=None, data_dir=tmp_path) is None  # fmt: skip
        with pytest.raises(PermissionDenied):
            open_wallboard(identity, load_settings(), audit=audit, source=source, bridge=bridge)
    finally:
        bridge.shutdown()
        source.api.close()
