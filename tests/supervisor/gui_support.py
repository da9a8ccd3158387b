"""The real wallboard against the in-process PBX simulator (its own loop thread), for GUI tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot

from agentdesk.services.desk.agent_state import load_policy
from agentdesk.services.supervisor import SupervisorSettings
from agentdesk.store.writer import LocalWriter
from agentdesk.telephony.client import AmiClient
from agentdesk.telephony.loop_thread import LoopThread
from agentdesk.telephony.sim.config import QueueConfig
from agentdesk.telephony.sim.simulator import PbxSimulator, PlacedCall
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.supervisor import WallboardWindow, open_wallboard
from tests.telephony.amihelpers import make_config, make_sim

QUEUES = {
    "general": QueueConfig("general", timeout=15, retry=5, wrapuptime=0, servicelevel=20),
    "sales": QueueConfig("sales", timeout=15, retry=5, wrapuptime=0, servicelevel=30),
}


class SimThread:
    """The simulator on its own asyncio loop thread; every call is marshalled onto it."""

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


@dataclass
class Board:
    """A running wallboard, its simulator and its pieces."""

    window: WallboardWindow
    sim: SimThread
    client: AmiClient
    loop: LoopThread
    bridge: Bridge
    qtbot: QtBot
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
        self.loop.submit(self.client.close()).result(5)
        self.loop.stop()
        self.bridge.shutdown()
        self.sim.stop()


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

    sim = sim or SimThread(agents, **sim_kwargs)
    loop = LoopThread("test-supervisor")
    bridge = Bridge()
    client = AmiClient("127.0.0.1", sim.sim.port, "desk", "s3cret", ping_interval=60)
    window = open_wallboard(
        session, settings or default_settings(), audit=audit, client=client, loop=loop,
        bridge=bridge, queue_log=queue_log, workstation="sup-1",
        reasons=load_policy().reasons,
    )  # fmt: skip
    qtbot.addWidget(window)
    window.show()
    return Board(window, sim, client, loop, bridge, qtbot)
