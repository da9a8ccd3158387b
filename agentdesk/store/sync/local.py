"""The desktop side of sync: outbox bookkeeping, sync state, and applying central truth.

Rules that keep the cache honest:

* A row whose aggregate (customer or ticket) has a pending outbox entry is
  never overwritten by the feed: the agent's unacknowledged edit stays on
  screen. Once the centre acknowledges (or rejects) the entry the aggregate
  is *refreshed* from the centre, which replaces the provisional copy with
  the authoritative one. The refresh marker is written in the same
  transaction as the acknowledgement, so a crash in between loses nothing.
* Versioned rows apply only when the incoming version is newer (pages can
  be replayed, refreshes can overtake the feed): nothing goes backwards.
* Append-only rows (comments, interactions, history, audit) are upserted by
  id; the centre's copy wins because its timestamps are authoritative.

Writes here run with SQLite foreign-key enforcement off: the cache is a
partial replica, and a row may reference one outside the working set.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, Table, delete, func, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from agentdesk.ids import uuid7
from agentdesk.models import OutboxEntry, OutboxState, SyncState, utcnow
from agentdesk.store.engine import WRITE_OPTION, read_session
from agentdesk.store.sync.entities import CUSTOMER_CHILDREN, KINDS, EntityKind, decode_row
from agentdesk.store.sync.protocol import START, Cursor, PushEntry, PushReply

CURSOR_KEY = "sync.cursor"
CLIENT_KEY = "sync.client_id"
CENTRAL_KEY = "sync.central_identity"
SCOPE_KEY = "sync.scope"
LOGIN_KEY = "sync.agent_login"
REFRESH_PREFIX = "refresh:"
ROOTS = ("customer", "ticket")
_SYNC_STATE = cast(Table, SyncState.__table__)


@dataclass(frozen=True)
class Unit:
    """An aggregate fetched from the centre for a refresh: None ``data`` means it does not exist."""

    kind: str
    entity_id: uuid.UUID
    data: dict[str, Any] | None
    history: tuple[dict[str, Any], ...] = ()


@contextmanager
def sync_session(engine: Engine) -> Iterator[Session]:
    """A ``BEGIN IMMEDIATE`` session on the cache with foreign-key enforcement off."""
    with engine.execution_options(**{WRITE_OPTION: True}).connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        raw.execute("PRAGMA foreign_keys=OFF")  # outside any transaction: takes effect now
        try:
            with Session(bind=conn, expire_on_commit=False) as session, session.begin():
                yield session
        finally:
            raw.execute("PRAGMA foreign_keys=ON")


_UPSERTS: dict[str, Any] = {}


def _upsert_statement(table: Table) -> Any:
    """The ``INSERT … ON CONFLICT`` statement of a table, built once (it is costly to build)."""
    stmt = _UPSERTS.get(table.name)
    if stmt is None:
        base = sqlite.insert(table)
        keys = [c.name for c in table.primary_key.columns]
        updates = {c.name: base.excluded[c.name] for c in table.columns if c.name not in keys}
        # A link table (agent_team) is all key: nothing to overwrite, insert or ignore.
        stmt = (
            base.on_conflict_do_update(index_elements=keys, set_=updates)
            if updates
            else base.on_conflict_do_nothing(index_elements=keys)
        )
        _UPSERTS[table.name] = stmt
    return stmt


def upsert(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or overwrite ``rows`` by primary key (never ``REPLACE``: that would cascade)."""
    if rows:
        session.execute(_upsert_statement(table), list(rows))


class LocalStore:
    """Sync bookkeeping on one desktop's cache."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- key/value state --------------------------------------------------------------------

    def get_state(self, key: str) -> str | None:
        with read_session(self.engine) as s:
            row = s.get(SyncState, key)
            return None if row is None else row.value

    @staticmethod
    def put_state(session: Session, key: str, value: str) -> None:
        upsert(session, _SYNC_STATE, [{"key": key, "value": value}])

    def client_id(self, wanted: uuid.UUID | None = None) -> uuid.UUID:
        """This cache's client id, created on first use; refuses to silently change it."""
        stored = self.get_state(CLIENT_KEY)
        if stored is not None:
            if wanted is not None and uuid.UUID(stored) != wanted:
                raise ValueError(
                    f"this cache belongs to sync client {stored}, not {wanted}; "
                    "use a fresh cache file for another client id"
                )
            return uuid.UUID(stored)
        chosen = wanted or uuid7()
        with sync_session(self.engine) as s:
            self.put_state(s, CLIENT_KEY, str(chosen))
        return chosen

    def cursor(self) -> Cursor:
        return Cursor.parse(self.get_state(CURSOR_KEY))

    def is_filled_from(self, central_identity: str) -> bool:
        return self.get_state(CENTRAL_KEY) == central_identity

    # --- outbox -----------------------------------------------------------------------------

    def pending_batch(self, limit: int, upto: int | None = None) -> list[PushEntry]:
        """The oldest pending entries, at most ``limit``, none after ``upto`` when given."""
        with read_session(self.engine) as s:
            query = select(OutboxEntry).where(OutboxEntry.state == OutboxState.PENDING)
            if upto is not None:
                query = query.where(OutboxEntry.client_seq <= upto)
            rows = s.scalars(query.order_by(OutboxEntry.client_seq).limit(limit))
            return [PushEntry(r.client_seq, r.mutation_id, r.name, r.args) for r in rows]

    def last_seq(self) -> int:
        """The newest outbox entry's number (0 for an empty outbox)."""
        with read_session(self.engine) as s:
            return int(s.scalar(select(func.max(OutboxEntry.client_seq))) or 0)

    def pending_roots(self, session: Session) -> set[uuid.UUID]:
        """Entity ids with unacknowledged local mutations (aggregate roots and others)."""
        return set(
            session.scalars(
                select(OutboxEntry.entity_id)
                .distinct()
                .where(OutboxEntry.state == OutboxState.PENDING)
            )
        )

    def bump_attempts(self, mutation_id: uuid.UUID) -> int:
        with sync_session(self.engine) as s:
            entry = s.scalars(
                select(OutboxEntry).where(OutboxEntry.mutation_id == mutation_id)
            ).one()
            entry.attempts += 1
            return entry.attempts

    def record_results(self, reply: PushReply) -> int:
        """Mark entries acked or rejected and queue refreshes of what they touched."""
        by_seq = {r.client_seq: r for r in reply.results}
        if not by_seq:
            return 0
        now = utcnow()
        with sync_session(self.engine) as s:
            entries = s.execute(
                select(
                    OutboxEntry.client_seq, OutboxEntry.entity_type, OutboxEntry.entity_id
                ).where(
                    OutboxEntry.client_seq.in_(list(by_seq)),
                    OutboxEntry.state == OutboxState.PENDING,
                )
            ).all()
            acked = [seq for seq, _, _ in entries if not by_seq[seq].rejected]
            if acked:
                s.execute(
                    update(OutboxEntry)
                    .where(OutboxEntry.client_seq.in_(acked))
                    .values(state=OutboxState.ACKED, acked_at=now)
                )
            refresh: dict[str, None] = {}
            for seq, entity_type, entity_id in entries:
                result = by_seq[seq]
                if result.rejected:
                    s.execute(
                        update(OutboxEntry)
                        .where(OutboxEntry.client_seq == seq)
                        .values(
                            state=OutboxState.REJECTED,
                            acked_at=now,
                            error=result.error or str(result.result.get("error") or "rejected"),
                            error_field=result.field or result.result.get("field"),
                        )
                    )
                # Roots are always refreshed (the feed skipped them while pending); so is
                # anything settled by a stored verdict, whose feed row may predate a refill.
                if result.rejected or entity_type in ROOTS or result.state == "duplicate":
                    refresh[f"{REFRESH_PREFIX}{entity_type}:{entity_id}"] = None
            if refresh:
                upsert(s, _SYNC_STATE, [{"key": key, "value": ""} for key in refresh])
        return len(entries)

    def mark_pending_for_refresh(self, session: Session) -> None:
        """After a refill: rows kept for pending entries must be refreshed once settled.

        A refill moves the cursor past their feed rows (and may drop their parents from
        the working set), so the feed alone would never correct them.
        """
        keys = {
            f"{REFRESH_PREFIX}{t}:{i}": None
            for t, i in session.execute(
                select(OutboxEntry.entity_type, OutboxEntry.entity_id).where(
                    OutboxEntry.state == OutboxState.PENDING
                )
            )
        }
        if keys:
            upsert(session, _SYNC_STATE, [{"key": k, "value": ""} for k in keys])

    def refresh_wanted(self) -> list[tuple[str, uuid.UUID]]:
        with read_session(self.engine) as s:
            keys = s.scalars(select(SyncState.key).where(SyncState.key.startswith(REFRESH_PREFIX)))
            out = []
            for key in keys:
                kind, _, ident = key[len(REFRESH_PREFIX) :].partition(":")
                out.append((kind, uuid.UUID(ident)))
            return out

    # --- applying central truth -------------------------------------------------------------

    def apply_units(self, units: Sequence[Unit]) -> list[tuple[str, uuid.UUID]]:
        """Replace refreshed aggregates with the centre's copy (unless edited again meanwhile)."""
        changed: list[tuple[str, uuid.UUID]] = []
        with sync_session(self.engine) as s:
            pending = self.pending_roots(s)
            for unit in units:
                if unit.entity_id in pending:
                    continue  # edited again: refreshed after that entry's acknowledgement
                if self._apply_unit(s, unit):
                    changed.append((unit.kind, unit.entity_id))
                s.execute(
                    delete(SyncState).where(
                        SyncState.key == f"{REFRESH_PREFIX}{unit.kind}:{unit.entity_id}"
                    )
                )
        return changed

    def _apply_unit(self, s: Session, unit: Unit) -> bool:
        kind = KINDS.get(unit.kind)
        if kind is None:
            return False
        if unit.data is None:
            self._remove(s, kind, unit.entity_id)
            return True
        if not self._write_versioned(s, kind, unit.data, allow_equal=True):
            return False
        if kind.root is not None and unit.kind in ROOTS:
            history = KINDS[f"{unit.kind}_history"]
            assert history.root_column is not None
            ids = [h["id"] for h in unit.history]
            s.execute(
                delete(history.table).where(
                    history.table.c[history.root_column] == unit.entity_id,
                    history.table.c.id.not_in([uuid.UUID(i) for i in ids]),
                )
            )
            upsert(s, history.table, [decode_row(h, history.table) for h in unit.history])
        return True

    def _remove(self, s: Session, kind: EntityKind, entity_id: uuid.UUID) -> None:
        if kind.name == "customer":
            for _, table in CUSTOMER_CHILDREN:
                s.execute(delete(table).where(table.c.customer_id == entity_id))
            history = KINDS["customer_history"].table
            s.execute(delete(history).where(history.c.customer_id == entity_id))
        if kind.name == "ticket":
            history = KINDS["ticket_history"].table
            s.execute(delete(history).where(history.c.ticket_id == entity_id))
        s.execute(delete(kind.table).where(kind.table.c.id == entity_id))

    def _write_versioned(
        self,
        s: Session,
        kind: EntityKind,
        data: dict[str, Any],
        *,
        allow_equal: bool,
        known: dict[uuid.UUID, int] | None = None,
    ) -> bool:
        """Write one payload if it is newer than the cached row. Returns whether it was written.

        ``known`` maps ids to cached versions (absent: not cached) when the caller preloaded
        them; it is kept up to date.
        """
        row = decode_row(data["row"], kind.table)
        if kind.versioned:
            if known is not None:
                local = known.get(row["id"])
            else:
                local = s.execute(
                    select(kind.table.c.version).where(kind.table.c.id == row["id"])
                ).scalar()
            if local is not None and (
                row["version"] < local or (row["version"] == local and not allow_equal)
            ):
                return False
        upsert(s, kind.table, [row])
        if known is not None and kind.versioned:
            known[row["id"]] = row["version"]
        if kind.name == "customer":
            for key, table in CUSTOMER_CHILDREN:
                children = [decode_row(c, table) for c in data.get(key, [])]
                s.execute(
                    delete(table).where(
                        table.c.customer_id == row["id"],
                        table.c.id.not_in([c["id"] for c in children]),
                    )
                )
                upsert(s, table, children)
        return True

    # --- status -----------------------------------------------------------------------------

    def outbox_counts(self) -> tuple[int, dt.datetime | None]:
        """(pending count, created_at of the oldest pending entry)."""
        with read_session(self.engine) as s:
            row = s.execute(
                select(func.count(), func.min(OutboxEntry.created_at)).where(
                    OutboxEntry.state == OutboxState.PENDING
                )
            ).one()
            return int(row[0]), row[1]

    def rejected(self, limit: int = 200) -> list[OutboxEntry]:
        with read_session(self.engine) as s:
            return list(
                s.scalars(
                    select(OutboxEntry)
                    .where(OutboxEntry.state == OutboxState.REJECTED)
                    .order_by(OutboxEntry.client_seq)
                    .limit(limit)
                )
            )

    def dismiss_rejected(self, mutation_id: uuid.UUID) -> bool:
        """Forget a rejected entry the agent has seen (its counter is never reused)."""
        with sync_session(self.engine) as s:
            result = s.execute(
                delete(OutboxEntry).where(
                    OutboxEntry.mutation_id == mutation_id,
                    OutboxEntry.state == OutboxState.REJECTED,
                )
            )
            return bool(cast(CursorResult[Any], result).rowcount)


__all__ = ["START", "LocalStore", "Unit", "sync_session", "upsert"]
