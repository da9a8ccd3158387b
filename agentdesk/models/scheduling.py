"""Timed work on the server: the scheduler's leader lease, durable timers, the notification outbox.

Central-only tables (the change feed never carries them). They live in the
one Alembic history like every other table, so a desktop cache has them too,
empty.
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from agentdesk.models.base import Base, created_at_column, enum_type, utcnow, uuid_pk


class SchedulerLease(Base):
    """Who runs a site's scheduler until ``expires_at``.

    One row per site. An instance becomes the holder when the row is free or expired
    and stays the holder by renewing before ``expires_at``; ``token`` grows by one at
    every change of holder, so work done under an old lease can be told apart.
    """

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    token: Mapped[int] = mapped_column(default=1)
    acquired_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    renewed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]


class ScheduledTimer(Base):
    """Something to do at ``due_at``: fired once by the leader, also after a restart.

    ``(kind, subject)`` names the timer (e.g. ``sla.escalation`` / ``<ticket>:breach``),
    so scheduling the same thing twice moves it instead of doubling it. ``fired_at`` is
    set in the same transaction as the handler's own writes. A handler that fails is
    tried again from ``retry_at`` with back-off; ``attempts`` and ``last_error`` say so.
    """

    __tablename__ = "scheduled_timer"
    __table_args__ = (
        UniqueConstraint("kind", "subject"),
        # The tick's query: unfired timers by due time (a partial index stays small).
        Index(
            "ix_scheduled_timer_pending",
            "due_at",
            postgresql_where=text("fired_at IS NULL"),
            sqlite_where=text("fired_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(160))
    due_at: Mapped[dt.datetime]
    fired_at: Mapped[dt.datetime | None]
    retry_at: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created_at_column()


class NotificationState(StrEnum):
    PENDING = "pending"  # waiting to be sent, or to be tried again at ``next_attempt_at``
    SENT = "sent"
    HELD = "held"  # cannot be sent as it stands (bounced, no address, gave up): for supervisors
    SUPPRESSED = "suppressed"  # not to be sent (a marketing message to a customer who opted out)


class Notification(Base):
    """One message to a customer, queued in the transaction that decided to send it.

    No contact data is copied here: the address and the text are read from the customer
    and the ticket when the message is sent. ``event_key`` makes queuing idempotent (one
    notification per ticket-history row and template).
    """

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_state_next", "state", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    event_key: Mapped[str] = mapped_column(String(160), unique=True)
    template: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ticket.id", ondelete="SET NULL")
    )
    # Chosen when sent (the customer's preference then); empty until the first attempt.
    channel: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[NotificationState] = mapped_column(
        enum_type(NotificationState, "notification_state"), default=NotificationState.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    interaction_id: Mapped[uuid.UUID | None]
    created_at: Mapped[dt.datetime] = created_at_column()
    sent_at: Mapped[dt.datetime | None]
