"""The people and structures of the contact center: agents, teams, queues, skills."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from agentdesk.models.base import Base, created_at_column, enum_type, uuid_pk
from agentdesk.models.enums import Role

agent_team = Table(
    "agent_team",
    Base.metadata,
    Column("agent_id", ForeignKey("agent.id", ondelete="CASCADE"), primary_key=True),
    Column("team_id", ForeignKey("team.id", ondelete="CASCADE"), primary_key=True),
)


class Team(Base):
    """A group of agents that owns tickets (e.g. Cards, Mortgages, Back office)."""

    __tablename__ = "team"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str | None] = mapped_column(Text)


class Agent(Base):
    """A user of the desktop. ``password_hash`` is Argon2id; never a plain secret."""

    __tablename__ = "agent"

    id: Mapped[uuid.UUID] = uuid_pk()
    login: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"), default=Role.AGENT)
    password_hash: Mapped[str] = mapped_column(String(255))
    # The PBX queue-member interface this agent's phone rings on, e.g. PJSIP/1001, SIP/1001
    # or Local/1001@agents (optionally /n).
    interface: Mapped[str | None] = mapped_column(String(80), unique=True)
    extension: Mapped[str | None] = mapped_column(String(20))
    # The member's StateInterface when it is not the interface (a Local member watched
    # through its phone, e.g. PJSIP/1001); its events and channels are this agent's too.
    state_interface: Mapped[str | None] = mapped_column(String(80))
    # The PJSIP endpoint the "answer now" / "hold" NOTIFY goes to (PJSIPNotify Endpoint).
    # Empty: derived from a PJSIP/SIP interface; a Local member without it cannot be
    # answered or held from the desktop.
    endpoint: Mapped[str | None] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = created_at_column()


class Skill(Base):
    """A routing skill (language, product knowledge)."""

    __tablename__ = "skill"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(64), unique=True)


class AgentSkill(Base):
    """An agent's level in a skill; maps to a queue penalty on the PBX."""

    __tablename__ = "agent_skill"

    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agent.id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("skill.id", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[int] = mapped_column(default=1)


class Queue(Base):
    """An ACD queue as configured on the PBX (``name`` is the Asterisk queue name)."""

    __tablename__ = "queue"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str | None] = mapped_column(String(200))
    strategy: Mapped[str] = mapped_column(String(24), default="rrmemory")
    service_level_seconds: Mapped[int] = mapped_column(default=20)
    service_level_target_pct: Mapped[int] = mapped_column(default=80)
    skill_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("skill.id", ondelete="SET NULL"))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("team.id", ondelete="SET NULL"))
