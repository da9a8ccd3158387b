"""Turning generated data into what each driver stores, and writing it fast.

Seeding a million customers means about nine million rows. Building a
SQLAlchemy object, or even a converted tuple, per row would take minutes,
so the generator hands over whole *columns* (numpy arrays or plain lists)
and this module converts each column in one vectorised step to the exact
storage form SQLAlchemy itself uses on each dialect: UUIDs as 32 hex digits
and naive-UTC timestamp text on SQLite, ``COPY`` text on PostgreSQL. The ORM
then reads the rows back as if it had written them (tests check the round
trip).

Which columns exist is read from the SQLAlchemy ``Table``: a column the
generator does not fill gets the model's scalar default, so a model that
gains a column with a default keeps seeding without changes here.

``BulkWriter`` also still accepts row tuples of Python values for the small
reference tables.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection
from sqlalchemy.sql import FromClause

# A table column (``Table.c[name]``); only its type, default and nullability are read.
_Column = Any
# A 128-bit id as two big-endian 64-bit halves: ``tobytes()`` is then the UUID's bytes.
UUID_DTYPE = np.dtype([("hi", ">u8"), ("lo", ">u8")])
_EPOCH_DAY = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class Nullable:
    """A typed numpy column with holes: ``values`` where ``present`` is true, else NULL."""

    values: npt.NDArray[Any]
    present: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.values)


# One column of a batch: a typed numpy array (uuid, datetime64, bool, int, float), a
# ``Nullable`` of one, or a list / object array of ready Python values (str, int, bytes, None).
ColumnData = npt.NDArray[Any] | Nullable | list[Any]
Columns = dict[str, ColumnData]
# A generated chunk: table name -> its columns, all of one length per table.
Batch = dict[str, Columns]


def batch_rows(batch: Mapping[str, Columns]) -> int:
    return sum(column_length(cols) for cols in batch.values())


def column_length(cols: Mapping[str, ColumnData]) -> int:
    for values in cols.values():
        return len(values)
    return 0


# --- vectorised formatting -------------------------------------------------------------------


def uuid_hex(values: npt.NDArray[Any]) -> list[str]:
    """32 lower-case hex digits per id: SQLAlchemy's ``Uuid`` storage on SQLite.

    PostgreSQL's uuid input accepts the same text, so COPY uses it too.
    """
    text = np.ascontiguousarray(values, dtype=UUID_DTYPE).tobytes().hex()
    return [text[i : i + 32] for i in range(0, len(text), 32)]


@cache
def _day_texts(first: int, last: int) -> list[str]:
    return [(_EPOCH_DAY + dt.timedelta(days=d)).isoformat() for d in range(first, last + 1)]


@cache
def _time_texts(suffix: str) -> list[str]:
    return [f" {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{suffix}" for s in range(86_400)]


def timestamp_text(values: npt.NDArray[Any], suffix: str) -> list[str]:
    """``YYYY-MM-DD HH:MM:SS`` + ``suffix`` for datetime64 values that are whole seconds.

    Formatting through lookup tables (a few thousand days, 86 400 times of day)
    is about ten times faster than ``datetime.isoformat`` per value.
    """
    seconds = values.astype("datetime64[s]").astype(np.int64)
    days, tod = np.divmod(seconds, 86_400)
    if not len(days):
        return []
    first = int(days.min())
    day_text, time_text = _day_texts(first, int(days.max())), _time_texts(suffix)
    return [
        day_text[d] + time_text[t]
        for d, t in zip((days - first).tolist(), tod.tolist(), strict=True)
    ]


def date_text(values: npt.NDArray[Any]) -> list[str]:
    days = values.astype("datetime64[D]").astype(np.int64)
    if not len(days):
        return []
    first = int(days.min())
    table = _day_texts(first, int(days.max()))
    return [table[d] for d in (days - first).tolist()]


def _whole_seconds(values: npt.NDArray[Any]) -> bool:
    micro = values.astype("datetime64[us]").astype(np.int64)
    return bool((micro % 1_000_000 == 0).all())


def _datetime64_objects(values: npt.NDArray[Any]) -> list[dt.datetime]:
    return [v.replace(tzinfo=dt.UTC) for v in values.astype("datetime64[us]").tolist()]


# --- per-dialect column conversion -----------------------------------------------------------


def _kind(column: _Column) -> str:
    kind = type(column.type).__name__
    impl = getattr(column.type, "impl", None)
    if kind not in _KNOWN and impl is not None:
        kind = type(impl).__name__
    return kind


_KNOWN = {"Uuid", "UTCDateTime", "DateTime", "Date", "Boolean", "Numeric", "Enum", "JSON"}


def _sqlite_value_converter(column: _Column) -> Callable[[Any], Any] | None:
    """How SQLAlchemy would store one Python value of this column on SQLite (None: as is)."""
    return {
        "Uuid": _uuid_hex_value,
        "UTCDateTime": _naive_utc_text,
        "DateTime": _naive_utc_text,
        "Date": _iso_date,
        "Boolean": _as_int,
        "Numeric": _as_float,
        "Enum": _enum_value,
        "JSON": _json_text,
    }.get(_kind(column))


def _uuid_hex_value(value: Any) -> Any:
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


def _sqlite_array(column: _Column, values: npt.NDArray[Any]) -> list[Any]:
    if values.dtype == UUID_DTYPE:
        return uuid_hex(values)
    if values.dtype.kind == "M":
        if _kind(column) == "Date":
            return date_text(values)
        if _whole_seconds(values):
            return timestamp_text(values, ".000000")
        return [_naive_utc_text(v) for v in _datetime64_objects(values)]
    if values.dtype.kind == "b":
        return cast(list[Any], values.astype(np.int64).tolist())
    if values.dtype.kind == "O":
        return _sqlite_objects(column, cast(list[Any], values.tolist()))
    return cast(list[Any], values.tolist())


# Values sqlite3 binds as they are; anything else goes through the column's converter.
_SQLITE_NATIVE = {str, int, float, bytes, type(None)}


def _sqlite_objects(column: _Column, items: list[Any]) -> list[Any]:
    convert = _sqlite_value_converter(column)
    if convert is None or set(map(type, items)) <= _SQLITE_NATIVE:
        return items
    return [convert(v) for v in items]


def sqlite_column(column: _Column, data: ColumnData) -> list[Any]:
    """One column as the Python values sqlite3 binds."""
    if isinstance(data, Nullable):
        values = _sqlite_array(column, data.values)
        return [v if p else None for v, p in zip(values, data.present.tolist(), strict=True)]
    if isinstance(data, np.ndarray):
        return _sqlite_array(column, data)
    return _sqlite_objects(column, list(data))


_NULL = "\\N"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_python_value(value: Any) -> str:
    if value is None:
        return _NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\\\x" + bytes(value).hex()
    if isinstance(value, Enum):
        value = value.value
    elif isinstance(value, dict):
        value = json.dumps(value)
    elif isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC).isoformat(" ")
    elif isinstance(value, uuid.UUID):
        return value.hex
    elif isinstance(value, dt.date | int | float):
        return str(value) if not isinstance(value, dt.date) else value.isoformat()
    return str(value).translate(_COPY_ESCAPES)


def _copy_array(column: _Column, values: npt.NDArray[Any]) -> list[str]:
    if values.dtype == UUID_DTYPE:
        return uuid_hex(values)
    if values.dtype.kind == "M":
        if _kind(column) == "Date":
            return date_text(values)
        if _whole_seconds(values):
            return timestamp_text(values, "+00")
        return [v.isoformat(" ") for v in _datetime64_objects(values)]
    if values.dtype.kind == "b":
        return cast(list[str], np.where(values, "t", "f").tolist())
    if values.dtype.kind in "iuf":
        return cast(list[str], values.astype(str).tolist())
    return _copy_objects(cast(list[Any], values.tolist()))


def _copy_objects(items: list[Any]) -> list[str]:
    """COPY fields for Python values; plain text and NULLs (nearly all of them) in bulk."""
    if set(map(type, items)) <= {str, type(None)}:
        texts = [_NULL if v is None else v for v in items]
        joined = "".join(v for v in items if v is not None)
        if not any(ch in joined for ch in "\\\t\n\r"):
            return texts
    return [_copy_python_value(v) for v in items]


def copy_column(column: _Column, data: ColumnData) -> list[str]:
    """One column as PostgreSQL ``COPY ... FROM STDIN`` text fields."""
    if isinstance(data, Nullable):
        values = _copy_array(column, data.values)
        return [v if p else _NULL for v, p in zip(values, data.present.tolist(), strict=True)]
    if isinstance(data, np.ndarray):
        return _copy_array(column, data)
    return _copy_objects(list(data))


def _scalar_default(column: _Column) -> tuple[bool, Any]:
    default = column.default
    if default is None or not getattr(default, "is_scalar", False):
        return False, None
    return True, getattr(default, "arg", None)


def complete_columns(table: FromClause, cols: Mapping[str, ColumnData]) -> Columns:
    """``cols`` plus the model's scalar default for every NOT NULL column not given.

    Raises ``ValueError`` for an unknown column, or a required column that has
    no scalar default (the generator must fill it).
    """
    unknown = set(cols) - set(table.c.keys())
    if unknown:
        raise ValueError(f"{table.description} has no column(s) {sorted(unknown)}")
    out: Columns = dict(cols)
    length = column_length(cols)
    for column in table.c:
        if column.key in out:
            continue
        has_default, value = _scalar_default(column)
        if has_default:
            out[column.key] = [value] * length
        elif not column.nullable and column.server_default is None:
            raise ValueError(f"seeding leaves {table.description}.{column.key} empty")
    return out


def sqlite_rows(table: FromClause, cols: Mapping[str, ColumnData]) -> tuple[list[str], list[Any]]:
    """(column names, row tuples) ready for ``executemany`` on SQLite."""
    full = complete_columns(table, cols)
    names = list(full)
    lists = [sqlite_column(table.c[name], full[name]) for name in names]
    return names, list(zip(*lists, strict=True))


def copy_text(table: FromClause, cols: Mapping[str, ColumnData]) -> tuple[list[str], bytes]:
    """(column names, ``COPY`` text payload) for PostgreSQL."""
    full = complete_columns(table, cols)
    names = list(full)
    lists = [copy_column(table.c[name], full[name]) for name in names]
    if not lists or not lists[0]:
        return names, b""
    lines = "\n".join(map("\t".join, zip(*lists, strict=True)))
    return names, (lines + "\n").encode()


@dataclass(frozen=True)
class Prepared:
    """One table's share of a chunk, already in the driver's format."""

    table: str
    columns: list[str]
    rows: list[Any] | bytes
    count: int


def prepare_batch(
    dialect: str, tables: Mapping[str, FromClause], batch: Mapping[str, Columns]
) -> list[Prepared]:
    """Convert a generated chunk for ``dialect`` (done in the worker that generated it)."""
    out: list[Prepared] = []
    for name, cols in batch.items():
        count = column_length(cols)
        if not count:
            continue
        table = tables[name]
        if dialect == "sqlite":
            names, rows = sqlite_rows(table, cols)
            out.append(Prepared(name, names, rows, count))
        else:
            names, payload = copy_text(table, cols)
            out.append(Prepared(name, names, payload, count))
    return out


def write_prepared(raw: Any, dialect: str, items: Iterable[Prepared]) -> int:
    """Write prepared tables through a DB-API connection (sqlite3 or psycopg); rows written."""
    written = 0
    for item in items:
        cols = ", ".join(item.columns)
        if dialect == "sqlite":
            marks = ", ".join("?" for _ in item.columns)
            cur = raw.cursor()
            try:
                cur.executemany(f"INSERT INTO {item.table} ({cols}) VALUES ({marks})", item.rows)
            finally:
                cur.close()
        elif dialect == "postgresql":
            with (
                raw.cursor() as cur,
                cur.copy(f"COPY {item.table} ({cols}) FROM STDIN") as copy,
            ):
                copy.write(item.rows)
        else:
            raise ValueError(f"bulk insert not supported on {dialect}")
        written += item.count
    return written


def _python_columns(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Columns:
    return {name: [row[i] for row in rows] for i, name in enumerate(columns)}


class BulkWriter:
    """Writes batches into one table per call, on the connection of a running transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._dialect = conn.dialect.name
        self.rows_written = 0

    def _raw(self) -> Any:
        raw = self._conn.connection.driver_connection
        assert raw is not None, "bulk insert needs a live driver connection"
        return raw

    def insert(
        self, table: FromClause, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert row tuples (in ``columns`` order) of ordinary Python values."""
        if rows:
            self.insert_columns(table, _python_columns(columns, rows))

    def insert_columns(self, table: FromClause, cols: Mapping[str, ColumnData]) -> None:
        """Insert one table's columns as the generator produced them."""
        self.insert_batch({table.description: dict(cols)}, {table.description: table})

    def insert_batch(self, batch: Mapping[str, Columns], tables: Mapping[str, FromClause]) -> None:
        """Insert every table of a generated chunk, in the batch's order."""
        prepared = prepare_batch(self._dialect, tables, batch)
        self.rows_written += write_prepared(self._raw(), self._dialect, prepared)
