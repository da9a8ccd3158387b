"""Desk-only state kept in the desktop's encrypted cache (never synced, never central data)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from agentdesk.models.base import Base, utcnow


class DeskDraft(Base):
    """One call's unfinished wrap-up as the agent typed it, so a crash loses nothing.

    Written as the agent types (during the call and in after-call work) and deleted
    once the wrap-up's interaction has committed to the cache and its outbox. ``data``
    holds the call, the ids the wrap-up is filed under and the draft (JSON).
    """

    __tablename__ = "desk_draft"

    linkedid: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict[str, Any]]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DeskScriptRun(Base):
    """One call's agent-script run as the agent left it (step, path, answers, their ID&V),
    so a desktop killed mid-call takes it back beside the adopted call.

    Written on every move in the Script tab and deleted once the call's wrap-up (which
    files the answers) is saved or the call rang out. ``data`` is the run (JSON).
    """

    __tablename__ = "desk_script_run"

    linkedid: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict[str, Any]]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
