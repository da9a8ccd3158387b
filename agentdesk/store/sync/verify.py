"""Does a cache agree with the centre? Per-table content digests over the working set.

Used by the sync proofs and by ``agentdesk sync status --verify``. Only
meaningful once the outbox is empty: pending edits legitimately differ.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Table, select

from agentdesk.models import Customer, Ticket
from agentdesk.store.sync.entities import SYNCED_TABLES, encode_row
from agentdesk.store.sync.scope import SyncScope, pin_queries, scope_queries, table_selects

_CHUNK = 500


@dataclass(frozen=True)
class TableCheck:
    """How one table of a cache compares with the centre."""

    table: str
    local_rows: int
    local_digest: str
    central_digest: str
    differing: tuple[str, ...]  # ids whose content differs or that the centre lacks
    missing: tuple[str, ...]  # ids in the working set that the cache lacks

    @property
    def ok(self) -> bool:
        return self.local_digest == self.central_digest and not self.missing


def _rows_by_id(
    engine: Engine, table: Table, ids: Iterable[Any] | None
) -> dict[str, dict[str, Any]]:
    pk = table.primary_key.columns.values()[0]
    out: dict[str, dict[str, Any]] = {}
    with engine.connect() as conn:
        if ids is None:
            for row in conn.execute(select(table)):
                data = encode_row(row, table)
                out[str(data[pk.name])] = data
            return out
        id_list = list(ids)
        for start in range(0, len(id_list), _CHUNK):
            chunk = id_list[start : start + _CHUNK]
            for row in conn.execute(select(table).where(pk.in_(chunk))):
                data = encode_row(row, table)
                out[str(data[pk.name])] = data
    return out


def _digest(rows: dict[str, dict[str, Any]]) -> str:
    h = hashlib.sha256()
    for key in sorted(rows):
        h.update(json.dumps(rows[key], sort_keys=True, default=str).encode())
    return h.hexdigest()


def _expected_ids(central: Engine, local: Engine, scope: SyncScope) -> dict[str, set[str]]:
    """Ids each table of the cache must hold: the scope, plus the closure of what it caches."""
    with local.connect() as conn:
        customers = list(conn.execute(select(Customer.id)).scalars())
        tickets = list(conn.execute(select(Ticket.id)).scalars())
    expected: dict[str, set[str]] = {t.name: set() for t in SYNCED_TABLES}
    with central.connect() as conn:
        queries = [scope_queries(scope)]
        if not scope.full_replica:
            queries.append(pin_queries(customers, tickets, scope))
        for q in queries:
            for table, stmt in table_selects(q):
                pk = table.primary_key.columns.values()[0]
                expected[table.name].update(
                    str(v) for v in conn.execute(stmt.with_only_columns(pk)).scalars()
                )
    return expected


def compare(local: Engine, central: Engine, scope: SyncScope) -> list[TableCheck]:
    """Compare every replicated table of ``local`` with ``central`` over the working set."""
    expected = _expected_ids(central, local, scope)
    checks = []
    for table in SYNCED_TABLES:
        mine = _rows_by_id(local, table, None)
        theirs = _rows_by_id(central, table, [uuid.UUID(k) for k in mine])
        differing = tuple(sorted(k for k in mine if theirs.get(k) != mine[k]))
        missing = tuple(sorted(expected[table.name] - set(mine)))
        checks.append(
            TableCheck(table.name, len(mine), _digest(mine), _digest(theirs), differing, missing)
        )
    return checks


def explain(checks: list[TableCheck]) -> str:
    bad = [c for c in checks if not c.ok]
    if not bad:
        return "cache agrees with the central store"
    return "; ".join(
        f"{c.table}: {len(c.differing)} differ {list(c.differing[:3])}, "
        f"{len(c.missing)} missing {list(c.missing[:3])}"
        for c in bad
    )
