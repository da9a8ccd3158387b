"""Bulk-load mode for SQLite: index search documents once at the end, not row by row.

The search index (migration 0003) feeds FTS5 from a trigger on every new
search document; during a million-customer seed that per-row FTS insert
doubles the load time. ``suspended_fts`` drops that one trigger, lets the
load run, then rebuilds the FTS index from its content table in one pass
and puts the trigger back. The trigger's SQL is parked in ``sync_state``
first, so a seed killed half-way is repaired by the next one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

TRIGGER = "search_doc_ai"
PARKED_KEY = "seed.suspended_trigger"


def _restore(engine: Engine) -> None:
    with engine.begin() as conn:
        parked = conn.exec_driver_sql(
            "SELECT value FROM sync_state WHERE key = ?", (PARKED_KEY,)
        ).scalar()
        if parked is None:
            return
        conn.exec_driver_sql("INSERT INTO search_fts(search_fts) VALUES ('rebuild')")
        exists = conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?", (TRIGGER,)
        ).scalar()
        if not exists:
            conn.exec_driver_sql(parked)
        conn.exec_driver_sql("DELETE FROM sync_state WHERE key = ?", (PARKED_KEY,))


@contextmanager
def suspended_fts(engine: Engine) -> Iterator[bool]:
    """Suspend per-row FTS indexing on a SQLite store for the duration; yields whether it did."""
    if engine.dialect.name != "sqlite":
        yield False
        return
    _restore(engine)  # a previous seed that died half-way
    with engine.begin() as conn:
        sql = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (TRIGGER,)
        ).scalar()
        if sql is None:
            suspended = False
        else:
            conn.exec_driver_sql(
                "INSERT INTO sync_state(key, value) VALUES (?, ?)", (PARKED_KEY, sql)
            )
            conn.exec_driver_sql(f"DROP TRIGGER {TRIGGER}")
            suspended = True
    try:
        yield suspended
    finally:
        if suspended:
            _restore(engine)
