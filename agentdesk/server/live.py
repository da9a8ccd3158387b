"""Live pokes to desktops: one database listener per server process, fanned out to WebSockets.

A poke says only "something changed, pull now" — no data, so it needs no
need-to-know filtering; what a desktop then pulls is filtered by its scope.
The source is PostgreSQL ``NOTIFY`` (every server instance hears every
commit) or, on the embedded store, the in-process hub of the pushing
request. Each WebSocket gets a counter it waits on; a slow or gone client
costs nothing but its own task.

Every poke makes every connected desktop pull, so the fleet's pulls are
paced: each socket sends its poke at a random moment within ``spread()``
seconds of the change and at most once per ``spread()``, where the spread
grows with the number of sockets (``PULL_COST`` each, at most
``MAX_SPREAD``). Two desktops see a change within milliseconds; 500 spread
their pulls over five seconds instead of arriving in the same instant, so
the server answers about ``1 / PULL_COST`` pulls a second however many
changes are made (they fold into the next poke). ``PULL_COST`` is what a
pull measured on the 2-core build box (``bench/server_load.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from agentdesk.store.sync.port import LiveSource

log = logging.getLogger(__name__)

# Seconds of server CPU one desktop's pull is budgeted at (pacing, see above).
PULL_COST = 0.01
MAX_SPREAD = 5.0


class LiveHub:
    """Counts pokes and wakes every waiting WebSocket when one arrives."""

    def __init__(self, source: LiveSource | None) -> None:
        self._source = source
        self._generation = 0
        self._changed: asyncio.Condition | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self.listening = source is None  # nothing to listen to counts as ready
        self.clients = 0

    async def start(self) -> None:
        self._changed = asyncio.Condition()
        self._stop = asyncio.Event()
        if self._source is not None:
            self._task = asyncio.create_task(
                self._source.run(self._stop, self._on_poke, self._on_state)
            )

    async def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def _on_poke(self) -> None:
        self._generation += 1
        if self._changed is not None:
            asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    def _on_state(self, connected: bool, error: str | None) -> None:
        self.listening = connected
        if not connected:
            log.warning("live pokes: database listener disconnected (%s)", error)

    @property
    def generation(self) -> int:
        return self._generation

    def spread(self) -> float:
        """Seconds over which the connected desktops' pulls after one change are spread."""
        return min(MAX_SPREAD, self.clients * PULL_COST)

    async def wait_after(self, seen: int, timeout: float) -> int:
        """The poke counter once it moves past ``seen`` (or after ``timeout`` seconds)."""
        assert self._changed is not None
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self._generation != seen), timeout
                )
        return self._generation
