"""Reference data: wrap-up dispositions, knowledge articles and their published versions."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
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
    """An answer agents can read to a caller: the published text and how to find it.

    The row holds the current published version (``published_version``); every
    published version is kept in :class:`KnowledgeArticleVersion`, so an interaction
    can cite exactly what the agent read. ``intents`` and ``products`` are
    space-separated codes (IVR intents, ``ProductKind`` values) that drive
    suggestions; ``body`` is Markdown, rendered safely (no raw HTML) on the desktop.
    ``version`` is the sync version the centre bumps on every change.
    """

    __tablename__ = "knowledge_article"

    id: Mapped[uuid.UUID] = uuid_pk()
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    tags: Mapped[str] = mapped_column(String(300), default="")
    intents: Mapped[str] = mapped_column(String(300), default="")
    products: Mapped[str] = mapped_column(String(300), default="")
    language: Mapped[str] = mapped_column(String(8), default="en")
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agent.id", ondelete="SET NULL"))
    review_due: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="published")
    published_version: Mapped[int] = mapped_column(default=1)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class KnowledgeArticleVersion(Base):
    """One published version of an article, kept unchanged (append-only)."""

    __tablename__ = "knowledge_article_version"
    __table_args__ = (UniqueConstraint("article_id", "number"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    article_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("knowledge_article.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    tags: Mapped[str] = mapped_column(String(300), default="")
    intents: Mapped[str] = mapped_column(String(300), default="")
    products: Mapped[str] = mapped_column(String(300), default="")
    language: Mapped[str] = mapped_column(String(8), default="en")
    note: Mapped[str | None] = mapped_column(String(300))
    published_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agent.id", ondelete="SET NULL")
    )
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
