"""Follow-up work that reaches an agent's desk: reminders and SLA escalation alerts.

Both are replicated (the change feed carries them like tickets), so a desktop
shows them from its cache, live, and again at sign-in when they were missed.

* ``reminder``: "call the customer back Thursday 10:00", set by an agent (or by
  policy) on a ticket or a customer. The server keeps a scheduler timer for it;
  when due it becomes ``due``; the agent marks it ``done``.
* ``ticket_alert``: one escalation level of a ticket reached, addressed to one
  person (the assignee, the team lead, a supervisor). Written by the escalation
  handler in the transaction that raises the ticket's level; ``(ticket, level,
  recipient, episode)`` is unique, so a level notifies each person once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agentdesk.models.base import Base, created_at_column, utcnow, uuid_pk


class ReminderState(StrEnum):
    PENDING = "pending"  # set, not due yet
    DUE = "due"  # the time came: shown on the desk until done
    DONE = "done"  # the agent dealt with it
    CANCELLED = "cancelled"  # withdrawn before it was due


class Reminder(Base):
    """A follow-up for ``agent_id`` at ``due_at`` about a ticket and/or a customer.

    ``team_id`` is the owner's team, copied so the change feed takes the row to the
    owner's desktop (the feed is scoped by team and pinned customer).
    """

    __tablename__ = "reminder"
    __table_args__ = (Index("ix_reminder_agent_state", "agent_id", "state", "due_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("team.id", ondelete="SET NULL"))
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ticket.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    due_at: Mapped[dt.datetime]
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), default="agent")  # agent | policy
    state: Mapped[str] = mapped_column(String(16), default=ReminderState.PENDING.value)
    fired_at: Mapped[dt.datetime | None]
    done_at: Mapped[dt.datetime | None]
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TicketAlert(Base):
    """An escalation level a ticket reached, for one recipient. Append-only but for ``read_at``.

    ``episode`` is the SLA due instant the level was reached against (ISO text), so a clock
    that restarts (the next update after a reply) can escalate again, once per level.
    """

    __tablename__ = "ticket_alert"
    __table_args__ = (
        UniqueConstraint("ticket_id", "level", "recipient_id", "episode"),
        Index("ix_ticket_alert_recipient", "recipient_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"))
    level: Mapped[int]
    level_name: Mapped[str] = mapped_column(String(32))
    clock: Mapped[str] = mapped_column(String(32))
    episode: Mapped[str] = mapped_column(String(40))
    recipient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"))
    recipient_role: Mapped[str] = mapped_column(String(16))  # assignee | team_lead | supervisor
    created_at: Mapped[dt.datetime] = created_at_column()
    read_at: Mapped[dt.datetime | None]
