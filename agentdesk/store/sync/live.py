"""Live pokes: "something changed, pull now". Pokes carry no data and may be lost.

* PostgreSQL: one dedicated autocommit connection ``LISTEN``\\s on the
  channel the push transaction notifies once at commit. Every (re)connect
  counts as a poke, because notifications sent while disconnected are gone.
* Embedded SQLite central: the pushing process pokes the other sync engines
  of the same process directly (a callback per central file).

The slow safety poll in the engine covers anything both mechanisms miss.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path

import psycopg
from sqlalchemy import Engine

from agentdesk.store.sync.backoff import Backoff

log = logging.getLogger(__name__)

_hub_lock = threading.Lock()
_hub: dict[str, list[Callable[[], None]]] = {}


def hub_key(engine: Engine) -> str:
    """The in-process poke key of an embedded SQLite central: its resolved file path."""
    return str(Path(engine.url.database or "").resolve())


def subscribe_in_process(key: str, callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` whenever a push to central ``key`` commits in this process."""
    with _hub_lock:
        _hub.setdefault(key, []).append(callback)

    def unsubscribe() -> None:
        with _hub_lock:
            callbacks = _hub.get(key, [])
            if callback in callbacks:
                callbacks.remove(callback)

    return unsubscribe


def poke_in_process(key: str) -> None:
    with _hub_lock:
        callbacks = list(_hub.get(key, []))
    for callback in callbacks:
        try:
            callback()
        except Exception:  # a subscriber's bug must not fail the pusher's commit path
            log.exception("in-process poke subscriber failed")


def conninfo(engine: Engine) -> str:
    """A libpq URL for psycopg from the SQLAlchemy engine URL."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class PgListener:
    """Keeps one LISTEN connection open and reports pokes and connectivity.

    ``on_poke`` runs on the event loop for every notification and after
    every successful (re)connect; ``on_state`` reports connected/disconnected.
    """

    def __init__(
        self,
        dsn: str,
        channel: str,
        on_poke: Callable[[], None],
        on_state: Callable[[bool, str | None], None],
        backoff: Backoff | None = None,
    ) -> None:
        self._dsn = dsn
        self._channel = channel
        self._on_poke = on_poke
        self._on_state = on_state
        self._backoff = backoff or Backoff(base=0.2, cap=10.0)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._listen(stop)
            except (psycopg.Error, OSError) as exc:
                self._on_state(False, f"listen connection lost: {exc}".strip())
                delay = self._backoff.next_delay()
                log.debug("LISTEN reconnect in %.2fs after %s", delay, exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)

    async def _listen(self, stop: asyncio.Event) -> None:
        conn = await psycopg.AsyncConnection.connect(
            self._dsn,
            autocommit=True,
            connect_timeout=5,
            application_name="agentdesk-listen",
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=3,
        )
        try:
            await conn.execute(f'LISTEN "{self._channel}"')
            self._backoff.reset()
            self._on_state(True, None)
            self._on_poke()  # anything sent while we were away is lost: pull now
            while not stop.is_set():
                async for _ in conn.notifies(timeout=1.0):
                    self._on_poke()
                # The timeout also proves the connection still answers.
                await conn.execute("SELECT 1")
        finally:
            await conn.close()
