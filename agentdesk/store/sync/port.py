"""What a desktop's sync needs from "the centre", whoever serves it.

``CentralPort`` is the seam between a desktop's ``Syncer`` and the central
store. Two implementations exist:

* :class:`DirectCentral` (here) runs the central side in this process over a
  :class:`CentralStore`: the server uses it for every request (with the
  session's scope and actor), tests and benchmarks use it to drive many
  desktops without HTTP.
* ``agentdesk.client.central.HttpCentral`` speaks the same operations to an
  ``agentdesk server`` over HTTPS; desktops in production use only that one and
  never hold a database login.

Every operation returns plain values (tuples in table-column order, JSON-safe
dicts, frozen dataclasses), never a database connection, so both sides can
be swapped without the sync rules noticing.
"""

from __future__ import annotations

import abc
import asyncio
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Table, delete, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from agentdesk.models import SyncPin
from agentdesk.store.engine import write_session
from agentdesk.store.sync import live
from agentdesk.store.sync.central import (
    NOTIFY_CHANNEL,
    Authorizer,
    CentralStore,
    feed_visibility,
)
from agentdesk.store.sync.entities import REFERENCE_TABLES, replica_select
from agentdesk.store.sync.local import Unit
from agentdesk.store.sync.protocol import Cursor, FeedRow, PushEntry, PushReply
from agentdesk.store.sync.scope import SyncScope, pin_queries, scope_queries, table_selects
from agentdesk.store.sync.snapshot import (
    central_snapshot,
    closure_rows,
    fetch_units,
    stream_raw,
)

PokeCallback = Callable[[], None]
StateCallback = Callable[[bool, str | None], None]
# Told which customers a desktop (client id) was just handed; ``reset``: these replace all.
PinCallback = Callable[[uuid.UUID, set[uuid.UUID], bool], None]


@dataclass(frozen=True)
class TableChunk:
    """Rows of one table as tuples in the table's column order (Python values).

    ``reference`` chunks replace the whole table in the cache; scope chunks merge.
    """

    table: Table
    rows: Sequence[tuple[Any, ...]]
    reference: bool


@dataclass(frozen=True)
class Snapshot:
    """A consistent read of the centre: the feed position it matches and its rows, streamed."""

    cursor: Cursor
    chunks: Iterator[TableChunk]


@dataclass(frozen=True)
class PullPage:
    """One page of the change feed.

    ``upto`` is where the reader's cursor may move (past rows it may not see);
    ``held_back`` means rows wait behind a still-running transaction.
    """

    rows: list[FeedRow]
    upto: Cursor
    held_back: bool = False


Closure = list[tuple[Table, list[dict[str, Any]]]]


class LiveSource(Protocol):
    """Tells a desktop "something changed, pull now" (pokes carry no data and may be lost)."""

    async def run(
        self, stop: asyncio.Event, on_poke: PokeCallback, on_state: StateCallback
    ) -> None:
        """Deliver pokes until ``stop`` is set; a (re)connect counts as a poke."""


class ChangeSource(Protocol):
    """Like :class:`LiveSource`, with what changed (the server targets its pokes with it)."""

    async def run_changes(
        self, stop: asyncio.Event, on_change: live.ChangeCallback, on_state: StateCallback
    ) -> None:
        """Deliver changes until ``stop`` is set; a (re)connect is ``live.EVERYTHING``."""


class CentralPort(Protocol):
    """The central side of sync as one desktop sees it."""

    def describe(self) -> str:
        """Where the centre is, for log lines (no secrets)."""

    def identity(self) -> str:
        """A stable id of the central store; a desktop refills when it changes."""

    def snapshot(
        self, client_id: uuid.UUID, *, reference_only: bool = False
    ) -> AbstractContextManager[Snapshot]:
        """The working set (and reference tables) in one consistent read."""

    def apply_batch(
        self, client_id: uuid.UUID, entries: Sequence[PushEntry], give_up: frozenset[uuid.UUID]
    ) -> PushReply:
        """Apply pushed mutations exactly once each, as the signed-in agent."""

    def pull(self, client_id: uuid.UUID, cursor: Cursor, limit: int) -> PullPage:
        """The feed after ``cursor`` (only rows this desktop may see)."""

    def units(self, client_id: uuid.UUID, wanted: Sequence[tuple[str, uuid.UUID]]) -> list[Unit]:
        """The centre's current copy of some aggregates, for a refresh after an ack."""

    def closure(
        self, client_id: uuid.UUID, customers: list[uuid.UUID], tickets: list[uuid.UUID]
    ) -> Closure:
        """Customers/tickets entering the working set, with everything hanging off them."""

    def live(self) -> LiveSource | None:
        """Where pokes come from (None: rely on the safety poll)."""


def _as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


class _ChangeSource(abc.ABC):
    """A live source that knows what changed; ``run`` is for listeners that only need a poke."""

    async def run(
        self, stop: asyncio.Event, on_poke: PokeCallback, on_state: StateCallback
    ) -> None:
        await self.run_changes(stop, lambda _change: on_poke(), on_state)

    @abc.abstractmethod
    async def run_changes(
        self, stop: asyncio.Event, on_change: live.ChangeCallback, on_state: StateCallback
    ) -> None:
        """Deliver each change until ``stop`` is set; a (re)connect counts as one."""


class _HubSource(_ChangeSource):
    """Pokes from pushes to an embedded SQLite centre in this same process."""

    def __init__(self, key: str) -> None:
        self._key = key

    async def run_changes(
        self, stop: asyncio.Event, on_change: live.ChangeCallback, on_state: StateCallback
    ) -> None:
        loop = asyncio.get_running_loop()

        def poke(change: live.Change) -> None:  # called on the pushing thread
            loop.call_soon_threadsafe(on_change, change)

        unsubscribe = live.subscribe_in_process(self._key, poke)
        on_state(True, None)
        try:
            await stop.wait()
        finally:
            unsubscribe()


class _PgSource(_ChangeSource):
    """Pokes from PostgreSQL ``NOTIFY`` (one LISTEN connection)."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn

    async def run_changes(
        self, stop: asyncio.Event, on_change: live.ChangeCallback, on_state: StateCallback
    ) -> None:
        await live.PgListener(self._dsn, NOTIFY_CHANNEL, on_change, on_state).run(stop)


@dataclass
class DirectCentral:
    """The central side in this process, for one desktop's scope and actor.

    ``filter_pull`` limits the feed to rows this desktop may see, in SQL (the
    server sets it; tests of the sync rules leave it off to see everything).
    Customers handed to the desktop by a fill or a closure are remembered as
    *pins* of its client id, so later changes to them reach it; ``on_pin`` hears
    of every pin written (the server keeps them in memory to target its pokes).
    """

    store: CentralStore
    scope: SyncScope
    actor: str
    filter_pull: bool = False
    authorize: Authorizer | None = None
    on_pin: PinCallback | None = None
    _pins_written: set[uuid.UUID] = field(default_factory=set)

    def describe(self) -> str:
        return self.store.engine.url.render_as_string()

    def identity(self) -> str:
        return self.store.identity()

    @contextmanager
    def snapshot(self, client_id: uuid.UUID, *, reference_only: bool = False) -> Iterator[Snapshot]:
        with central_snapshot(self.store) as (conn, cursor):

            def chunks() -> Iterator[TableChunk]:
                for table in REFERENCE_TABLES:
                    for rows in stream_raw(conn, replica_select(table)):
                        yield TableChunk(table, rows, True)
                if reference_only:
                    return
                customers: set[uuid.UUID] = set()
                for table, stmt in table_selects(scope_queries(self.scope)):
                    for rows in stream_raw(conn, stmt):
                        if table.name == "customer":
                            customers.update(_as_uuid(r[0]) for r in rows)
                        yield TableChunk(table, rows, False)
                # Written once the desktop has read everything: the pull that follows the
                # fill filters on them.
                self.pin(client_id, customers, reset=True)

            yield Snapshot(cursor, chunks())

    def apply_batch(
        self, client_id: uuid.UUID, entries: Sequence[PushEntry], give_up: frozenset[uuid.UUID]
    ) -> PushReply:
        return self.store.apply_batch(client_id, self.actor, entries, give_up, self.authorize)

    def pull(self, client_id: uuid.UUID, cursor: Cursor, limit: int) -> PullPage:
        visible = self._visibility(client_id) if self.filter_pull else None
        rows, upto = self.store.pull_page(cursor, limit, visible=visible)
        held = self.store.is_postgres and len(rows) < limit and self.store.has_more(upto)
        return PullPage(rows, upto, held)

    def _visibility(self, client_id: uuid.UUID) -> Any:
        """The SQL condition on ``change_log`` for what this desktop may receive."""
        return feed_visibility(client_id, self.scope)

    def units(self, client_id: uuid.UUID, wanted: Sequence[tuple[str, uuid.UUID]]) -> list[Unit]:
        return fetch_units(self.store, wanted)

    def closure(
        self, client_id: uuid.UUID, customers: list[uuid.UUID], tickets: list[uuid.UUID]
    ) -> Closure:
        rows = closure_rows(self.store, pin_queries(customers, tickets, self.scope))
        pinned = set(customers)
        for table, chunk in rows:
            if table.name == "ticket":
                pinned.update(_as_uuid(r["customer_id"]) for r in chunk if r.get("customer_id"))
        self.pin(client_id, pinned)
        return rows

    def pin(self, client_id: uuid.UUID, customers: set[uuid.UUID], *, reset: bool = False) -> None:
        """Remember that this desktop holds ``customers`` (so their changes reach it)."""
        if not self.filter_pull or not (customers or reset):
            return
        dialect_insert = postgresql.insert if self.store.is_postgres else sqlite.insert
        table = SyncPin.__table__
        assert isinstance(table, Table)
        with write_session(self.store.engine) as s:
            if reset:
                s.execute(delete(table).where(table.c.client_id == client_id))
            if customers:
                # One cached statement, sent in batches by the driver (a fill pins ~10 k
                # customers; a VALUES list per 1000 rows was compiled anew each time).
                s.execute(
                    dialect_insert(table).on_conflict_do_nothing(),
                    [{"client_id": client_id, "customer_id": c} for c in sorted(customers)],
                )
        if self.on_pin is not None:
            self.on_pin(client_id, customers, reset)

    def pinned(self, client_id: uuid.UUID, customers: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Which of ``customers`` this desktop was handed (for need-to-know checks)."""
        table = SyncPin.__table__
        assert isinstance(table, Table)
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(table.c.customer_id).where(
                    tuple_(table.c.client_id, table.c.customer_id).in_(
                        [(client_id, c) for c in customers]
                    )
                )
            )
            return {r[0] for r in rows}

    def live(self) -> LiveSource | None:
        return self.changes()

    def changes(self) -> _PgSource | _HubSource | None:
        """The live source that also says what changed (and serves as a plain ``LiveSource``)."""
        if self.store.is_postgres:
            return _PgSource(live.conninfo(self.store.engine))
        if self.store.hub_key is not None:
            return _HubSource(self.store.hub_key)
        return None


__all__ = [
    "CentralPort",
    "ChangeSource",
    "Closure",
    "DirectCentral",
    "LiveSource",
    "PullPage",
    "Snapshot",
    "TableChunk",
]
