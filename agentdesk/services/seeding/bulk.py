"""Fast bulk loading for seeding: raw ``executemany`` on SQLite, ``COPY`` on PostgreSQL.

ORM objects one by one would take tens of minutes for a million customers;
this writes pre-built tuples straight to the driver. Values are converted
to the exact storage format SQLAlchemy itself uses on each dialect (UUIDs
as 32 hex digits and naive-UTC timestamps on SQLite), so the ORM reads the
rows back as if it had written them (tests check the round trip).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql import FromClause


def _uuid_hex(value: Any) -> Any:
    return value.hex if isinstance(value, uuid.UUID) else value


def _naive_utc_text(value: Any) -> Any:
    if not isinstance(value, dt.datetime):
        return value
    if value.tzinfo is not dt.UTC:
        value = value.astimezone(dt.UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _iso_date(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _as_int(value: Any) -> Any:
    return None if value is None else int(value)


def _as_float(value: Any) -> Any:
    return None if value is None else float(value)


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _json_text(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, dict) else value


def _sqlite_converter(column: Any) -> Callable[[Any], Any] | None:
    """How SQLAlchemy would store a value of this column on SQLite (None: as is)."""
    kind = type(column.type).__name__
    return {
        "Uuid": _uuid_hex,
        "UTCDateTime": _naive_utc_text,
        "Date": _iso_date,
        "Boolean": _as_int,
        "Numeric": _as_float,
        "Enum": _enum_value,
        "JSON": _json_text,
    }.get(kind)


def _pg_value(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return json.dumps(value)
    return value


def _convert(row: Sequence[Any], converters: list[tuple[int, Callable[[Any], Any]]]) -> list[Any]:
    values = list(row)
    for index, convert in converters:
        values[index] = convert(values[index])
    return values


def prepare_rows(
    dialect: str, table: FromClause, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[Sequence[Any]]:
    """Convert rows to what the driver stores, ahead of time (e.g. in a worker process).

    Plain strings and numbers also pickle far faster than UUID and datetime objects.
    """
    if dialect == "sqlite":
        converters = [
            (i, c)
            for i, name in enumerate(columns)
            if (c := _sqlite_converter(table.c[name])) is not None
        ]
        return [_convert(row, converters) for row in rows]
    return [tuple(_pg_value(v) for v in row) for row in rows]


class BulkWriter:
    """Writes batches of rows (tuples in ``columns`` order) into one table per call."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._dialect = conn.dialect.name
        self.rows_written = 0

    def insert(
        self,
        table: FromClause,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        prepared: bool = False,
    ) -> None:
        """Insert ``rows``; ``prepared`` means they already went through ``prepare_rows``."""
        if not rows:
            return
        if not prepared:
            rows = prepare_rows(self._dialect, table, columns, rows)
        raw = self._conn.connection.driver_connection
        assert raw is not None, "bulk insert needs a live driver connection"
        if self._dialect == "sqlite":
            placeholders = ", ".join("?" for _ in columns)
            sql = f"INSERT INTO {table.description} ({', '.join(columns)}) VALUES ({placeholders})"
            cur = raw.cursor()
            try:
                cur.executemany(sql, rows)
            finally:
                cur.close()
        elif self._dialect == "postgresql":
            with (
                raw.cursor() as cur,
                cur.copy(f"COPY {table.description} ({', '.join(columns)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        else:
            raise ValueError(f"bulk insert not supported on {self._dialect}")
        self.rows_written += len(rows)
