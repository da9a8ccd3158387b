"""Audit trail: who did what, to which record, why. Append-only and hash-chained.

Entries written at the centre carry ``seq`` (1, 2, 3 … with no gaps), the
previous entry's hash and their own hash (store/audit_log.py), so an edited,
deleted or inserted row breaks the chain that ``agentdesk audit verify`` walks.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agentdesk.models.base import Base, utcnow, uuid_pk


class AuditEntry(Base):
    """One audited action (PII reveal, supervisor action, login, purge …)."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_entity", "entity_type", "entity_id"),
        Index("ix_audit_entry_seq", "seq", unique=True),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str | None] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    workstation: Mapped[str | None] = mapped_column(String(80))
    # Chain fields; NULL only on a desktop's provisional copy before the centre wrote it.
    seq: Mapped[int | None] = mapped_column(BigInteger)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    entry_hash: Mapped[str | None] = mapped_column(String(64))
