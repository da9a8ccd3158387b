"""Contacts with a customer on any channel, and the PBX's view of each call."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agentdesk.models.base import Base, created_at_column, enum_type, uuid_pk
from agentdesk.models.enums import Channel, Direction, IdvResult


class Interaction(Base):
    """One contact on the customer's timeline. Append-only: never updated in place."""

    __tablename__ = "interaction"
    __table_args__ = (
        Index("ix_interaction_customer_started", "customer_id", "started_at"),
        Index("ix_interaction_linkedid", "linkedid"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    # Null when the caller could not be matched (withheld or unknown number).
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE")
    )
    channel: Mapped[Channel] = mapped_column(enum_type(Channel, "channel"))
    direction: Mapped[Direction] = mapped_column(enum_type(Direction, "direction"))
    started_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]
    agent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    queue: Mapped[str | None] = mapped_column(String(80))
    linkedid: Mapped[str | None] = mapped_column(String(64))
    caller_id: Mapped[str | None] = mapped_column(String(64))
    ivr_session_id: Mapped[str | None] = mapped_column(String(64))
    ivr_intent: Mapped[str | None] = mapped_column(String(64))
    idv_result: Mapped[IdvResult | None] = mapped_column(enum_type(IdvResult, "idv_result"))
    idv_method: Mapped[str | None] = mapped_column(String(32))
    idv_attempts: Mapped[int | None]
    disposition_code: Mapped[str | None] = mapped_column(String(32))
    subject: Mapped[str | None] = mapped_column(String(300))
    notes: Mapped[str | None] = mapped_column(Text)
    talk_seconds: Mapped[int | None]
    hold_seconds: Mapped[int | None]
    wrapup_seconds: Mapped[int | None]
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("ticket.id", ondelete="SET NULL")
    )
    # "Answered with this article": the article and the published version the agent read.
    knowledge_article_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("knowledge_article.id")  # articles are retired, never deleted
    )
    knowledge_version: Mapped[int | None]
    # The agent script run on the call: id, version, the answers as JSON text, and the
    # agent's own ID&V (method and result) when the IVR's had not passed.
    script_id: Mapped[str | None] = mapped_column(String(64))
    script_version: Mapped[int | None]
    script_answers: Mapped[str | None] = mapped_column(Text)
    agent_idv_result: Mapped[IdvResult | None] = mapped_column(
        enum_type(IdvResult, "agent_idv_result")
    )
    agent_idv_method: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = created_at_column()


class CallRecord(Base):
    """Timestamps of one queued call as the PBX reported them (one per Linkedid and agent leg)."""

    __tablename__ = "call_record"

    id: Mapped[uuid.UUID] = uuid_pk()
    linkedid: Mapped[str] = mapped_column(String(64), index=True)
    uniqueid: Mapped[str | None] = mapped_column(String(64))
    queue: Mapped[str | None] = mapped_column(String(80))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customer.id", ondelete="SET NULL")
    )
    interaction_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("interaction.id", ondelete="SET NULL")
    )
    caller_id_raw: Mapped[str | None] = mapped_column(String(64))
    caller_e164: Mapped[str | None] = mapped_column(String(20))
    enqueued_at: Mapped[dt.datetime | None]
    offered_at: Mapped[dt.datetime | None]
    answered_at: Mapped[dt.datetime | None]
    hold_seconds: Mapped[int] = mapped_column(default=0)
    ended_at: Mapped[dt.datetime | None]
    wrapup_ended_at: Mapped[dt.datetime | None]
    abandoned_at: Mapped[dt.datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(24))
    # Ring (AgentCalled received) to screen-pop painted, measured by the desktop.
    pop_latency_ms: Mapped[float | None]
    workstation: Mapped[str | None] = mapped_column(String(80))
    notes_extra: Mapped[str | None] = mapped_column(Text)
