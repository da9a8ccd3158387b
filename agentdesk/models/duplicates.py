"""Duplicate customers (issue 13 item 6): candidate pairs found by a scan, and merge requests.

Both tables are central-only: the change feed never carries them (a desktop
sees the *result* of a merge, the tombstone and the moved rows, through the
customer aggregate and the moved tickets and interactions). They live in the
one Alembic history like every other table, so a desktop cache has them too,
empty.

Neither table holds personal data: a candidate names two customer ids, a
score and the reasons as short phrases ("same phone number"), never the
number, e-mail address or date of birth that matched.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agentdesk.models.base import Base, created_at_column, uuid_pk


class DuplicateCandidate(Base):
    """Two customers the scan thinks are one person; ``customer_a`` sorts before ``customer_b``.

    ``state``: ``open`` (on the review list), ``dismissed`` (a supervisor said they are
    different people: a rescan keeps it off the list), ``merged``.
    """

    __tablename__ = "duplicate_candidate"
    __table_args__ = (
        UniqueConstraint("customer_a", "customer_b"),
        Index("ix_duplicate_candidate_state_score", "state", "score"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_a: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    customer_b: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    score: Mapped[int]
    reasons: Mapped[list[Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="open")
    found_at: Mapped[dt.datetime] = created_at_column()
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None]


class MergeRequest(Base):
    """A supervisor's request to merge ``merged_id`` into ``survivor_id``, awaiting a second one.

    The customers' versions at request time are kept: an approval of a request whose
    customers changed since is refused (the reviewer approved what they saw, not what is
    there now). ``state``: ``pending``, ``merged``, ``rejected``, ``outdated``.
    """

    __tablename__ = "merge_request"
    __table_args__ = (Index("ix_merge_request_state", "state"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    survivor_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    merged_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    survivor_version: Mapped[int]
    merged_version: Mapped[int]
    score: Mapped[int | None]
    reasons: Mapped[list[Any]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[dt.datetime] = created_at_column()
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)
