"""The wallboard's live feed: the server's floor in, snapshots with alerts out to the GUI.

The floor is computed once on the server (``server/cti/floor.py``) and arrives
over ``/api/v1/cti/floor`` (:class:`~agentdesk.client.floor.ServerFloorFeed`,
on its own loop thread). Everything that touches it runs on that thread: on
each message the feed builds, at most every ``publish_s`` (and at least once
a second, so alerts on waiting time fire on time), a frozen
:class:`BoardSnapshot` with this supervisor's alerts evaluated against it
(the service's alert book: acknowledgements are the supervisor's own), works
out the figures shown beside its rows (a
:class:`~agentdesk.ui.supervisor.panels.BoardFrame`: totals, why callers wait)
and posts that to the GUI thread through the bridge. A frame the GUI thread
has not taken yet is replaced by the newer one, not queued behind it. The GUI
thread only swaps rows into its models. The PBX badge follows the server's
report of each site's link, and says so when the server itself is out of reach.

Supervisor actions go through the service (role check, audit log) to
:class:`~agentdesk.client.floor.FloorActions`: requests for the agent's line
that the server checks and carries out. There is no AMI login on the desktop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import QObject, Signal

from agentdesk.client.floor import ServerFloorFeed
from agentdesk.services.platform.roles import Capability, PermissionDenied, require
from agentdesk.services.supervisor import BoardSnapshot, SupervisorService
from agentdesk.services.supervisor.alerting import conditions_for
from agentdesk.services.supervisor.floor_stats import BreachedTickets
from agentdesk.services.supervisor.reports import Interval
from agentdesk.telephony.loop_thread import LoopThread
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.supervisor.panels import BoardFrame

log = logging.getLogger(__name__)


class SupervisorFeed(QObject):
    """Owns the live side of the wallboard: the floor socket, publishing, actions."""

    snapshot_ready = Signal(object)  # BoardFrame: a BoardSnapshot with its figures
    alerts_raised = Signal(object)  # tuple[Alert, ...]
    today_ready = Signal(object)  # IntervalSeries of today (live cells)
    link_changed = Signal(bool, str)
    action_finished = Signal(object)  # ActionOutcome or Alert
    action_failed = Signal(str)

    def __init__(
        self,
        service: SupervisorService,
        source: ServerFloorFeed,
        bridge: Bridge,
        *,
        publish_s: float = 0.25,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.source = source
        self._loop: LoopThread = source.loop
        self._bridge = bridge
        self._publish_s = publish_s
        self.interval: Interval = source.interval
        self._runner: Future[None] | None = None
        self._publish_handle: asyncio.TimerHandle | None = None
        self._last_publish = 0.0
        self._link: tuple[bool, str] | None = None
        self._pending: BoardFrame | None = None  # posted, not yet taken by the GUI thread
        self._pending_lock = threading.Lock()
        self._started = False
        self.messages_seen = 0

    @property
    def running(self) -> bool:
        return self._started

    # ------------------------------------------------------------------ lifecycle (GUI thread)
    def start(self) -> None:
        """Connect to the server's floor; the service's actions go through the server."""
        if self._started:
            return
        self._started = True
        self.service.set_pbx(self.source.actions())
        self.source.start(self)
        self._runner = self._loop.submit(self._run())

    def stop(self, timeout: float = 3.0) -> None:
        if not self._started:
            return
        self._started = False
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(Exception):
                self._runner.result(timeout)
        self.source.stop(timeout)
        self._loop.stop()

    # ------------------------------------------------------------------ loop thread
    async def _run(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            if self.source.model.online:
                self._publish()

    def on_floor(self, kind: str) -> None:
        """A message from the server was applied to the model (or the socket's state changed)."""
        if not self._started:
            return
        self.messages_seen += 1
        if kind == "today":
            self._post_today()
        elif kind == "link":
            self._publish()
        else:
            self._schedule_publish()

    def _schedule_publish(self) -> None:
        if self._publish_handle is not None:
            return
        wait = max(0.0, self._last_publish + self._publish_s - time.monotonic())
        self._publish_handle = asyncio.get_running_loop().call_later(wait, self._publish)

    def _publish(self) -> None:
        if self._publish_handle is not None:
            self._publish_handle.cancel()
            self._publish_handle = None
        self._last_publish = time.monotonic()
        service = self.service
        try:
            require(service.session, Capability.VIEW_WALLBOARD)
        except PermissionDenied as exc:
            self._bridge.post(self.action_failed.emit, str(exc))
            return
        now = service.now()
        board = self.source.model.board(now)
        service.connected, service.link_detail = board.connected, board.link_detail
        conditions = conditions_for(
            board,
            service.settings.thresholds,
            self.source.model.windows(),
            service.breached.count,
            now,
        )
        changes = service.alerts.update(conditions, now)
        snapshot = BoardSnapshot(
            board.at, board.queues, board.agents, changes.active, board.definition,
            board.connected, board.link_detail,
        )  # fmt: skip
        link = (board.connected, board.link_detail)
        if link != self._link:
            self._link = link
            self._bridge.post(self.link_changed.emit, *link)
        self._hand_over(BoardFrame.of(snapshot))
        if changes.raised:
            self._bridge.post(self.alerts_raised.emit, changes.raised)

    def _hand_over(self, frame: BoardFrame) -> None:
        """Leave ``frame`` for the GUI thread; one waiting there replaces an older one,
        so a GUI thread that fell behind paints the newest floor once, not every step."""
        with self._pending_lock:
            queued = self._pending is not None
            self._pending = frame
        if not queued:
            self._bridge.post(self._on_snapshot_delivered)

    def _on_snapshot_delivered(self) -> None:  # GUI thread
        with self._pending_lock:
            frame, self._pending = self._pending, None
        if frame is not None:
            self.snapshot_ready.emit(frame)

    def _post_today(self) -> None:
        series = self.source.model.today()
        if series is not None:
            self._bridge.post(self.today_ready.emit, series)

    # ------------------------------------------------------------------ requests (GUI thread)
    def run_action(self, make: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        """Run a service coroutine on the loop; its outcome comes back as a signal."""
        if not self._started:
            self.action_failed.emit("the wallboard is not connected")
            return

        async def wrapped() -> Any:
            result = await make()
            self._publish()
            return result

        future = self._loop.submit(wrapped())
        future.add_done_callback(self._on_action_done)

    def _on_action_done(self, future: Future[Any]) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            self._bridge.post(self.action_failed.emit, str(exc))
        else:
            self._bridge.post(self.action_finished.emit, future.result())

    def set_breached(self, breached: BreachedTickets) -> None:
        self._loop.call_soon(self.service.set_breached_tickets, breached)

    def refresh_today(self) -> None:
        self._loop.call_soon(self._post_today)
