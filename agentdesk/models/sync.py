"""Tables of the offline-first sync protocol (see DESIGN.md §3).

Client side: ``outbox`` and ``sync_state``. Central side: ``sync_client``,
``applied_mutation``, ``change_log`` and ``conflict_review``. Both sides
share one schema so one Alembic history serves every store.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agentdesk.models.base import Base, enum_type, utcnow, uuid_pk
from agentdesk.models.enums import OutboxState

# SQLite only auto-increments an INTEGER PRIMARY KEY; BIGINT keeps PostgreSQL roomy.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class OutboxEntry(Base):
    """A local write waiting to reach the centre. Committed with the write itself."""

    __tablename__ = "outbox"
    # AUTOINCREMENT: SQLite then never reuses a counter after rows are deleted.
    __table_args__ = (
        Index("ix_outbox_state_seq", "state", "client_seq"),
        {"sqlite_autoincrement": True},
    )

    client_seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    mutation_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[uuid.UUID]
    args: Mapped[dict[str, Any]]
    base_versions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    state: Mapped[OutboxState] = mapped_column(
        enum_type(OutboxState, "state"), default=OutboxState.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    # The argument the centre refused, so the UI can highlight it.
    error_field: Mapped[str | None] = mapped_column(String(64))
    acked_at: Mapped[dt.datetime | None]


class SyncState(Base):
    """Key/value state of this client: client id, pull cursor, last acked counter."""

    __tablename__ = "sync_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class SyncClient(Base):
    """Central record of each desktop installation and the last counter applied for it."""

    __tablename__ = "sync_client"

    client_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    agent_login: Mapped[str] = mapped_column(String(64))
    last_mutation_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AppliedMutation(Base):
    """A mutation the centre has applied, with its stored result for retries."""

    __tablename__ = "applied_mutation"
    __table_args__ = (UniqueConstraint("client_id", "client_seq"),)

    mutation_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    client_id: Mapped[uuid.UUID]
    client_seq: Mapped[int] = mapped_column(BigInteger)
    result: Mapped[dict[str, Any]]
    applied_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ChangeLog(Base):
    """The change feed clients pull from.

    ``xid`` holds ``pg_current_xact_id()`` on PostgreSQL (a server default
    added by migration 0002, so the feed can serve only rows below the
    oldest running transaction); on the SQLite
    central it stays null and ``seq`` alone orders the feed, which is safe
    because SQLite serialises writers.
    """

    __tablename__ = "change_log"
    __table_args__ = (
        Index("ix_change_log_xid_seq", "xid", "seq"),
        Index("ix_change_log_entity", "entity_type", "entity_id"),
        Index("ix_change_log_changed_at", "changed_at"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    xid: Mapped[int | None] = mapped_column(BigInteger)
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[uuid.UUID]
    op: Mapped[str] = mapped_column(String(8))  # upsert | delete
    version: Mapped[int] = mapped_column(default=1)
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The row (or aggregate) as it stood after the change, so a pull page is self-contained.
    data: Mapped[dict[str, Any] | None]
    # Scope keys: which team's tickets and which customer the change belongs to.
    team_id: Mapped[uuid.UUID | None]
    customer_id: Mapped[uuid.UUID | None]
    origin_client_id: Mapped[uuid.UUID | None]
    mutation_id: Mapped[uuid.UUID | None]


class ConflictReview(Base):
    """A losing value of an identity/KYC field, kept for a supervisor to decide."""

    __tablename__ = "conflict_review"

    id: Mapped[uuid.UUID] = uuid_pk()
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[uuid.UUID]
    field: Mapped[str] = mapped_column(String(64))
    central_value: Mapped[str | None] = mapped_column(Text)
    losing_value: Mapped[str | None] = mapped_column(Text)
    client_id: Mapped[uuid.UUID | None]
    agent_login: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[dt.datetime | None]
    resolution: Mapped[str | None] = mapped_column(String(16))


class SyncPin(Base):
    """A customer the server handed to one desktop (fill, closure, pop, search result).

    The server filters each desktop's pull to its pins and its teams' tickets in SQL,
    so a desktop never receives changes to customers it was never given.
    """

    __tablename__ = "sync_pin"

    client_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)
    pinned_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
