"""Tickets with SLA clocks, an append-only change history and append-only comments."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agentdesk.models.base import Base, created_at_column, enum_type, utcnow, uuid_pk
from agentdesk.models.enums import Severity, TicketPriority, TicketStatus


class Ticket(Base):
    """A case routed to a team. ``number`` is the human reference (e.g. T-2026-000123)."""

    __tablename__ = "ticket"
    __table_args__ = (
        Index("ix_ticket_customer_status", "customer_id", "status"),
        Index("ix_ticket_team_status", "team_id", "status"),
        Index("ix_ticket_assignee_status", "assignee_id", "status"),
        # The scheduler's "what is due before T" on 100k open tickets is a range scan here.
        Index("ix_ticket_sla_next_due", "sla_next_due", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE")
    )
    reason: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[TicketPriority] = mapped_column(
        enum_type(TicketPriority, "priority"), default=TicketPriority.NORMAL
    )
    severity: Mapped[Severity] = mapped_column(
        enum_type(Severity, "severity"), default=Severity.MINOR
    )
    status: Mapped[TicketStatus] = mapped_column(
        enum_type(TicketStatus, "status"), default=TicketStatus.NEW
    )
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("team.id", ondelete="SET NULL"))
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agent.id", ondelete="SET NULL")
    )
    # SLA clocks, in business time on the team's calendar (services/tickets/sla.py).
    first_response_due: Mapped[dt.datetime | None]
    next_update_due: Mapped[dt.datetime | None]  # runs from the first response on
    resolution_due: Mapped[dt.datetime | None]
    first_responded_at: Mapped[dt.datetime | None]
    # Set while the clocks are stopped (waiting for the customer, resolved, closed).
    sla_paused_at: Mapped[dt.datetime | None]
    # The earliest clock still running, None while paused or finished; kept by the
    # mutators so "what is due" needs one index and no OR across three columns.
    sla_next_due: Mapped[dt.datetime | None]
    escalation_level: Mapped[int] = mapped_column(default=0)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agent.id", ondelete="SET NULL")
    )
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    closed_at: Mapped[dt.datetime | None]
    deleted_at: Mapped[dt.datetime | None]


class TicketHistory(Base):
    """One field change of a ticket. Append-only."""

    __tablename__ = "ticket_history"

    id: Mapped[uuid.UUID] = uuid_pk()
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ticket.id", ondelete="CASCADE"), index=True
    )
    field: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TicketComment(Base):
    """A comment on a ticket. Append-only."""

    __tablename__ = "ticket_comment"

    id: Mapped[uuid.UUID] = uuid_pk()
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ticket.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = created_at_column()
