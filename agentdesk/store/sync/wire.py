"""The sync protocol's values as JSON, shared by the server and the desktop's HTTP client.

Rows travel as JSON arrays in the table's column order (a snapshot of 100 k
rows is mostly values, not keys); ids, timestamps, decimals and enums as
text, decoded back per column type on arrival. Pushes, verdicts, feed rows
and units are small JSON objects.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table

from agentdesk.models import Base
from agentdesk.store.sync.entities import column_decoders, encode_value, same
from agentdesk.store.sync.local import Unit
from agentdesk.store.sync.protocol import Cursor, FeedRow, PushEntry, PushReply, PushResult

_TABLES: dict[str, Table] = {}


def table_named(name: str) -> Table:
    """A table of the schema by name; ``KeyError`` for anything else (untrusted input)."""
    if not _TABLES:
        _TABLES.update(Base.metadata.tables)
    return _TABLES[name]


def encode_rows(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    return [[encode_value(v) for v in row] for row in rows]


def decode_rows(table: Table, rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """JSON arrays back to Python values in column order; a wrong width is refused."""
    decoders: list[Callable[[Any], Any]] = column_decoders(table)
    width = len(decoders)
    # Only the columns that need it are visited (text, numbers and flags arrive as they are).
    active = [(i, fn) for i, fn in enumerate(decoders) if fn is not same]
    out: list[tuple[Any, ...]] = []
    for row in rows:
        if len(row) != width:
            raise ValueError(f"a {table.name} row has {len(row)} values, expected {width}")
        values = list(row)
        for i, fn in active:
            v = values[i]
            if v is not None:
                values[i] = fn(v)
        out.append(tuple(values))
    return out


def encode_dict_rows(table: Table, rows: Sequence[dict[str, Any]]) -> list[list[Any]]:
    names = [c.name for c in table.columns]
    return [[encode_value(r.get(n)) for n in names] for r in rows]


def decode_dict_rows(table: Table, rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    names = [c.name for c in table.columns]
    return [dict(zip(names, row, strict=True)) for row in decode_rows(table, rows)]


def push_entry_json(entry: PushEntry) -> dict[str, Any]:
    return {
        "client_seq": entry.client_seq,
        "mutation_id": str(entry.mutation_id),
        "name": entry.name,
        "args": entry.args,
    }


def push_result_json(result: PushResult) -> dict[str, Any]:
    return {
        "client_seq": result.client_seq,
        "mutation_id": str(result.mutation_id),
        "state": result.state,
        "result": result.result,
        "error": result.error,
        "field": result.field,
    }


def push_reply_from_json(data: dict[str, Any]) -> PushReply:
    return PushReply(
        tuple(
            PushResult(
                int(r["client_seq"]),
                uuid.UUID(r["mutation_id"]),
                r["state"],
                dict(r["result"]),
                r.get("error"),
                r.get("field"),
            )
            for r in data["results"]
        ),
        data.get("gap_expected"),
    )


def feed_row_json(row: FeedRow) -> dict[str, Any]:
    return {
        "xid": row.xid,
        "seq": row.seq,
        "entity_type": row.entity_type,
        "entity_id": str(row.entity_id),
        "op": row.op,
        "version": row.version,
        "data": row.data,
    }


def feed_row_from_json(data: dict[str, Any]) -> FeedRow:
    return FeedRow(
        int(data["xid"]),
        int(data["seq"]),
        str(data["entity_type"]),
        uuid.UUID(data["entity_id"]),
        str(data["op"]),
        int(data["version"]),
        data.get("data"),
    )


def unit_json(unit: Unit) -> dict[str, Any]:
    return {
        "kind": unit.kind,
        "entity_id": str(unit.entity_id),
        "data": unit.data,
        "history": list(unit.history),
    }


def unit_from_json(data: dict[str, Any]) -> Unit:
    return Unit(
        str(data["kind"]), uuid.UUID(data["entity_id"]), data.get("data"), tuple(data["history"])
    )


def cursor_json(cursor: Cursor) -> str:
    return str(cursor)


__all__ = [
    "decode_dict_rows",
    "decode_rows",
    "encode_dict_rows",
    "encode_rows",
    "feed_row_from_json",
    "feed_row_json",
    "push_entry_json",
    "push_reply_from_json",
    "push_result_json",
    "table_named",
    "unit_from_json",
    "unit_json",
]
