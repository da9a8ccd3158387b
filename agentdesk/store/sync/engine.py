"""``SyncEngine``: the desktop's background sync service (asyncio on its own thread, no Qt).

The composition root builds it once per signed-in agent::

    sync = SyncEngine(cache_engine, settings.central_url, agent_login="alice",
                      scope=SyncScope(team_ids=frozenset({team}), agent_id=alice_id))
    writer.add_listener(sync.on_local_write)     # push soon after every local write
    sync.add_status_listener(bridge.sync_status_changed.emit)  # hop to the GUI thread
    sync.start()
    ...
    sync.stop()

Work happens in cycles (fill if needed → push all → refresh → pull all) on
a small thread pool, so the event loop stays free for pokes, timers and the
watchdog. A cycle starts on a poke (PostgreSQL NOTIFY or an in-process
poke), a local write, ``sync_now()``, or the slow safety poll. Failures back
off exponentially with full jitter; local writes while offline only update
the pending count. The watchdog restarts a worker that makes no progress.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event

from agentdesk.models import utcnow
from agentdesk.store.engine import central_engine
from agentdesk.store.field_crypto import FieldCipher
from agentdesk.store.sync.backoff import Backoff
from agentdesk.store.sync.central import CentralStore
from agentdesk.store.sync.local import LocalStore
from agentdesk.store.sync.port import CentralPort, DirectCentral
from agentdesk.store.sync.protocol import ClientIdentityError, SessionExpired, is_transient
from agentdesk.store.sync.scope import SyncScope
from agentdesk.store.sync.status import RejectedMutation, StatusBoard, StatusListener, SyncStatus
from agentdesk.store.sync.syncer import Syncer, SyncSettings

log = logging.getLogger(__name__)

ChangeListener = Callable[[tuple[tuple[str, uuid.UUID], ...]], None]


def _own_central_engine(url: str, password: str | None) -> Engine:
    engine = central_engine(url, password)
    if engine.dialect.name == "postgresql":

        @event.listens_for(engine, "connect")
        def _limits(dbapi_conn: Any, _record: Any) -> None:
            # A hung statement or a forgotten transaction must not wedge the sync worker.
            dbapi_conn.execute("SET statement_timeout = '30s'")
            dbapi_conn.execute("SET idle_in_transaction_session_timeout = '60s'")
            dbapi_conn.commit()

    return engine


class SyncEngine:
    """Keeps one desktop's cache and the central store in step, in the background."""

    def __init__(
        self,
        local_engine: Engine,
        central: str | Engine | CentralPort,
        *,
        agent_login: str,
        scope: SyncScope | None = None,
        client_id: uuid.UUID | None = None,
        settings: SyncSettings | None = None,
        central_password: str | None = None,
        field_cipher: FieldCipher | None = None,
    ) -> None:
        self.settings = settings or SyncSettings()
        self._owned_engine: Engine | None = None
        if isinstance(central, str):
            self._owned_engine = _own_central_engine(central, central_password)
            central = self._owned_engine
        self.local = LocalStore(local_engine)
        scope = scope or SyncScope()
        # An engine means the centre runs in this process (tests, tools); desktops pass the
        # server's port and never hold a database login.
        self.central: CentralPort = (
            DirectCentral(CentralStore(central, field_cipher), scope, agent_login)
            if isinstance(central, Engine)
            else central
        )
        self.syncer = Syncer(self.local, self.central, scope, agent_login, client_id, self.settings)
        self.syncer.on_changes = self._emit_changes
        self._board = StatusBoard(SyncStatus(client_id=self.syncer.client_id))
        self._change_listeners: list[ChangeListener] = []
        self._executor = concurrent.futures.ThreadPoolExecutor(
            4, thread_name_prefix="agentdesk-sync"
        )
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self._poked = False
        self._wrote = False
        self._inflight: concurrent.futures.Future[Any] | None = None
        self._resync_requested = False
        self._generation = 0
        self._busy_since: float | None = None
        self._worker: asyncio.Task[None] | None = None

    # --- public API ------------------------------------------------------------------------

    @property
    def client_id(self) -> uuid.UUID:
        return self.syncer.client_id

    def start(self) -> None:
        """Start the background thread (idempotent)."""
        if self._thread is not None:
            return
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run_loop, args=(ready,), name="agentdesk-sync", daemon=True
        )
        self._thread.start()
        ready.wait(10)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop syncing; pending local writes stay in the outbox for next time."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None
        if self._inflight is not None:  # let a cycle in flight finish before closing connections
            concurrent.futures.wait([self._inflight], timeout=timeout)
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self._owned_engine is not None:
            self._owned_engine.dispose()
        self._board.update(phase="stopped", online=False)

    def sync_now(self) -> None:
        """Run a cycle as soon as possible (also retries at once when offline)."""
        self._poke()

    def resync(self) -> None:
        """Rebuild the working set from a fresh central snapshot, then carry on."""
        self._resync_requested = True
        self._poke()

    def on_local_write(self, _result: object = None) -> None:
        """Give to ``LocalWriter.add_listener``: push soon, and update the pending count."""
        self._signal(poke=False)

    def cache_customer(self, customer_id: uuid.UUID) -> concurrent.futures.Future[int]:
        """Bring a customer found at the centre (e.g. by a screen pop) into the cache."""
        return self._executor.submit(self.syncer.cache_customers, [customer_id])

    def status(self) -> SyncStatus:
        return self._board.current

    def add_status_listener(self, listener: StatusListener) -> Callable[[], None]:
        """``listener(status)`` after every change, on a sync thread. Returns an unsubscriber."""
        return self._board.add_listener(listener)

    def add_change_listener(self, listener: ChangeListener) -> Callable[[], None]:
        """``listener(((entity_type, id), ...))`` once pulled changes are in the cache."""
        self._change_listeners.append(listener)
        return lambda: self._change_listeners.remove(listener)

    def dismiss_rejected(self, mutation_id: uuid.UUID) -> bool:
        done = self.local.dismiss_rejected(mutation_id)
        self._signal(poke=False)
        return done

    def wait_for(self, predicate: Callable[[SyncStatus], bool], timeout: float) -> bool:
        """Block until ``predicate(status)`` holds (tests, CLI, shutdown). False on timeout."""
        return self._board.wait_for(predicate, timeout)

    # --- loop ------------------------------------------------------------------------------

    def _run_loop(self, ready: threading.Event) -> None:
        asyncio.run(self._main(ready))

    async def _main(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake, self._stop = asyncio.Event(), asyncio.Event()
        ready.set()
        tasks = [asyncio.create_task(self._watchdog())]
        source = self.central.live()
        if source is not None:
            tasks.append(
                asyncio.create_task(
                    source.run(self._stop, self._poke_from_loop, self._on_listen_state)
                )
            )
        self._start_worker()
        await self._stop.wait()
        self._generation += 1
        for task in [*tasks, self._worker]:
            if task is not None:
                task.cancel()
        await asyncio.gather(*[t for t in tasks if t], return_exceptions=True)

    def _start_worker(self) -> None:
        self._generation += 1
        self._worker = asyncio.create_task(self._work(self._generation))

    def _signal(self, *, poke: bool) -> None:
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        if poke:
            self._poked = True
        else:
            self._wrote = True
        with contextlib.suppress(RuntimeError):  # loop closed during shutdown
            loop.call_soon_threadsafe(wake.set)

    def _poke(self) -> None:
        self._signal(poke=True)

    def _poke_from_loop(self) -> None:
        self._poked = True
        if self._wake is not None:
            self._wake.set()

    def _on_listen_state(self, connected: bool, error: str | None) -> None:
        if not connected and self._board.current.online:
            self._board.update(online=False, phase="offline", last_error=error)

    async def _work(self, generation: int) -> None:
        assert self._wake is not None and self._loop is not None
        backoff = Backoff(self.settings.backoff_base, self.settings.backoff_cap)
        retry_at = 0.0
        while generation == self._generation:
            online = self._board.current.online
            if self._poked or time.monotonic() >= retry_at or (self._wrote and online):
                self._poked = self._wrote = False
                delay = await self._run_cycle(generation, backoff)
                if generation != self._generation:
                    return
                retry_at = time.monotonic() + delay
            elif self._wrote:  # offline: show the growing backlog, keep the backoff schedule
                self._wrote = False
                await self._publish_counts()
            if self._poked or (self._wrote and self._board.current.online):
                continue
            # Flags set by other threads after this point also schedule wake.set() on the
            # loop, which runs only after we start waiting: no wake-up is lost.
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wake.wait(), timeout=max(0.0, retry_at - time.monotonic())
                )

    async def _run_cycle(self, generation: int, backoff: Backoff) -> float:
        """Run one cycle off the loop. Returns seconds until the next unprompted cycle."""
        assert self._loop is not None
        self._busy_since = time.monotonic()
        self.syncer.progress_at = self._busy_since
        if self._board.current.phase not in ("offline",):
            self._board.update(phase="syncing")
        try:
            self._inflight = self._executor.submit(self._cycle_blocking, generation)
            report = await asyncio.wrap_future(self._inflight)
        except Exception as exc:
            self._busy_since = None
            if generation != self._generation:
                return 0.0
            return await self._on_failure(exc, backoff)
        self._busy_since = None
        if generation != self._generation:
            return 0.0
        backoff.reset()
        await self._publish_counts(
            online=True, phase="idle", last_sync_at=utcnow(), last_error=None
        )
        return self.settings.horizon_retry if report.held_back else self.settings.poll_interval

    def _cycle_blocking(self, generation: int) -> Any:
        def abandoned() -> bool:
            return generation != self._generation

        if self._resync_requested:
            self._resync_requested = False
            self._board.update(phase="filling")
            self.syncer.fill()
        return self.syncer.cycle(abandoned)

    async def _on_failure(self, exc: Exception, backoff: Backoff) -> float:
        if isinstance(exc, SessionExpired):
            log.info("sync paused: the server ended this desktop's session")
            await self._publish_counts(online=False, phase="signed_out", last_error=str(exc))
            return self.settings.backoff_cap  # the desktop asks the agent to sign in again
        if isinstance(exc, ClientIdentityError):
            log.error("sync stopped: %s", exc)
            await self._publish_counts(online=True, phase="failed", last_error=str(exc))
            return 3600.0
        delay = backoff.next_delay()
        if is_transient(exc):
            log.info("central store unreachable (%s); retrying in %.1fs", _short(exc), delay)
            await self._publish_counts(online=False, phase="offline", last_error=_short(exc))
        else:
            log.warning("sync cycle failed; retrying in %.1fs", delay, exc_info=exc)
            await self._publish_counts(phase="idle", last_error=_short(exc))
        return delay

    async def _publish_counts(self, **changes: Any) -> None:
        assert self._loop is not None
        try:
            pending, oldest, rejected, cursor = await self._loop.run_in_executor(
                self._executor, self._read_counts
            )
        except Exception as exc:  # the cache itself failing is worth a log line, not a crash
            log.warning("cannot read sync counters from the cache: %s", exc)
            return
        self._board.update(
            pending=pending, oldest_pending_at=oldest, rejected=rejected, cursor=cursor, **changes
        )

    def _read_counts(self) -> tuple[int, Any, tuple[RejectedMutation, ...], str]:
        pending, oldest = self.local.outbox_counts()
        rejected = tuple(
            RejectedMutation(
                e.mutation_id,
                e.client_seq,
                e.name,
                e.entity_type,
                e.entity_id,
                e.error or "rejected",
                e.error_field,
                e.created_at,
            )
            for e in self.local.rejected()
        )
        return pending, oldest, rejected, str(self.local.cursor())

    async def _watchdog(self) -> None:
        assert self._stop is not None
        while not self._stop.is_set():
            await asyncio.sleep(self.settings.watchdog_interval)
            busy = self._busy_since
            if busy is None:
                continue
            idle_for = time.monotonic() - max(busy, self.syncer.progress_at)
            if idle_for < self.settings.stuck_after:
                continue
            log.warning(
                "sync worker stuck: no progress for %.1fs in a cycle running for %.1fs; "
                "restarting it",
                idle_for,
                time.monotonic() - busy,
            )
            self._busy_since = None
            if self._worker is not None:
                self._worker.cancel()
            # The stuck thread keeps its connection until its statement returns (or hits
            # statement_timeout); the new worker simply checks out another one.
            self._board.update(
                restarts=self._board.current.restarts + 1,
                last_error=f"worker restarted after {idle_for:.0f}s without progress",
            )
            self._start_worker()
            self._poked = True

    def _emit_changes(self, changed: tuple[tuple[str, uuid.UUID], ...]) -> None:
        for listener in list(self._change_listeners):
            try:
                listener(changed)
            except Exception:
                log.exception("sync change listener failed")


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]
