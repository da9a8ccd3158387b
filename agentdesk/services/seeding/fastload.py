"""Bulk-load mode for SQLite: build the search index once at the end, not row by row.

The search index (migration 0003) is fed by triggers: every new customer,
phone and e-mail inserts a search document, and every document is indexed
in FTS5 at once. During a million-customer seed those per-row triggers cost
more than the rows themselves. ``suspended_search_triggers`` drops them,
lets the load run, then adds the missing documents with three set-based
statements, rebuilds FTS5 from its content table in one pass and restores
the triggers. Their SQL is parked in ``sync_state`` first, so a seed killed
half-way is repaired by the next one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

TRIGGERS = ("search_customer_ai", "search_phone_ai", "search_email_ai", "search_doc_ai")
PARKED_KEY = "seed.suspended_triggers"

# The documents the *_ai triggers of migration 0003 would have written. Kept in
# step with them by tests/services/test_seed.py, which compares a bulk-loaded
# index with a trigger-fed one.
_BACKFILL = (
    """INSERT INTO search_doc(source_id, customer_id, name)
       SELECT c.id, c.id, c.display_name FROM customer c
       WHERE c.deleted_at IS NULL
         AND NOT EXISTS (SELECT 1 FROM search_doc d WHERE d.source_id = c.id)""",
    """INSERT INTO search_doc(source_id, customer_id, phone)
       SELECT p.id, p.customer_id, coalesce(ltrim(p.e164, '+'), p.number_raw) FROM customer_phone p
       WHERE NOT EXISTS (SELECT 1 FROM search_doc d WHERE d.source_id = p.id)""",
    """INSERT INTO search_doc(source_id, customer_id, email)
       SELECT e.id, e.customer_id, e.address_norm FROM customer_email e
       WHERE NOT EXISTS (SELECT 1 FROM search_doc d WHERE d.source_id = e.id)""",
)


def _restore(engine: Engine) -> None:
    with engine.begin() as conn:
        parked = conn.exec_driver_sql(
            "SELECT value FROM sync_state WHERE key = ?", (PARKED_KEY,)
        ).scalar()
        if parked is None:
            return
        for statement in _BACKFILL:
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql("INSERT INTO search_fts(search_fts) VALUES ('rebuild')")
        for name, sql in json.loads(parked).items():
            if not _trigger_exists(conn, name):
                conn.exec_driver_sql(sql)
        conn.exec_driver_sql("DELETE FROM sync_state WHERE key = ?", (PARKED_KEY,))


def _trigger_exists(conn: Connection, name: str) -> bool:
    return bool(
        conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?", (name,)
        ).scalar()
    )


@contextmanager
def suspended_search_triggers(engine: Engine) -> Iterator[bool]:
    """Suspend per-row search indexing on a SQLite store for the duration; yields whether it did."""
    if engine.dialect.name != "sqlite":
        yield False
        return
    _restore(engine)  # a previous seed that died half-way
    with engine.begin() as conn:
        found = {
            name: sql
            for name, sql in conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN "
                f"({', '.join('?' for _ in TRIGGERS)})",
                TRIGGERS,
            )
        }
        if len(found) == len(TRIGGERS):
            conn.exec_driver_sql(
                "INSERT INTO sync_state(key, value) VALUES (?, ?)", (PARKED_KEY, json.dumps(found))
            )
            for name in found:
                conn.exec_driver_sql(f"DROP TRIGGER {name}")
    suspended = len(found) == len(TRIGGERS)
    try:
        yield suspended
    finally:
        if suspended:
            _restore(engine)
