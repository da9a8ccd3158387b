"""The real desktop on temporary stores, against the in-process PBX simulator.

``desk`` builds what ``agentdesk run`` builds (through ``agentdesk.app``):
a central store behind a real ``agentdesk server`` on a loopback thread, the
local cache, services, the AMI client on its loop thread and the main window,
signed in through the server as ``alice`` on ``PJSIP/1001``. The simulator runs
on its own loop thread with no background traffic; tests place calls with
``desk.call(number)`` and wait on the window's signals.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from agentdesk.app import AmiCredentials, Desktop, Stores, build_desktop
from agentdesk.config import LocalSettings, Settings
from agentdesk.services.desk.agent_state import AgentState, load_policy
from agentdesk.store import migrate
from agentdesk.store.engine import sqlite_engine
from agentdesk.telephony.loop_thread import LoopThread
from agentdesk.telephony.sim.config import load_config
from agentdesk.telephony.sim.simulator import PbxSimulator, PlacedCall
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.desk_controller import DeskOptions
from tests.support.server import LoopbackServer
from tests.ui.data import PASSWORD, add_agent
from tests.ui_workspace.builders import FIELD_KEYRING

IFACE = "PJSIP/1001"


class SimThread:
    """The simulator on its own asyncio loop thread; calls are marshalled onto it."""

    def __init__(self, time_scale: float = 1.0) -> None:
        config = load_config()
        self.secret = next(u.secret for u in config.users if u.username == "agentdesk")
        self.sim = PbxSimulator(
            config, seed=3, time_scale=time_scale, traffic=False, virtual_agents=0, port=0
        )
        self.loop = LoopThread("test-pbx")
        self.loop.start()
        self.loop.submit(self.sim.start()).result(10)

    def run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        async def call() -> Any:
            return fn(*args, **kwargs)

        return self.loop.submit(call()).result(10)

    def stop(self) -> None:
        self.loop.submit(self.sim.stop()).result(10)
        self.loop.stop()
        self.sim.close()


@dataclass
class Desk:
    """Handles a test needs: the desktop, its stores, the simulator and qtbot."""

    desktop: Desktop
    stores: Stores
    central: Engine
    sim: SimThread
    qtbot: QtBot

    @property
    def window(self) -> Any:
        return self.desktop.window

    @property
    def controller(self) -> Any:
        return self.desktop.controller

    def call(self, number: str, **kwargs: Any) -> PlacedCall:
        kwargs.setdefault("queue", "general")
        return self.sim.run(self.sim.sim.place_call, number, agent=IFACE, **kwargs)

    def wait_pop(self, placed: PlacedCall, *, settled: bool = True, timeout: int = 10_000) -> Any:
        """Wait until the pop shows this call (and, with ``settled``, no lookup is running)."""

        def shown() -> bool:
            pop = self.window.pop.content
            assert pop is not None and pop.linkedid == placed.linkedid
            assert not (settled and pop.looking_up)
            return True

        self.qtbot.waitUntil(shown, timeout=timeout)
        return self.window.pop.content

    def wait_state(self, state: AgentState, timeout: int = 10_000) -> None:
        self.qtbot.waitUntil(lambda: self.controller.state.state is state, timeout=timeout)


def make_stores(tmp_path: Path) -> tuple[Engine, Stores]:
    """(the central store the server opens, the desktop's cache)."""
    central = sqlite_engine(tmp_path / "central.db")
    local = sqlite_engine(tmp_path / "cache.db")
    migrate.upgrade(central, field_keyring=FIELD_KEYRING)
    migrate.upgrade(local)
    return central, Stores(local)


@pytest.fixture
def desk_factory(qtbot: QtBot, tmp_path: Path) -> Iterator[Any]:
    made: list[tuple[Desktop, Bridge]] = []
    # Stopped at the end even when a build fails half-way (a server or simulator left
    # running would keep its threads, ports and files for the rest of the session).
    parts = contextlib.ExitStack()

    def build(
        *,
        auto_answer: bool = False,
        acw_limit: int = 0,
        time_scale: float = 1.0,
        seed: Any = None,
        late_seed: Any = None,
    ) -> Desk:
        """``seed(central)`` runs before the desktop starts (the sync fill copies it into the
        cache); ``late_seed(central)`` after the fill, so those rows exist centrally only."""
        central, stores = make_stores(tmp_path)
        parts.callback(central.dispose)
        parts.callback(stores.dispose)
        add_agent(central)
        if seed is not None:
            seed(central)
        server = LoopbackServer.start(central, cipher=FIELD_KEYRING)
        parts.callback(server.stop)
        sim = SimThread(time_scale)
        parts.callback(sim.stop)
        sim.run(sim.sim.add_agent, IFACE, "Alice Agent", {"general": 0})
        identity, connection = server.sign_in("alice", PASSWORD)
        bridge = Bridge()
        desktop = build_desktop(
            Settings(data_dir=tmp_path, local=LocalSettings(full_replica=True)),
            stores,
            identity,
            bridge,
            AmiCredentials("127.0.0.1", sim.sim.port, "agentdesk", sim.secret),
            server=connection,
            options=DeskOptions(auto_answer=auto_answer),
            policy=load_policy(acw_limit_seconds=acw_limit),
        )
        made.append((desktop, bridge))
        qtbot.addWidget(desktop.window)
        desktop.window.show()
        desk = Desk(desktop, stores, central, sim, qtbot)
        assert desktop.sync is not None
        assert desktop.sync.wait_for(lambda st: st.phase == "idle", 30), desktop.sync.status()
        if late_seed is not None:
            late_seed(central)
        desk.wait_state(AgentState.AVAILABLE)
        return desk

    with parts:
        yield build
        for desktop, bridge in made:
            desktop.shutdown()
            bridge.shutdown()


@pytest.fixture
def desk(desk_factory: Any) -> Desk:
    return desk_factory()
