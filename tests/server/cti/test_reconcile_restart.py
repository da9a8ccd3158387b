"""Issue 15 "Done means": a day replayed with a PBX restart (and a server restart) in the middle,
and the live wallboard's day totals equal to the report's over the same period.

A real server whose CTI gateway is logged in to the bundled PBX simulator on
loopback, with its own traffic (20 virtual agents, the retail IVR, time
accelerated 60 times: a few seconds are a morning). Half-way the PBX restarts
(a new simulator on the same port: the calls in progress are gone, the AMI
session drops); later the server restarts on the same database. At the end
the traffic stops, the last calls finish, and the supervisor's floor socket
(live), the server's reconciliation and ``GET /supervisor/reports`` (the
report over the stored records) must tell the same day, and every call the
first PBX completed while the server listened must be in the stored records.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from websockets.sync.client import ClientConnection, connect

from agentdesk.client.api import ServerApi
from agentdesk.client.floor import FloorModel
from agentdesk.models import QueueRecord
from agentdesk.server.cti.config import PbxConfig
from agentdesk.server.run import ServerThread
from agentdesk.services.supervisor.queue_log import QueueLogReader
from agentdesk.store.engine import read_session
from agentdesk.telephony.loop_thread import LoopThread
from agentdesk.telephony.sim.config import load_config
from agentdesk.telephony.sim.simulator import PbxSimulator
from tests.server.cti.conftest import secret_file, seed, start_server, wait_until
from tests.ui.data import PASSWORD

SCALE = 60.0


class TrafficPbx:
    """The simulator with its own traffic, on its own loop thread."""

    def __init__(self, seed_: int, queue_log: Path, port: int = 0, epoch: float | None = None):
        config = load_config()
        self.secret = next(u.secret for u in config.users if u.username == "agentdesk")
        self.loop = LoopThread(f"test-day-pbx-{seed_}")
        self.loop.start()

        async def make() -> PbxSimulator:
            sim = PbxSimulator(
                config, seed=seed_, time_scale=SCALE, port=port, epoch=epoch,
                queue_log=queue_log, virtual_agents=20, traffic=True,
            )  # fmt: skip
            await sim.start()
            return sim

        self.sim: PbxSimulator = self.loop.submit(make()).result(20)

    def run(self, fn: Any, *args: Any) -> Any:
        async def call() -> Any:
            return fn(*args)

        return self.loop.submit(call()).result(10)

    def epoch(self) -> float:
        return float(self.run(self.sim.sched.epoch))

    def quiet(self) -> bool:
        """No arrivals any more and no call left (in the IVR, waiting or talking)."""
        self.run(setattr, self.sim, "traffic_on", False)
        # Ended calls stay in ``sim.calls`` until the simulator's periodic purge: count live ones.
        return not self.run(lambda: sum(c.state != "ended" for c in self.sim.calls.values()))

    def hang_up_all(self) -> int:
        """Close the day: hang up every call still up, each as an AMI ``Hangup`` of the
        caller's channel would (handle times are heavy-tailed: a long call at 60x can
        outlast the test). Returns how many calls were ended."""

        def close() -> int:
            live = [c for c in self.sim.calls.values() if c.state != "ended"]
            for call in live:
                self.sim.actions._hangup(call.chan, call)
            return len(live)

        return int(self.run(close))

    def stop(self) -> None:
        self.loop.submit(self.sim.stop()).result(10)
        self.loop.stop()
        self.sim.close()


class Floor:
    """A supervisor's floor socket applied to the desktop's own FloorModel."""

    def __init__(self, url: str, token: str) -> None:
        self._stack = contextlib.ExitStack()
        self.ws: ClientConnection = self._stack.enter_context(
            connect(
                url.replace("http://", "ws://", 1) + "/api/v1/cti/floor",
                additional_headers={"Authorization": f"Bearer {token}"},
                open_timeout=10,
            )
        )
        self.model = FloorModel()
        self.model.online = True
        self.reconcile: dict[str, Any] | None = None

    def read(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                text = self.ws.recv(left)
            except TimeoutError:
                return
            self.model.apply(text)
            message = json.loads(text)
            for site in message.get("sites", [message]):
                if site.get("reconcile"):
                    self.reconcile = site["reconcile"]

    def totals(self) -> dict[str, tuple[int, int, int]]:
        board = self.model.board(time.time())
        return {q.name: (q.offered, q.answered, q.abandoned) for q in board.queues if q.offered}

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._stack.close()


class Supervisor:
    def __init__(self, url: str) -> None:
        self.api = ServerApi(url)
        self.api.sign_in("sue", PASSWORD, "ws-sue")
        assert self.api.token is not None
        self.http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {self.api.token}"}, timeout=30
        )

    def floor(self, url: str) -> Floor:
        assert self.api.token is not None
        return Floor(url, self.api.token)

    def reconciliation(self) -> dict[str, Any]:
        response = self.http.get("/api/v1/supervisor/reconciliation")
        assert response.status_code == 200, response.text
        sites: list[dict[str, Any]] = response.json()["sites"]
        assert [s["site"] for s in sites] == ["lab"]
        return sites[0]

    def report(self, start: str, end: str) -> dict[str, Any]:
        params = {"start": start, "end": end, "interval": "day", "by": "queue"}
        response = self.http.get("/api/v1/supervisor/reports", params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def close(self) -> None:
        self.http.close()
        self.api.close()


def _connected(url: str) -> bool:
    return bool(httpx.get(url + "/ready", timeout=10).json()["pbx"]["lab"]["state"] == "connected")


@pytest.fixture
def servers() -> Iterator[list[ServerThread]]:
    made: list[ServerThread] = []
    yield made
    for thread in made:
        with contextlib.suppress(Exception):
            thread.stop()


def test_a_day_with_a_pbx_restart_and_a_server_restart_live_equals_report(
    cti_central: Engine, tmp_path: Path, servers: list[ServerThread]
) -> None:
    seed(cti_central)
    queue_log = tmp_path / "queue_log"
    first = TrafficPbx(11, queue_log)
    pbxs = [first]
    people: list[Any] = []
    try:
        pbx = PbxConfig(
            site="lab", host="127.0.0.1", port=first.sim.port, username="agentdesk",
            secret_file=secret_file(tmp_path, first.secret), transfer_context="transfers",
        )  # fmt: skip
        server, _ = start_server(cti_central, (pbx,))
        servers.append(server)
        wait_until(lambda: _connected(server.url), 15, "the PBX link")
        sue = Supervisor(server.url)
        people.append(sue)

        # The morning: calls arrive, are answered, abandoned, time out.
        time.sleep(8)
        before_restart = sue.reconciliation()
        assert before_restart["live"]["offered"] > 5, before_restart
        assert before_restart["drift"] == 0, before_restart

        # The PBX restarts: calls in progress are gone, the AMI session drops.
        port, epoch = first.sim.port, first.epoch()
        first.stop()
        pbxs.remove(first)
        completed_by_first = {
            r.call_id
            for r in QueueLogReader().read_file(queue_log)
            if r.event in ("COMPLETECALLER", "COMPLETEAGENT")
        }
        second = TrafficPbx(12, queue_log, port=port, epoch=epoch)
        pbxs.append(second)
        wait_until(lambda: _connected(server.url), 30, "the link back to the restarted PBX")
        time.sleep(5)
        mid = sue.reconciliation()
        assert mid["drift"] == 0, mid
        assert mid["live"]["offered"] > before_restart["live"]["offered"]

        # The server restarts on the same database: today's figures come back from it.
        server.stop()
        servers.remove(server)
        sue.close()
        people.remove(sue)
        with read_session(cti_central) as s:
            stored = set(s.scalars(select(QueueRecord.call_id).where(
                QueueRecord.kind.in_(("COMPLETECALLER", "COMPLETEAGENT")))))  # fmt: skip
        # No call the first PBX completed while the server listened is lost.
        first_seen = min(stored_epochs(cti_central))
        lost = {c for c in completed_by_first if c not in stored and _epoch(c) >= first_seen}
        assert not lost, f"{len(lost)} completed call(s) missing from the stored records"

        server, _ = start_server(cti_central, (pbx,))
        servers.append(server)
        sue = Supervisor(server.url)
        people.append(sue)
        restored = sue.reconciliation()
        assert restored["live"]["offered"] >= mid["live"]["offered"], (restored, mid)
        assert restored["drift"] == 0, restored
        wait_until(lambda: _connected(server.url), 15, "the new server's PBX link")
        time.sleep(3)

        # The evening: no more arrivals; the last calls finish; both views settle.
        with contextlib.suppress(AssertionError):
            wait_until(second.quiet, 20, "the last calls to finish")
        second.hang_up_all()
        wait_until(second.quiet, 30, "the last calls to be hung up")
        time.sleep(3)  # held abandons and leaves settle (2 s grace), the board republishes
        final = sue.reconciliation()
        assert final["drift"] == 0 and final["complete"] and final["dropped"] == 0, final
        assert final["live"] == final["report"]
        assert final["live"]["offered"] > mid["live"]["offered"]
        assert final["live"]["answered"] > 0 and final["live"]["handled"] > 0

        report = sue.report(final["start"], final["end"])
        by_queue = {
            t["queue"]: (t["offered"], t["answered"], t["abandoned"])
            for t in report["totals"]
            if t["offered"]
        }
        floor = sue.floor(server.url)
        people.append(floor)
        floor.read(3)
        assert floor.totals() == by_queue
        grand = report["grand_total"]
        assert grand["offered"] == final["live"]["offered"]
        assert grand["answered"] == final["live"]["answered"]
        # The wallboard carries the reconciliation figure too.
        assert floor.reconcile is not None and floor.reconcile["drift"] == 0
    finally:
        for person in people:
            person.close()
        for made in pbxs:
            made.stop()


def stored_epochs(engine: Engine) -> list[float]:
    with read_session(engine) as s:
        return [float(e) for e in s.scalars(select(QueueRecord.epoch))]


def _epoch(call_id: str) -> float:
    """The simulator's uniqueids start with the epoch second the call was made."""
    return float(call_id.split(".", 1)[0])
