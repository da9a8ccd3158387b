"""The supervisors' floor, computed once per PBX on the server from the gateway's AMI link.

Each configured PBX (site) gets one :class:`SiteFloor`: the Qt-free
:class:`~agentdesk.services.supervisor.board.LiveBoard` the wallboard has
always used, fed exactly as the desktop's ``SupervisorFeed`` fed it — the
typed events the gateway's AMI client decodes (queue, agent, hold, the
caller's ``VarSet``/``Hangup``), a resync after every (re)login and every
``resync_s`` (``QueueStatus``, ``CoreShowChannels``, ``QueueSummary``), and a
tick a second so timed wrap-ups end and flow-outs settle. No second AMI login:
the floor subscribes to the gateway's own client.

What supervisors' sockets receive (``docs/cti.md``, ``/api/v1/cti/floor``):
``floor`` (every site in full, on connect), then per site ``update``
messages holding only the queue and agent rows that changed (and the PBX
link's state when it changed), built once per publish and shared by every
socket, at most every ``PUBLISH_S``; ``today`` (the day's interval series for
the charts) every ``CHART_S``. The link state is the gateway's own: the
wallboard says "connected" exactly when the agents' calls flow.

A socket's queue is bounded; one that does not read is dropped (it
reconnects and gets a fresh ``floor``), never buffered without limit.
Everything here runs on the server's event loop.

One source, two views (issue 15 item 1): given the server's database, each
site's board is a :class:`~agentdesk.server.cti.queue_store.StoredBoard`. Every
queue record it counts is stored once (``queue_record``); on start the board
first replays today's stored records, so a server restart mid-day keeps the
day's figures; every ``RECONCILE_S`` (and on ``GET
/api/v1/supervisor/reconciliation``) the board's day totals are compared with
the report over the same stored records, and the result travels with the
site as ``reconcile`` (``drift`` 0 when both views agree).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from agentdesk.server.cti.floor_relay import FloorRelay
from agentdesk.server.cti.gateway import PbxGateway
from agentdesk.server.cti.hub import CtiHub
from agentdesk.server.cti.queue_store import (
    MARGIN_S,
    QueueStore,
    Reconciliation,
    StoredBoard,
    day_of,
    reconcile,
)
from agentdesk.services.supervisor.board import LiveBoard
from agentdesk.services.supervisor.history import IntervalSeries, series_from_store
from agentdesk.services.supervisor.queue_metrics import MetricsRow
from agentdesk.services.supervisor.reports import Interval
from agentdesk.services.supervisor.settings import SupervisorSettings
from agentdesk.services.supervisor.views import AgentRow, QueueRow
from agentdesk.telephony.client import AmiClient, AmiError, ResyncSnapshot
from agentdesk.telephony.client_types import ConnectionState
from agentdesk.telephony.events import AmiEvent, CoreShowChannel, QueueSummary

log = logging.getLogger(__name__)

# The events the board reads (fnmatch, as AmiClient.on_typed_event takes them): the same as
# the wallboard's own AMI login read. VarSet and Hangup tell a withdrawn caller from one who
# hung up.
PATTERNS = ("queue*", "agent*", "hold", "unhold", "varset", "hangup")
PUBLISH_S = 0.25  # at most one update per site this often
TICK_S = 1.0  # time passing: wrap-ups end, waits grow, alerts on time fire on time
CHART_S = 30.0  # the day's interval series
REFRESH_S = 60.0  # who signs in on which interface (for supervisor requests by login)
QUEUE_LIMIT = 64  # messages waiting for one supervisor socket before it is dropped
OVERFLOW = 1013
FIRST_RESYNC_S = 5.0  # how long a floor started on a live link waits for its first resync
RECONCILE_S = 60.0  # live day totals vs the report over the stored records

_QUEUE = TypeAdapter(QueueRow)
_AGENT = TypeAdapter(AgentRow)
_WINDOW = TypeAdapter(MetricsRow)
_SERIES = TypeAdapter(IntervalSeries)


def event_time(event: AmiEvent, now: float) -> float:
    """The PBX's own clock when it stamps events (``timestampevents``) and is plausible."""
    value = event.timestamp
    return value if value is not None and abs(value - now) < 86_400 else now


class FloorSubscription:
    """One supervisor's socket: a bounded queue of messages, and why it must close."""

    def __init__(self, interval: Interval, limit: int = QUEUE_LIMIT) -> None:
        self.interval = interval
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(limit)
        self.ended = asyncio.Event()
        self.close_code = 1000
        self.close_reason = ""

    def put(self, message: dict[str, Any]) -> None:
        if self.ended.is_set():
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("a supervisor's floor socket is not reading; dropping it")
            self.end(OVERFLOW, "too many updates waiting; reconnect")

    def end(self, code: int, reason: str) -> None:
        if not self.ended.is_set():
            self.close_code, self.close_reason = code, reason
            self.ended.set()


@dataclasses.dataclass
class _Published:
    """What the sockets were last told about one site (updates are differences from it)."""

    link: dict[str, str]
    queues: dict[str, dict[str, Any]]
    agents: dict[str, dict[str, Any]]
    windows: dict[str, dict[str, Any]]
    reconcile: dict[str, Any] | None = None


class SiteFloor:
    """One PBX's floor: a live board fed by the gateway's AMI client."""

    def __init__(
        self,
        gateway: PbxGateway,
        settings: SupervisorSettings,
        broadcast: Callable[[dict[str, Any]], None],
        *,
        clock: Callable[[], float] = time.time,
        publish_s: float = PUBLISH_S,
        store: QueueStore | None = None,
    ) -> None:
        self.gateway = gateway
        self.site = gateway.site
        self.settings = settings
        self.store = store
        self.board: LiveBoard = (
            StoredBoard(settings, store) if store is not None else LiveBoard(settings)
        )
        self.reconciliation: Reconciliation | None = None
        self._reconciling: asyncio.Task[Reconciliation | None] | None = None
        self._broadcast = broadcast
        self._clock = clock
        self._publish_s = publish_s
        self._client: AmiClient | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._handle: asyncio.TimerHandle | None = None
        self._last_publish = 0.0
        self._published: _Published | None = None
        self._resynced = asyncio.Event()
        self._resyncing: asyncio.Task[None] | None = None
        self._next_resync = 0.0
        self.logins: Mapping[str, str] = {}  # lower-case interface -> login
        self.events_seen = 0

    # ------------------------------------------------------------------ stored records
    async def restore(self) -> int:
        """Replay today's stored records into the board (before it listens to the PBX)."""
        board, store = self.board, self.store
        if store is None or not isinstance(board, StoredBoard):
            return 0
        start, _ = day_of(board, self._clock())
        try:
            records, last = await asyncio.to_thread(store.load, start.timestamp() - MARGIN_S)
        except SQLAlchemyError as exc:
            log.error("floor %s: cannot read today's queue records (%s)", self.site,
                      type(exc).__name__)  # fmt: skip
            return 0
        store.seq = store.written_seq = last
        count = board.replay(records)
        log.info("floor %s: today's figures restored from %d stored record(s)", self.site, count)
        return count

    async def reconcile(self, timeout: float = 10.0) -> Reconciliation | None:
        """The board's day totals against the report over the stored records (None: no store)."""
        if not isinstance(self.board, StoredBoard):
            return None
        try:
            result = await reconcile(self.board, self.site, timeout=timeout)
        except SQLAlchemyError as exc:
            log.warning("floor %s: reconciliation failed (%s)", self.site, type(exc).__name__)
            return None
        if result.drift:
            log.warning("floor %s: live day totals and the report differ by %d (dropped %d)",
                        self.site, result.drift, result.dropped)  # fmt: skip
        self.reconciliation = result
        self.changed()
        return result

    def reconcile_soon(self) -> None:
        if self._reconciling is None or self._reconciling.done():
            self._reconciling = asyncio.get_running_loop().create_task(self.reconcile())

    # ------------------------------------------------------------------ the AMI link
    def attach(self) -> None:
        """Subscribe to the gateway's client (again, if the gateway made a new one)."""
        client = self.gateway.client
        if client is None or client is self._client:
            return
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = [client.on_typed_event(self._on_event, p) for p in PATTERNS]
        # AmiClient has no way to drop these two; a replaced client is closed by its gateway.
        client.on_state(self._on_state)
        client.on_resync(self._on_resync)
        self._client = client
        if client.connected:  # logged in before the floor listened: ask for the lists now
            self.resync_soon()

    def _on_event(self, event: AmiEvent) -> None:
        self.events_seen += 1
        now = self._clock()
        if self.board.handle(event, event_time(event, now)):
            self.changed()

    def _on_state(self, state: ConnectionState, detail: str | None) -> None:
        if state is not ConnectionState.CONNECTED:
            self._resynced.clear()
        # At once, not coalesced: a drop and a quick reconnect must both be seen. The gateway
        # subscribed first, so its state (read when publishing) is already the new one.
        self.publish()

    async def _on_resync(self, snapshot: ResyncSnapshot) -> None:
        summary = await self._summary()
        self._apply(snapshot.queue_events(), snapshot.channel_events(), summary)

    def resync_soon(self) -> None:
        if self._resyncing is None or self._resyncing.done():
            self._resyncing = asyncio.get_running_loop().create_task(self._resync_now())

    async def _resync_now(self) -> None:
        client = self._client
        if client is None or not client.connected:
            return
        try:
            status = await client.send_action("QueueStatus")
            channels = await client.send_action("CoreShowChannels")
        except (AmiError, OSError, TimeoutError) as exc:
            log.info("floor %s: resync failed (%s)", self.site, type(exc).__name__)
            return
        summary = await self._summary()
        self._apply(
            status.typed_items() if status.ok else [],
            [c for c in channels.typed_items() if isinstance(c, CoreShowChannel)]
            if channels.ok
            else [],
            summary,
        )

    async def _summary(self) -> list[QueueSummary]:
        client = self._client
        if client is None:
            return []
        with contextlib.suppress(AmiError, OSError, TimeoutError):
            reply = await client.send_action("QueueSummary")
            if reply.ok:
                return [s for s in reply.typed_items() if isinstance(s, QueueSummary)]
        return []

    def _apply(
        self,
        status: list[AmiEvent],
        channels: list[CoreShowChannel],
        summary: list[QueueSummary],
    ) -> None:
        self.board.resync(status, channels, summary, now=self._clock())
        self._next_resync = time.monotonic() + self.settings.resync_s
        self._resynced.set()
        self.publish()

    @property
    def resynced(self) -> bool:
        return self._resynced.is_set()

    def forget_published(self) -> None:
        """The next publish is the whole site (for sockets that never saw this board)."""
        self._published = None

    async def wait_resynced(self, timeout: float) -> bool:
        """Until the board holds the PBX's lists (False: the link is down or slow)."""
        if self.gateway.client is None or not self.gateway.connected:
            return self._resynced.is_set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._resynced.wait(), timeout)
        return self._resynced.is_set()

    def every_second(self) -> None:
        """Time passing, the periodic safety resync, a client the gateway made since."""
        self.attach()
        if self.board.tick(self._clock()):
            self.changed()
        if self.gateway.connected and time.monotonic() >= self._next_resync:
            self._next_resync = time.monotonic() + self.settings.resync_s
            self.resync_soon()
        self.publish_due()

    # ------------------------------------------------------------------ publishing
    def changed(self) -> None:
        """Something shown changed: publish within ``publish_s`` (coalesced)."""
        if self._handle is not None:
            return
        wait = max(0.0, self._last_publish + self._publish_s - time.monotonic())
        self._handle = asyncio.get_running_loop().call_later(wait, self.publish)

    def publish_due(self) -> None:
        """Publish now unless an update went out less than ``publish_s`` ago (then soon)."""
        if time.monotonic() - self._last_publish >= self._publish_s:
            self.publish()
        else:
            self.changed()

    def _state(self) -> _Published:
        now = self._clock()
        snap = self.board.snapshot(now)
        minutes = self.settings.thresholds.sl_window_minutes
        windows = {}
        for queue in snap.queues:
            row = self.board.window(minutes, queue.name, now)
            if row is not None:
                windows[queue.name] = _WINDOW.dump_python(row, mode="json")
        agents = {}
        for agent in snap.agents:
            body = _AGENT.dump_python(agent, mode="json")
            body["login"] = self.logins.get(agent.key, "")
            agents[agent.key] = body
        return _Published(
            {"state": self.gateway.state, "detail": self.gateway.detail},
            {q.name: _QUEUE.dump_python(q, mode="json") for q in snap.queues},
            agents,
            windows,
            self.reconciliation.as_json() if self.reconciliation is not None else None,
        )

    def publish(self) -> None:
        """Tell every socket what changed since the last publish (nothing: no message)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._last_publish = time.monotonic()
        fresh = self._state()
        old, self._published = self._published, fresh
        if old is None:
            self._broadcast({"type": "update", **self.full(), "full": True})
            return
        update: dict[str, Any] = {"type": "update", "site": self.site}
        if fresh.link != old.link:
            update["link"] = fresh.link
        for kind in ("queues", "agents"):
            now_rows: dict[str, dict[str, Any]] = getattr(fresh, kind)
            was: dict[str, dict[str, Any]] = getattr(old, kind)
            upserts = [row for key, row in now_rows.items() if was.get(key) != row]
            gone = [key for key in was if key not in now_rows]
            if upserts:
                update[kind] = upserts
            if gone:
                update[f"{kind}_gone"] = gone
        if fresh.windows != old.windows:
            update["windows"] = fresh.windows
        if fresh.reconcile != old.reconcile:
            update["reconcile"] = fresh.reconcile
        if len(update) > 2:
            self._broadcast(update)

    def full(self) -> dict[str, Any]:
        """The site as last published (updates after it are differences from it)."""
        if self._published is None:
            self._published = self._state()
            self._last_publish = time.monotonic()
        state = self._published
        return {
            "site": self.site,
            "link": state.link,
            "definition": self.settings.definition.describe(),
            "queues": list(state.queues.values()),
            "agents": list(state.agents.values()),
            "windows": state.windows,
            "reconcile": state.reconcile,
        }

    def today(self, interval: Interval) -> dict[str, Any]:
        """The ``today`` message: the day's intervals from the board's live cells."""
        day = dt.datetime.fromtimestamp(self._clock(), self.settings.metrics.tz).date()
        series = series_from_store(self.board.today_cells, self.settings.metrics, day, interval)
        body = _SERIES.dump_python(series, mode="json")
        return {"type": "today", "site": self.site, "series": body}


class FloorHub:
    """Every site's floor and the supervisors' sockets; started with the server."""

    def __init__(
        self,
        hub: CtiHub,
        settings: SupervisorSettings,
        *,
        clock: Callable[[], float] = time.time,
        publish_s: float = PUBLISH_S,
        chart_s: float = CHART_S,
        queue_limit: int = QUEUE_LIMIT,
        engine: Engine | None = None,
        reconcile_s: float = RECONCILE_S,
    ) -> None:
        self.hub = hub
        self.settings = settings
        self.engine = engine
        self.sites = {
            site: SiteFloor(
                gateway, settings, self._broadcast, clock=clock, publish_s=publish_s,
                store=QueueStore(engine, site) if engine is not None else None,
            )
            for site, gateway in hub.gateways.items()
        }  # fmt: skip
        self._reconcile_s = reconcile_s
        self._subs: set[FloorSubscription] = set()
        self._chart_s = chart_s
        self._queue_limit = queue_limit
        self._runner: asyncio.Task[None] | None = None
        self._clock = clock
        self._publish_s = publish_s
        # Several instances (``floor_relay.py``): the sites this one leads are computed here,
        # the others mirrored from the leader's messages.
        self.relay: FloorRelay | None = None
        if hub.relay is not None:
            described = settings.definition.describe()
            self.relay = FloorRelay(hub.relay.bus, self._to_sockets,
                                    {site: described for site in self.sites})  # fmt: skip
            self.relay.full_of = self._full_of
        self._led: set[str] = set()

    async def start(self) -> None:
        if not self.sites:
            return
        await self.refresh_logins()
        if self.relay is not None:
            await self.relay.start()
            await self._follow_leadership()
        else:
            for site in self.sites:
                await self._compute(site)
        self._runner = asyncio.get_running_loop().create_task(self._run())

    async def _compute(self, site: str) -> None:
        """Compute ``site``'s floor here (this instance holds its PBX link, or is alone)."""
        floor = self.sites[site]
        self._led.add(site)
        await floor.restore()  # today's figures first: the stored records, in order
        if floor.store is not None:
            await floor.store.start()
        floor.attach()

    def leads(self, site: str) -> bool:
        return self.relay is None or site in self._led

    async def _follow_leadership(self) -> None:
        """Start computing the sites whose link this instance took; mirror those it gave up."""
        if self.relay is None or self.hub.relay is None:
            return
        for site in self.sites:
            epoch = self.hub.relay.leading.get(site)
            if epoch is not None and site not in self._led:
                old = self.sites[site]
                # A fresh board: today's figures from the stored records, then the PBX's.
                self.sites[site] = SiteFloor(
                    old.gateway, self.settings, self._broadcast, clock=self._clock,
                    publish_s=self._publish_s,
                    store=QueueStore(self.engine, site) if self.engine is not None else None,
                )  # fmt: skip
                floor = self.sites[site]
                floor.logins = old.logins
                await self.relay.lead(site, epoch)
                # Quiet until the PBX's lists are in (a bounded wait): supervisors see the
                # link move, then the whole floor at once, not an empty board first.
                await floor.restore()
                if floor.store is not None:
                    await floor.store.start()
                deadline = time.monotonic() + FIRST_RESYNC_S
                while not floor.resynced and time.monotonic() < deadline:
                    floor.attach()
                    await asyncio.sleep(0.05)
                floor.forget_published()
                self._led.add(site)
                floor.publish()
            elif epoch is None and site not in self._led:
                mirror = self.relay.mirrors[site]
                # The link as the bus last said (the leader gone, moving, back), at once:
                # the floor's own updates stop with the leader.
                heard = self.hub.relay.links.get(site, {})
                link = {"state": heard.get("state", ""), "detail": heard.get("detail", "")}
                if heard and link != mirror.link:
                    mirror.link = link
                    self._to_sockets({"type": "update", "site": site, "link": link})
                if not mirror.whole:
                    self.relay.fetch_soon(site)
            elif epoch is None and site in self._led:
                self._led.discard(site)
                floor = self.sites[site]
                if floor.store is not None:
                    await floor.store.stop()
                await self.relay.follow(site)
                mirror = self.relay.mirrors[site]
                self._to_sockets(mirror.lost_leader(str(floor.gateway.detail)))

    def _full_of(self, site: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        floor = self.sites[site]
        today = {i.value: floor.today(i) for i in (Interval.MIN15, Interval.MIN30, Interval.MIN60)}
        return floor.full(), today

    async def stop(self) -> None:
        for sub in list(self._subs):
            sub.end(1001, "server stopping")
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        if self.relay is not None:
            await self.relay.stop()
        for site, floor in self.sites.items():
            if floor.store is not None and self.leads(site):
                # Held abandons and leaves are what they look like by now: count and keep them.
                floor.board.tick(self._clock() + 5.0)
                await floor.store.stop()

    async def refresh_logins(self) -> None:
        try:
            lines = await asyncio.to_thread(self.hub.directory.lines)
        except SQLAlchemyError as exc:
            log.warning("floor: cannot read the agents' lines: %s", type(exc).__name__)
            return
        logins = {line.interface.lower(): login for login, line in lines.items()}
        for login, line in lines.items():
            alias = str(getattr(line, "state_interface", "") or "").lower()
            if alias:
                logins.setdefault(alias, login)
        for floor in self.sites.values():
            floor.logins = logins

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_chart = loop.time() + self._chart_s
        next_refresh = loop.time() + REFRESH_S
        next_reconcile = loop.time() + min(self._reconcile_s, 5.0)
        while True:
            await asyncio.sleep(TICK_S)
            try:
                await self._follow_leadership()
            except Exception:
                log.exception("floor: following the PBX links' leadership failed")
            for site, floor in self.sites.items():
                if not self.leads(site):
                    continue
                try:
                    floor.every_second()
                except Exception:
                    log.exception("floor %s: tick failed", floor.site)
            if loop.time() >= next_chart:
                next_chart = loop.time() + self._chart_s
                self._send_today(self._subs)
            if loop.time() >= next_reconcile:
                next_reconcile = loop.time() + self._reconcile_s
                for site, floor in self.sites.items():
                    if self.leads(site):
                        floor.reconcile_soon()
            if loop.time() >= next_refresh:
                next_refresh = loop.time() + REFRESH_S
                await self.refresh_logins()

    # ------------------------------------------------------------------ sockets
    async def ready(self) -> None:
        """Until every site whose link is up holds the PBX's lists (briefly, at most): a
        socket opened just after the server started gets the PBX's picture, not an empty one."""
        for site, floor in self.sites.items():
            if self.leads(site):
                await floor.wait_resynced(FIRST_RESYNC_S)
            elif self.relay is not None and not self.relay.mirrors[site].whole:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.relay.fetch(site), FIRST_RESYNC_S)

    def open(
        self, interval: Interval = Interval.MIN30
    ) -> tuple[FloorSubscription, list[dict[str, Any]]]:
        """A new socket's subscription and what it is sent first: every site in full, then
        today's series. Synchronous on purpose: each update queued for the socket afterwards
        is a difference from exactly this picture."""
        sub = FloorSubscription(interval, self._queue_limit)
        self._subs.add(sub)
        first = {"type": "floor", "sites": [self._picture(site) for site in self.sites]}
        return sub, [first, *self._todays(interval)]

    def pictures(self) -> dict[str, dict[str, Any]]:
        """Every site as this instance holds it now (computed here or mirrored), by site."""
        return {site: self._picture(site) for site in self.sites}

    def _picture(self, site: str) -> dict[str, Any]:
        if self.leads(site) or self.relay is None:
            return self.sites[site].full()
        return self.relay.mirrors[site].picture()

    def _todays(self, interval: Interval) -> list[dict[str, Any]]:
        made = []
        for site, floor in self.sites.items():
            if self.leads(site) or self.relay is None:
                made.append(floor.today(interval))
            elif (mirrored := self.relay.mirrors[site].today.get(interval.value)) is not None:
                made.append(mirrored)
        return made

    def reconciliation_of(self, site: str) -> dict[str, Any] | None:
        """A mirrored site's last reconciliation, as its leader published it."""
        if self.relay is None:
            return None
        return self.relay.mirrors[site].reconcile

    def unsubscribe(self, sub: FloorSubscription) -> None:
        self._subs.discard(sub)

    def _broadcast(self, message: dict[str, Any]) -> None:
        """A site's floor has news: for this instance's sockets, and the others' when led."""
        site = str(message.get("site", ""))
        if self.relay is not None:
            if site not in self._led:
                return  # a floor this instance no longer computes
            self.relay.publish(site, message)
        self._to_sockets(message)

    def _to_sockets(self, message: dict[str, Any]) -> None:
        for sub in list(self._subs):
            sub.put(message)

    def _send_today(self, subs: set[FloorSubscription]) -> None:
        if self.relay is not None:
            for site in self._led:
                for interval in (Interval.MIN15, Interval.MIN30, Interval.MIN60):
                    self.relay.publish_today(site, interval.value, self.sites[site].today(interval))
        made: dict[Interval, list[dict[str, Any]]] = {}
        for sub in list(subs):
            if sub.interval not in made:
                made[sub.interval] = self._todays(sub.interval)
            for message in made[sub.interval]:
                sub.put(message)


__all__ = ["PATTERNS", "FloorHub", "FloorSubscription", "SiteFloor", "event_time"]
