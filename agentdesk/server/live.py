"""Live pokes to desktops: one database listener per server process, fanned out to WebSockets.

A poke says only "something changed, pull now" — no data. The source is
PostgreSQL ``NOTIFY`` (every server instance hears every commit) or, on the
embedded store, the in-process hub of the pushing request; either way each
change names the teams and customers of its feed rows (``live.Change``).

Each WebSocket subscribes with what its desktop may pull: its agent's teams
and its client id, whose pins (customers handed to that desktop) the
:class:`PinBook` holds in memory. A change wakes only the sockets whose pull
would return something: the same rule as ``feed_visibility`` in SQL (a team
in common, or a pinned customer), with full replicas, desktops that named no
client id (older builds) and changes that could not say (``everything``)
waking all. A wrap-up thus pokes a handful of desktops instead of every
connected one, and the pulls that follow are the ones that find rows.

Pacing stays for broadcasts: the desktops one change wakes send their pulls at
a random moment within ``PULL_COST`` seconds per woken desktop (at most
``MAX_SPREAD``), and a socket is not poked again before its last poke's spread
is over. A targeted poke wakes a few desktops, so its spread is tens of
milliseconds; an ``everything`` poke (a listener reconnect, a server-side
write) to 500 spreads their pulls over five seconds as before, and so does the
poke a socket gets when it (re)connects (a restarted server is reconnected by
every desktop at once). ``PULL_COST``
is what a pull measured on the 2-core build box (``bench/server_load.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field

from agentdesk.server.pins import REFRESH, PinBook
from agentdesk.store.sync import live
from agentdesk.store.sync.port import ChangeSource

log = logging.getLogger(__name__)

# Seconds of server CPU one desktop's pull is budgeted at (pacing, see above).
PULL_COST = 0.01
MAX_SPREAD = 5.0


@dataclass(eq=False)
class Subscription:
    """One WebSocket's interest: what its desktop may pull, and a pending poke."""

    client_id: uuid.UUID | None
    teams: frozenset[int]
    everything: bool
    woken: asyncio.Event = field(default_factory=asyncio.Event)
    # Pacing of the pending poke (the largest spread of the changes it folds in).
    spread: float = 0.0

    def take(self) -> float:
        """Clear the pending poke; its spread."""
        spread, self.spread = self.spread, 0.0
        self.woken.clear()
        return spread


class LiveHub:
    """Hears changes and wakes the WebSockets whose desktops they concern."""

    def __init__(self, source: ChangeSource | None, pins: PinBook | None = None) -> None:
        self._source = source
        self.pins = pins
        self._subs: set[Subscription] = set()
        self._stop: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.listening = source is None  # nothing to listen to counts as ready
        # Counters for tests and status: changes heard, sockets woken by them.
        self.changes = 0
        self.woken = 0

    @property
    def clients(self) -> int:
        return len(self._subs)

    async def start(self) -> None:
        self._stop = asyncio.Event()
        if self._source is not None:
            self._tasks.append(
                asyncio.create_task(
                    self._source.run_changes(self._stop, self._on_change, self._on_state)
                )
            )
        if self.pins is not None:
            self._tasks.append(asyncio.create_task(self._refresh_pins(self._stop, self.pins)))

    async def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    def subscribe(
        self, client_id: uuid.UUID | None, teams: frozenset[uuid.UUID], *, full_replica: bool
    ) -> Subscription:
        """A socket's subscription (call on the event loop); ``unsubscribe`` it when it closes."""
        sub = Subscription(
            client_id,
            frozenset(live.id_key(t) for t in teams),
            full_replica or client_id is None,
        )
        self._subs.add(sub)
        return sub

    def poke_later(self, sub: Subscription) -> None:
        """Wake ``sub`` paced as if every connected socket were woken (a reconnect)."""
        sub.spread = max(sub.spread, min(MAX_SPREAD, len(self._subs) * PULL_COST))
        sub.woken.set()

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    def wants(self, sub: Subscription, change: live.Change) -> bool:
        """Would this desktop's pull return something of ``change``? (``feed_visibility``)"""
        if change.everything or sub.everything or not sub.teams.isdisjoint(change.teams):
            return True
        return (
            sub.client_id is not None
            and self.pins is not None
            and self.pins.holds_any(sub.client_id, change.customers)
        )

    def _on_change(self, change: live.Change) -> None:
        self.changes += 1
        woken = [sub for sub in self._subs if self.wants(sub, change)]
        spread = min(MAX_SPREAD, len(woken) * PULL_COST)
        for sub in woken:
            sub.spread = max(sub.spread, spread)
            sub.woken.set()
        self.woken += len(woken)

    def _on_state(self, connected: bool, error: str | None) -> None:
        self.listening = connected
        if not connected:
            log.warning("live pokes: database listener disconnected (%s)", error)

    @staticmethod
    async def _refresh_pins(stop: asyncio.Event, pins: PinBook) -> None:
        """Pick up pins other server instances wrote (see ``server/pins.py`` for the bound)."""
        while not stop.is_set():
            try:
                await asyncio.to_thread(pins.refresh)
            except Exception:  # a database hiccup: try again next round
                log.warning("live pokes: reloading pins failed", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), REFRESH)
