"""Reference data: wrap-up dispositions, knowledge articles."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agentdesk.models.base import Base, utcnow, uuid_pk


class Disposition(Base):
    """A wrap-up code an agent picks at the end of a contact."""

    __tablename__ = "disposition"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(32), default="general")
    requires_notes: Mapped[bool] = mapped_column(default=False)
    suggests_ticket: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)


class KnowledgeArticle(Base):
    """An answer agents can read to a caller."""

    __tablename__ = "knowledge_article"

    id: Mapped[uuid.UUID] = uuid_pk()
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    tags: Mapped[str] = mapped_column(String(300), default="")
    intent: Mapped[str | None] = mapped_column(String(64), index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
