"""Live pokes: "something changed, pull now". Pokes carry no row data and may be lost.

A poke says *whose* data changed (:class:`Change`: the teams and customers of
the transaction's feed rows) so the server can wake only the desktops whose
pulls would return something; a poke that cannot say (too many ids, a
server-side write, an old sender, a reconnect) is :data:`EVERYTHING`.

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
import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy import Engine

from agentdesk.store.sync.backoff import Backoff
from agentdesk.store.sync.entities import BROADCAST_KINDS

log = logging.getLogger(__name__)

# PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; past this we say "everything".
MAX_PAYLOAD = 7900


def id_key(value: uuid.UUID) -> int:
    """The 64 bits a poke names an id by: the low half (a collision costs one needless pull).

    Not the high half: in a UUIDv7 that is the millisecond and 12 random bits, so ids
    made in the same moment (a seeded set of teams, a batch of customers) would share it.
    """
    return value.int & 0xFFFF_FFFF_FFFF_FFFF


@dataclass(frozen=True)
class Change:
    """What one committed transaction touched, as far as feed filtering cares.

    ``teams`` and ``customers`` hold the :func:`id_key` of of the feed rows'
    ``team_id`` / ``customer_id``; ``everything`` means "could not say": poke all.
    """

    teams: frozenset[int] = frozenset()
    customers: frozenset[int] = frozenset()
    everything: bool = False

    @classmethod
    def of(cls, rows: Iterable[dict[str, object]]) -> Change:
        """The change carried by feed rows (dicts with ``team_id`` and ``customer_id``)."""
        teams: set[int] = set()
        customers: set[int] = set()
        for row in rows:
            if row.get("entity_type") in BROADCAST_KINDS:
                return cls(everything=True)  # a published article: every desktop pulls it
            team, customer = row.get("team_id"), row.get("customer_id")
            if isinstance(team, uuid.UUID):
                teams.add(id_key(team))
            if isinstance(customer, uuid.UUID):
                customers.add(id_key(customer))
        return cls(frozenset(teams), frozenset(customers))

    def payload(self) -> str:
        """Compact JSON for ``pg_notify`` (16 hex digits an id), ``{"all":true}`` if too big."""
        if self.everything:
            return ALL_PAYLOAD
        text = json.dumps(
            {
                "t": [f"{k:016x}" for k in sorted(self.teams)],
                "c": [f"{k:016x}" for k in sorted(self.customers)],
            },
            separators=(",", ":"),
        )
        return text if len(text) <= MAX_PAYLOAD else ALL_PAYLOAD

    @classmethod
    def parse(cls, payload: str) -> Change:
        """A payload back into a change; anything unreadable (old senders: '') is everything."""
        try:
            body = json.loads(payload)
            if not isinstance(body, dict) or body.get("all"):
                return EVERYTHING
            return cls(
                frozenset(int(k, 16) for k in body.get("t", ())),
                frozenset(int(k, 16) for k in body.get("c", ())),
            )
        except (ValueError, TypeError, AttributeError):
            return EVERYTHING


EVERYTHING = Change(everything=True)
ALL_PAYLOAD = '{"all":true}'

ChangeCallback = Callable[[Change], None]

_hub_lock = threading.Lock()
_hub: dict[str, list[ChangeCallback]] = {}


def hub_key(engine: Engine) -> str:
    """The in-process poke key of an embedded SQLite central: its resolved file path."""
    return str(Path(engine.url.database or "").resolve())


def subscribe_in_process(key: str, callback: ChangeCallback) -> Callable[[], None]:
    """Call ``callback(change)`` whenever a push to central ``key`` commits in this process."""
    with _hub_lock:
        _hub.setdefault(key, []).append(callback)

    def unsubscribe() -> None:
        with _hub_lock:
            callbacks = _hub.get(key, [])
            if callback in callbacks:
                callbacks.remove(callback)

    return unsubscribe


def poke_in_process(key: str, change: Change = EVERYTHING) -> None:
    with _hub_lock:
        callbacks = list(_hub.get(key, []))
    for callback in callbacks:
        try:
            callback(change)
        except Exception:  # a subscriber's bug must not fail the pusher's commit path
            log.exception("in-process poke subscriber failed")


def conninfo(engine: Engine) -> str:
    """A libpq URL for psycopg from the SQLAlchemy engine URL."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class PgListener:
    """Keeps one LISTEN connection open and reports changes and connectivity.

    ``on_change`` runs on the event loop for every notification (its payload
    parsed) and with :data:`EVERYTHING` after every successful (re)connect;
    ``on_state`` reports connected/disconnected.
    """

    def __init__(
        self,
        dsn: str,
        channel: str,
        on_change: ChangeCallback,
        on_state: Callable[[bool, str | None], None],
        backoff: Backoff | None = None,
    ) -> None:
        self._dsn = dsn
        self._channel = channel
        self._on_change = on_change
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
            self._on_change(EVERYTHING)  # anything sent while we were away is lost: pull now
            while not stop.is_set():
                async for note in conn.notifies(timeout=1.0):
                    self._on_change(Change.parse(note.payload))
                # The timeout also proves the connection still answers.
                await conn.execute("SELECT 1")
        finally:
            await conn.close()
