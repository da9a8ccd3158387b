"""Declarative base, naming convention and the column types every table shares.

Every table is created by Alembic on both SQLite and PostgreSQL, so the
constraint names must be deterministic (Alembic's batch mode on SQLite
rebuilds tables by name) and types must map cleanly on both dialects.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, MetaData, Numeric, String, Uuid
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from agentdesk.ids import uuid7

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    SQLite has no time zones and hands back naive values; PostgreSQL
    ``timestamptz`` hands back aware ones. Normalising here means no code
    above the models ever compares naive and aware datetimes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; agentdesk stores UTC-aware datetimes only")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> dt.datetime:
    """Current time, UTC-aware."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """Root of the agentdesk schema."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Declared as a class-level setting, as DeclarativeBase reads it from the class.
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        uuid.UUID: Uuid(),
        dt.datetime: UTCDateTime(),
        Decimal: Numeric(18, 2),
        dict[str, Any]: JSONType,
        str: String(255),
    }


def uuid_pk() -> Mapped[uuid.UUID]:
    """Primary key column holding a client-generated UUIDv7."""
    return mapped_column(primary_key=True, default=uuid7)


def created_at_column() -> Mapped[dt.datetime]:
    return mapped_column(default=utcnow)


def enum_type(enum_cls: type[Any], name: str) -> SAEnum:
    """A portable enum: VARCHAR plus a named CHECK constraint on both dialects.

    Native PostgreSQL ENUM types are avoided because adding a value needs a
    migration that cannot run inside a transaction; a CHECK is cheap to alter.
    """
    return SAEnum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=24,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )
