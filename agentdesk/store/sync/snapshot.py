"""Reading a consistent snapshot of the working set at the centre and merging it into a cache.

The initial fill (and a resync) reads every table of the working set inside
one snapshot (PostgreSQL ``REPEATABLE READ``; an SQLite read transaction)
whose first statement also fixes the feed position to continue from:

* PostgreSQL: ``pg_snapshot_xmin(pg_current_snapshot())`` of that snapshot.
  Every transaction below it is visible in the snapshot; everything from it
  on is served again by the feed, where the version guard makes the overlap
  harmless.
* SQLite: ``max(seq)`` read in the same transaction.

The cache side writes everything in one transaction, so a crash mid-fill
leaves the previous cache and cursor in place.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Table, delete, func, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session
from sqlalchemy.types import Uuid

from agentdesk.models import ChangeLog
from agentdesk.models.base import UTCDateTime
from agentdesk.store.sync.central import CentralStore
from agentdesk.store.sync.entities import (
    CUSTOMER_CHILDREN,
    KINDS,
    REFERENCE_TABLES,
    SYNCED_TABLES,
    encode_row,
    replica_select,
    serialise,
)
from agentdesk.store.sync.local import Unit
from agentdesk.store.sync.protocol import Cursor
from agentdesk.store.sync.scope import ScopeQueries, table_selects

CHUNK = 2000
ROOT_COLUMN: dict[str, str] = {
    "customer": "id",
    "customer_history": "customer_id",
    "ticket": "id",
    "ticket_history": "ticket_id",
    **{table.name: "customer_id" for _, table in CUSTOMER_CHILDREN},
}
_VERSIONED = frozenset({"customer", "ticket"})


@contextmanager
def central_snapshot(central: CentralStore) -> Iterator[tuple[Connection, Cursor]]:
    """A read-only snapshot of the centre and the feed position it corresponds to."""
    if central.is_postgres:
        options: dict[str, Any] = {
            "isolation_level": "REPEATABLE READ",
            "postgresql_readonly": True,
        }
        with central.engine.connect().execution_options(**options) as conn, conn.begin():
            xmin = conn.execute(
                text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
            )
            yield conn, max(Cursor(int(xmin.scalar_one()), 0), central.floor(conn))
    else:
        with central.engine.connect() as conn, conn.begin():
            top = conn.execute(select(func.max(ChangeLog.seq))).scalar()
            # After a prune the table may be empty: never start below the floor.
            yield conn, max(Cursor(0, int(top or 0)), central.floor(conn))


def stream(conn: Connection, stmt: Any) -> Iterator[list[dict[str, Any]]]:
    result = conn.execution_options(yield_per=CHUNK).execute(stmt)
    for part in result.partitions():
        yield [dict(row._mapping) for row in part]


def stream_raw(conn: Connection, stmt: Any) -> Iterator[list[tuple[Any, ...]]]:
    """Rows as plain driver tuples in column order (the fill's fast path).

    On PostgreSQL a server-side cursor inside the snapshot transaction, with no
    SQLAlchemy result processing: psycopg already returns UUIDs, aware
    datetimes and decoded JSON, which the cache's bind processors accept.
    """
    if conn.dialect.name != "postgresql":
        for part in conn.execution_options(yield_per=CHUNK).execute(stmt).partitions():
            yield [tuple(row) for row in part]
        return
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor(name=f"agentdesk_fill_{uuid.uuid4().hex[:12]}") as cursor:
        cursor.itersize = CHUNK
        cursor.execute(str(compiled), compiled.params)
        while rows := cursor.fetchmany(CHUNK):
            yield rows


def insert_raw(
    s: Session, table: Table, rows: Sequence[tuple[Any, ...]], *, upsert_rows: bool
) -> None:
    """Insert column-ordered tuples with one driver ``executemany`` (no per-row SQLAlchemy work).

    ``upsert_rows`` overwrites existing rows (versioned tables only move forward);
    otherwise existing rows are left alone.
    """
    if not rows:
        return
    conn = s.connection()
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    columns = list(table.columns)
    converters = _converters(table, dialect)
    names = ", ".join(quote(c.name) for c in columns)
    sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({', '.join('?' for _ in columns)})"
    if upsert_rows:
        keys = [c.name for c in table.primary_key.columns]
        sets = ", ".join(
            f"{quote(c.name)} = excluded.{quote(c.name)}" for c in columns if c.name not in keys
        )
        guard = (
            f" WHERE {quote(table.name)}.version < excluded.version"
            if table.name in _VERSIONED
            else ""
        )
        target = ", ".join(quote(k) for k in keys)
        # A link table (agent_team) is all key: nothing to overwrite, insert or ignore.
        sql += (
            f" ON CONFLICT ({target}) DO UPDATE SET {sets}{guard}"
            if sets
            else " ON CONFLICT DO NOTHING"
        )
    else:
        sql += " ON CONFLICT DO NOTHING"
    bound = []
    for row in rows:
        values = list(row)
        for i, convert in converters:
            if values[i] is not None:
                values[i] = convert(values[i])
        bound.append(tuple(values))
    conn.exec_driver_sql(sql, bound)


def _sqlite_timestamp(value: dt.datetime) -> str:
    # Exactly what UTCDateTime + SQLite's DATETIME storage produce, in one C-level call.
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", timespec="microseconds")


def _converters(table: Table, dialect: Any) -> list[tuple[int, Callable[[Any], Any]]]:
    """(column index, converter) for the columns whose values need converting for SQLite."""
    out: list[tuple[int, Callable[[Any], Any]]] = []
    for i, column in enumerate(table.columns):
        if isinstance(column.type, UTCDateTime):
            out.append((i, _sqlite_timestamp))
        elif isinstance(column.type, Uuid):
            out.append((i, lambda v: v.hex if isinstance(v, uuid.UUID) else uuid.UUID(str(v)).hex))
        else:
            processor = column.type._cached_bind_processor(dialect)
            if processor is not None:
                out.append((i, processor))
    return out


def merge_rows(
    s: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    shielded: set[uuid.UUID],
    *,
    only_new: bool = False,
) -> int:
    """Merge central rows into the cache without touching aggregates with pending edits.

    Versioned rows (customers, tickets) only move forward; everything else is upserted
    (or, with ``only_new``, inserted when absent).
    """
    root = ROOT_COLUMN.get(table.name)
    if root is not None and shielded:
        rows = [r for r in rows if r[root] not in shielded]
    elif table.name in ("ticket_comment", "interaction", "audit_entry") and shielded:
        rows = [r for r in rows if r["id"] not in shielded]
    if not rows:
        return 0
    stmt = sqlite.insert(table)
    if only_new:
        s.execute(stmt.on_conflict_do_nothing(), list(rows))
        return len(rows)
    keys = [c.name for c in table.primary_key.columns]
    updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
    where = table.c.version < stmt.excluded.version if table.name in _VERSIONED else None
    s.execute(
        stmt.on_conflict_do_update(index_elements=keys, set_=updates, where=where), list(rows)
    )
    return len(rows)


def clear_unshielded(s: Session, shielded: set[uuid.UUID]) -> None:
    """Empty the replicated tables except rows of aggregates with pending local edits."""
    keep = list(shielded)
    for table in reversed(SYNCED_TABLES):
        column = table.c[ROOT_COLUMN.get(table.name, "id")]
        s.execute(delete(table).where(column.not_in(keep)) if keep else delete(table))


def copy_reference(s: Session, conn: Connection) -> int:
    count = 0
    for table in REFERENCE_TABLES:
        s.execute(delete(table))
        for chunk in stream_raw(conn, replica_select(table)):
            insert_raw(s, table, chunk, upsert_rows=True)
            count += len(chunk)
    return count


def copy_scope(
    s: Session, conn: Connection, queries: ScopeQueries, shielded: set[uuid.UUID], *, only_new: bool
) -> dict[str, int]:
    """Copy the working set; rows of aggregates with pending local edits are left as they are."""
    counts: dict[str, int] = {}
    for table, stmt in table_selects(queries):
        root = ROOT_COLUMN.get(table.name)
        if root is None and table.name in ("ticket_comment", "interaction", "audit_entry"):
            root = "id"
        at = list(table.columns.keys()).index(root) if root else None
        for chunk in stream_raw(conn, stmt):
            if shielded and at is not None:
                chunk = [r for r in chunk if r[at] not in shielded]
            insert_raw(s, table, chunk, upsert_rows=not only_new)
            counts[table.name] = counts.get(table.name, 0) + len(chunk)
    return counts


def fetch_units(central: CentralStore, wanted: Sequence[tuple[str, uuid.UUID]]) -> list[Unit]:
    """The centre's current copy of some aggregates (with their history), in one snapshot."""
    units: list[Unit] = []
    with central_snapshot(central) as (conn, _), Session(bind=conn) as session:
        for kind_name, entity_id in wanted:
            kind = KINDS.get(kind_name)
            if kind is None:
                continue
            data = serialise(session, kind, entity_id)
            history: tuple[dict[str, Any], ...] = ()
            if data is not None and kind_name in ("customer", "ticket"):
                table = KINDS[f"{kind_name}_history"].table
                column = "customer_id" if kind_name == "customer" else "ticket_id"
                rows = conn.execute(select(table).where(table.c[column] == entity_id))
                history = tuple(encode_row(r, table) for r in rows)
            units.append(Unit(kind_name, entity_id, data, history))
    return units


def closure_rows(
    central: CentralStore, queries: ScopeQueries
) -> list[tuple[Table, list[dict[str, Any]]]]:
    """The rows of a small closure (a few customers or tickets), read in one snapshot."""
    with central_snapshot(central) as (conn, _):
        return [
            (table, [dict(r._mapping) for r in conn.execute(stmt)])
            for table, stmt in table_selects(queries)
        ]


__all__ = [
    "KINDS",
    "central_snapshot",
    "clear_unshielded",
    "closure_rows",
    "copy_reference",
    "copy_scope",
    "merge_rows",
]
