"""The wallboard's live feed: AMI events into the supervisor service, snapshots out to the GUI.

Everything that touches the live board runs on the telephony loop thread,
where the AMI client delivers events: the service folds each event in and
marks the board dirty; at most every ``publish_s`` (and at least once a
second, so alerts on waiting time fire on time) it builds a frozen
:class:`BoardSnapshot` there and posts it to the GUI thread through the
bridge. The GUI thread only swaps rows into its models. AMI has no replay,
so after every (re)login the board is rebuilt from QueueStatus,
CoreShowChannels and QueueSummary, and again every ``resync_s`` (never
more often than once a minute) to heal anything a lost event left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import QObject, Signal

from agentdesk.services.platform.roles import PermissionDenied
from agentdesk.services.supervisor import SupervisorService
from agentdesk.services.supervisor.floor_stats import BreachedTickets
from agentdesk.services.supervisor.history import today_history
from agentdesk.services.supervisor.reports import Interval
from agentdesk.telephony.client import AmiClient, AmiError, ConnectionState, ResyncSnapshot
from agentdesk.telephony.events import AmiEvent, CoreShowChannel, QueueSummary
from agentdesk.telephony.loop_thread import LoopThread
from agentdesk.ui.bridge import Bridge

log = logging.getLogger(__name__)

# The events the wallboard reads (fnmatch, lower case); everything else is dropped unread.
# VarSet and Hangup tell a withdrawn caller (QUEUESTATUS=WITHDRAW) from one who hung up.
PATTERNS = ("queue*", "agent*", "hold", "unhold", "varset", "hangup")


class SupervisorFeed(QObject):
    """Owns the live side of the wallboard: subscriptions, resyncs, publishing, actions."""

    snapshot_ready = Signal(object)  # BoardSnapshot
    alerts_raised = Signal(object)  # tuple[Alert, ...]
    today_ready = Signal(object)  # IntervalSeries of today (live cells)
    link_changed = Signal(bool, str)
    action_finished = Signal(object)  # ActionOutcome or Alert
    action_failed = Signal(str)

    def __init__(
        self,
        service: SupervisorService,
        client: AmiClient | None,
        loop: LoopThread,
        bridge: Bridge,
        *,
        publish_s: float = 0.25,
        chart_s: float = 30.0,
        interval: Interval = Interval.MIN30,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self._client = client
        self._loop = loop
        self._bridge = bridge
        self._publish_s = publish_s
        self._chart_s = chart_s
        self.interval = interval
        self._unsubscribe: list[Callable[[], None]] = []
        self._runner: Future[None] | None = None
        self._publish_handle: asyncio.TimerHandle | None = None
        self._last_publish = 0.0
        self._backfilled = service.queue_log is None
        self._started = False
        self.events_seen = 0

    # ------------------------------------------------------------------ lifecycle (GUI thread)
    def start(self, *, start_client: bool = True) -> None:
        """Subscribe and start; ``start_client=False`` when another part already started it."""
        if self._started:
            return
        self._started = True
        self._loop.start()
        if not self._backfilled:
            self.service.board.begin_backfill()
        if self._client is not None:
            self.service.set_pbx(self._client)
            for pattern in PATTERNS:
                self._unsubscribe.append(self._client.on_typed_event(self._on_event, pattern))
            self._client.on_state(self._on_state)
            self._client.on_resync(self._on_resync)
        self._runner = self._loop.submit(self._run(start_client))

    def stop(self, timeout: float = 3.0) -> None:
        if not self._started:
            return
        self._started = False
        try:
            for unsubscribe in self._unsubscribe:
                self._loop.call_soon(unsubscribe)
        except RuntimeError:
            pass  # the telephony loop already stopped (desktop shutdown): nothing to undo
        self._unsubscribe.clear()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(Exception):
                self._runner.result(timeout)

    # ------------------------------------------------------------------ loop thread
    async def _run(self, start_client: bool) -> None:
        client = self._client
        if client is not None:
            if start_client:
                await client.start()
            elif client.connected:
                await self._resync_now(reconnect=False)
        next_resync = time.monotonic() + self.service.settings.resync_s
        next_chart = 0.0
        while True:
            await asyncio.sleep(1.0)
            self.service.tick()
            self._publish()
            mono = time.monotonic()
            if mono >= next_chart:
                next_chart = mono + self._chart_s
                self._post_today()
            if client is not None and client.connected and mono >= next_resync:
                next_resync = mono + self.service.settings.resync_s
                with contextlib.suppress(AmiError, OSError, TimeoutError):
                    await self._resync_now(reconnect=False)

    def _on_event(self, event: AmiEvent) -> None:
        if not self._started:
            return
        self.events_seen += 1
        if self.service.handle(event):
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
        try:
            snapshot, changes = self.service.snapshot()
        except PermissionDenied as exc:
            self._bridge.post(self.action_failed.emit, str(exc))
            return
        self._bridge.post(self.snapshot_ready.emit, snapshot)
        if changes.raised:
            self._bridge.post(self.alerts_raised.emit, changes.raised)

    def _post_today(self) -> None:
        self._bridge.post(self.today_ready.emit, self.service.today_series(self.interval))

    def _on_state(self, state: ConnectionState, detail: str | None) -> None:
        if not self._started:
            return
        up = state is ConnectionState.CONNECTED
        self.service.set_link(up, detail or state.value)
        self._bridge.post(self.link_changed.emit, up, detail or state.value)
        self._publish()

    async def _on_resync(self, snapshot: ResyncSnapshot) -> None:
        if not self._started:
            return
        await self._apply_resync(snapshot.queue_events(), snapshot.channel_events())

    async def _resync_now(self, *, reconnect: bool) -> None:
        assert self._client is not None
        status = await self._client.send_action("QueueStatus")
        channels = await self._client.send_action("CoreShowChannels")
        await self._apply_resync(
            status.typed_items() if status.ok else [],
            [c for c in channels.typed_items() if isinstance(c, CoreShowChannel)]
            if channels.ok
            else [],
        )

    async def _apply_resync(self, status: list[AmiEvent], channels: list[CoreShowChannel]) -> None:
        summary: list[QueueSummary] = []
        if self._client is not None:
            with contextlib.suppress(AmiError, OSError, TimeoutError):
                reply = await self._client.send_action("QueueSummary")
                if reply.ok:
                    summary = [s for s in reply.typed_items() if isinstance(s, QueueSummary)]
        self.service.resync(status, channels, summary)
        if not self._backfilled:
            self._backfilled = True
            await self._backfill()
        self._publish()
        self._post_today()

    async def _backfill(self) -> None:
        """Today's history from the queue_log file, so SL today starts at midnight, not login."""
        path, until = self.service.queue_log, self.service.now()
        assert path is not None
        try:
            records = await asyncio.to_thread(
                today_history, path, self.service.settings.metrics, until
            )
        except OSError as exc:
            log.warning("wallboard backfill from %s failed: %s", path, exc)
            records = []
        count = self.service.board.finish_backfill(records, until)
        log.info("wallboard: %d queue_log records of today read from %s", count, path)

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
