"""Screenshots of the idle lock and of a workspace for a customer with a hostile name.

The real main window (as ``agentdesk.app.build_desktop`` builds it) on temporary stores,
against the in-process PBX simulator, under a real X server:

    ../shared/tools/screen start && DISPLAY=:77 .venv/bin/python bench/idle_lock_screens.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keyring
from PySide6.QtWidgets import QApplication

from agentdesk.app import AmiCredentials, build_desktop
from agentdesk.config import LocalSettings, Settings
from agentdesk.services.desk.agent_state import AgentState, load_policy
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.desk_controller import DeskOptions
from agentdesk.ui.idle_lock import install_idle_lock
from agentdesk.vault import MemoryKeyring
from tests.support.server import LoopbackServer
from tests.ui.conftest import IFACE, SimThread, make_stores
from tests.ui.data import PASSWORD, add_agent, add_customer
from tests.ui_workspace.builders import FIELD_KEYRING

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
HOSTILE = "<b style=color:green>ID&V PASSED</b> \u202eDESSAP"


def settle(app: QApplication, seconds: float = 1.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def wait(app: QApplication, condition: object, seconds: float = 15.0) -> None:
    end = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        if time.monotonic() > end:
            raise TimeoutError("condition not met")
        app.processEvents()
        time.sleep(0.02)


def shoot(app: QApplication, name: str) -> None:
    settle(app)
    OUT.mkdir(parents=True, exist_ok=True)
    subprocess.run(["import", "-window", "root", str(OUT / f"{name}.png")], check=True)
    print("saved", OUT / f"{name}.png")


def main() -> None:
    keyring.set_keyring(MemoryKeyring())
    app = QApplication(sys.argv)
    tmp = Path(tempfile.mkdtemp())
    central, stores = make_stores(tmp)
    add_agent(central)
    add_customer(central, HOSTILE, "+447700900123")
    server = LoopbackServer.start(central, cipher=FIELD_KEYRING)
    sim = SimThread()
    sim.run(sim.sim.add_agent, IFACE, "Alice Agent", {"general": 0})
    identity, connection = server.sign_in("alice", PASSWORD)
    bridge = Bridge()
    desktop = build_desktop(
        Settings(data_dir=tmp, local=LocalSettings(full_replica=True)),
        stores,
        identity,
        bridge,
        AmiCredentials("127.0.0.1", sim.sim.port, "agentdesk", sim.secret),
        server=connection,
        options=DeskOptions(),
        policy=load_policy(),
    )
    window, controller = desktop.window, desktop.controller
    window.resize(1366, 740)
    window.move(0, 0)
    window.show()
    wait(app, lambda: controller.state.state is AgentState.AVAILABLE)
    placed = sim.run(sim.sim.place_call, "+447700900123", agent=IFACE, queue="general")
    wait(app, lambda: window.pop.content is not None and not window.pop.content.looking_up)
    window.actions_by_id["answer"].trigger()
    wait(app, lambda: window.workspace_tabs.count() == 1)
    shoot(app, "hostile-name")

    lock = install_idle_lock(
        window, bridge, lambda p: p == PASSWORD, timeout_s=60, user_label="Alice Agent"
    )
    window.actions_by_id["hangup"].trigger()
    wait(app, lambda: controller.state.state is AgentState.WRAP_UP)
    wait(app, lambda: window.wrapup.context is not None and window.wrapup.isEnabled())
    window.wrapup.set_disposition("resolved")
    window.actions_by_id["wrapup"].trigger()
    wait(app, lambda: controller.state.state is AgentState.AVAILABLE)
    lock.watcher.timer.timeout.emit()  # as if the idle minutes had passed
    lock.screen.password.setText("not it")
    lock.screen.unlock.click()
    wait(app, lambda: lock.screen.unlock.isEnabled())
    sim.run(sim.sim.place_call, "+447700900124", agent=IFACE, queue="general")
    wait(app, lambda: lock.screen.call_notice.isVisible())
    shoot(app, "idle-lock")
    print("call", placed.linkedid)
    desktop.shutdown()
    bridge.shutdown()
    sim.stop()
    stores.dispose()


if __name__ == "__main__":
    main()
