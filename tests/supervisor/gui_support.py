"""The real wallboard fed by the server's floor, over a real server logged in to the simulator.

``start_board`` builds what a supervisor's desktop has since the floor moved
to the server: a central store with the supervisor and the simulator's agents,
``agentdesk server`` on loopback whose CTI gateway holds the only AMI login
(to the in-process simulator on its own loop thread), a signed-in
:class:`~agentdesk.client.api.ServerApi`, and the wallboard opened on
``/api/v1/cti/floor``.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot
from sqlalchemy import Engine, insert, select, update

from agentdesk.client.api import ServerApi
from agentdesk.client.floor import ServerFloorFeed
from agentdesk.ids import uuid7
from agentdesk.models import Agent, Role, Team
from agentdesk.models.org import agent_team
from agentdesk.server.app import build_context, create_app
from agentdesk.server.cti.config import PbxConfig
from agentdesk.server.run import ServerThread
from agentdesk.server.settings import ListenSettings, ServerSettings
from agentdesk.services.desk.agent_state import load_policy
from agentdesk.services.supervisor import SupervisorSettings
from agentdesk.store import migrate
from agentdesk.store.engine import sqlite_engine, write_session
from agentdesk.store.writer import LocalWriter
from agentdesk.telephony.loop_thread import LoopThread
from agentdesk.telephony.sim.config import QueueConfig
from agentdesk.telephony.sim.simulator import PbxSimulator, PlacedCall
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.supervisor import WallboardWindow, open_wallboard
from tests.telephony.amihelpers import make_config, make_sim
from tests.ui.data import PASSWORD, add_agent
from tests.ui_workspace.builders import FIELD_KEYRING

QUEUES = {
    "general": QueueConfig("general", timeout=15, retry=5, wrapuptime=0, servicelevel=20),
    "sales": QueueConfig("sales", timeout=15, retry=5, wrapuptime=0, servicelevel=30),
}
SUPERVISOR = "sam.supervisor"


class SimThread:
    """The simulator on its own asyncio loop thread; every call is marshalled onto it."""

    username, secret = "desk", "s3cret"

    def __init__(self, agents: int = 2, **kwargs: Any) -> None:
        import time

        kwargs.setdefault("epoch", time.time())
        self.sim: PbxSimulator = make_sim(make_config(queues=QUEUES, agents=agents), **kwargs)
        self.loop = LoopThread("test-pbx")
        self.loop.start()
        self.loop.submit(self.sim.start()).result(10)

    def run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        async def call() -> Any:
            result = fn(*args, **kwargs)
            self.sim.writer.flush()
            return result

        return self.loop.submit(call()).result(10)

    def call(self, number: str, queue: str = "general", **kwargs: Any) -> PlacedCall:
        return self.run(self.sim.place_call, number, queue=queue, **kwargs)

    def stop(self) -> None:
        self.loop.submit(self.sim.stop()).result(10)
        self.loop.stop()
        self.sim.close()


def seed_floor(central: Engine, agents: dict[str, str], supervisor: str = SUPERVISOR) -> None:
    """``supervisor`` (role supervisor) and ``agents`` (login -> interface) in one team."""
    for login, interface in agents.items():
        add_agent(central, login, interface)
    add_agent(central, supervisor, "PJSIP/9999")
    team = uuid7()
    with write_session(central) as s:
        s.execute(update(Agent).where(Agent.login == supervisor).values(role=Role.SUPERVISOR))
        s.execute(insert(Team), [{"id": team, "name": "Floor"}])
        ids = s.execute(select(Agent.id)).scalars().all()
        s.execute(insert(agent_team), [{"agent_id": i, "team_id": team} for i in ids])


def start_floor_server(
    central: Engine, port: int, username: str, secret: str, folder: Path
) -> ServerThread:
    """``agentdesk server`` on loopback with its CTI gateway logged in to the simulator."""
    path = folder / "ami.secret"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secret + "\n")
    pbx = PbxConfig(site="lab", host="127.0.0.1", port=port, username=username, secret_file=path)
    listen = ListenSettings(host="127.0.0.1", port=0)
    ctx = build_context(central, ServerSettings(listen=listen, pbx=(pbx,)), cipher=FIELD_KEYRING)
    thread = ServerThread(create_app(ctx), listen)
    thread.start()
    return thread


@dataclass
class Board:
    """A running wallboard, its server, its simulator and its pieces."""

    window: WallboardWindow
    sim: SimThread
    server: ServerThread
    api: ServerApi
    bridge: Bridge
    qtbot: QtBot
    central: Engine
    folder: tempfile.TemporaryDirectory[str]
    stopped: list[Any] = field(default_factory=list)

    def wait(self, predicate: Any, timeout: int = 10_000) -> None:
        def check() -> bool:
            snapshot = self.window.last_snapshot
            assert snapshot is not None and predicate(snapshot)
            return True

        self.qtbot.waitUntil(check, timeout=timeout)

    def cell(self, table: Any, row_key: str, title: str) -> str:
        """The text a table shows for the row whose first column is ``row_key``."""
        model = table.proxy
        column = next(i for i, c in enumerate(table.source.columns) if c.title == title)
        for row in range(model.rowCount()):
            if model.index(row, 0).data() == row_key:
                return str(model.index(row, column).data())
        raise AssertionError(f"no row {row_key!r}")

    def close(self) -> None:
        self.window.shutdown()
        self.api.close()
        self.bridge.shutdown()
        self.server.stop()
        self.sim.stop()
        self.central.dispose()
        self.folder.cleanup()


def start_board(
    qtbot: QtBot,
    session: Any,
    audit: LocalWriter,
    *,
    agents: int = 2,
    settings: SupervisorSettings | None = None,
    queue_log: Path | None = None,
    sim: SimThread | None = None,
    **sim_kwargs: Any,
) -> Board:
    from tests.supervisor.simfloor import settings as default_settings

    folder = tempfile.TemporaryDirectory(prefix="floor-")
    central = sqlite_engine(Path(folder.name) / "central.db")
    migrate.upgrade(central, field_keyring=FIELD_KEYRING)
    seed_floor(central, {f"agent{3001 + n}": f"PJSIP/agent-{3001 + n}" for n in range(agents)})
    sim = sim or SimThread(agents, **sim_kwargs)
    server = start_floor_server(central, sim.sim.port, sim.username, sim.secret, Path(folder.name))
    api = ServerApi(server.url)
    api.sign_in(SUPERVISOR, PASSWORD, "sup-1")
    bridge = Bridge()
    window = open_wallboard(
        session, settings or default_settings(), audit=audit, source=ServerFloorFeed(api),
        bridge=bridge, queue_log=queue_log, workstation="sup-1",
        reasons=load_policy().reasons,
    )  # fmt: skip
    qtbot.addWidget(window)
    window.show()
    return Board(window, sim, server, api, bridge, qtbot, central, folder)
