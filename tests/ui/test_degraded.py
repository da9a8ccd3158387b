"""Start-up faults the desktop survives and explains: no PBX, wrong AMI secret, no central."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from agentdesk.app import AmiCredentials, Stores, build_desktop
from agentdesk.config import Settings
from agentdesk.models import Role
from agentdesk.services.desk.agent_state import AgentState
from agentdesk.services.platform.auth import AgentIdentity
from agentdesk.store import migrate
from agentdesk.store.engine import sqlite_engine
from agentdesk.ui.bridge import Bridge
from tests.ui.conftest import SimThread
from tests.ui.data import add_agent

pytestmark = pytest.mark.gui


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def offline_desktop(qtbot: Any, tmp_path: Path) -> Any:
    local = sqlite_engine(tmp_path / "cache.db")
    migrate.upgrade(local)
    agent_id = add_agent(local)
    stores = Stores(local)
    identity = AgentIdentity(
        agent_id, "alice", "Alice Agent", Role.AGENT, "PJSIP/1001", "1001", "local"
    )
    bridge = Bridge()
    made: list[Any] = []

    def build(ami: AmiCredentials) -> Any:
        desktop = build_desktop(
            Settings(data_dir=tmp_path), stores, identity, bridge, ami, server=None
        )
        qtbot.addWidget(desktop.window)
        made.append(desktop)
        return desktop

    yield build
    for desktop in made:
        desktop.shutdown()
    bridge.shutdown()
    local.dispose()


def test_unreachable_pbx_is_explained_and_retried(offline_desktop: Any, qtbot: Any) -> None:
    desktop = offline_desktop(AmiCredentials("127.0.0.1", closed_port(), "agentdesk", "x", "plain"))
    with qtbot.waitSignal(desktop.controller.notice, timeout=10_000) as notice:
        pass
    assert notice.args[0] == "warning" and "Cannot reach the PBX at 127.0.0.1:" in notice.args[1]
    assert desktop.controller.state.state is AgentState.OFFLINE
    assert "PBX offline" in desktop.window.state_bar.text
    qtbot.waitUntil(
        lambda: desktop.window.status.pbx.text() in ("PBX: DISCONNECTED", "PBX: reconnecting…")
    )
    # Without a central store the desktop still opens and says where it works from.
    assert desktop.sync is None and "Server: OFFLINE" in desktop.window.status.store.text()


def test_wrong_ami_secret_is_a_clear_final_error(offline_desktop: Any, qtbot: Any) -> None:
    sim = SimThread()
    try:
        desktop = offline_desktop(AmiCredentials("127.0.0.1", sim.sim.port, "agentdesk", "wrong"))
        qtbot.waitUntil(
            lambda: desktop.window.status.pbx.text() == "PBX: login refused", timeout=15_000
        )
        assert "refused the desktop's login" in desktop.window.status.notice.text()
    finally:
        sim.stop()
