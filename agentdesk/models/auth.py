"""Server-side sign-in state: session tokens and per-login failure throttling.

Both tables live only in the central store. Nothing here is replicated to a
desktop cache: a session row is a bearer credential (even hashed, it says who
is signed in where) and the throttle says which logins are under attack.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from agentdesk.models.base import Base, created_at_column, uuid_pk


class AuthSession(Base):
    """One signed-in session. Only the SHA-256 of the bearer token is kept.

    ``expires_at`` is the absolute end of the session; the idle end is
    ``last_seen_at`` plus the policy's idle timeout, so changing the policy
    applies to sessions already open.
    """

    __tablename__ = "auth_session"

    id: Mapped[uuid.UUID] = uuid_pk()
    # Hex SHA-256 of the opaque token; the token itself is shown to the client once.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agent.id", ondelete="CASCADE"), index=True
    )
    # 'password' (Argon2id against agent.password_hash) or 'ldap' (directory bind).
    source: Mapped[str] = mapped_column(String(16))
    workstation: Mapped[str | None] = mapped_column(String(80))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = created_at_column()
    last_seen_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    revoked_at: Mapped[dt.datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(32))


class SigninThrottle(Base):
    """Failure counter and lock for one normalised login, known or not.

    Keyed by the lowercased login rather than the agent id so that a guessed,
    non-existent login is throttled exactly like a real one and the answer
    never reveals which logins exist.
    """

    __tablename__ = "signin_throttle"

    login: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    first_failure_at: Mapped[dt.datetime | None]
    last_failure_at: Mapped[dt.datetime | None]
    locked_until: Mapped[dt.datetime | None]
    # How many times this login has been locked; drives the growing back-off.
    lockouts: Mapped[int] = mapped_column(default=0)
    last_lockout_at: Mapped[dt.datetime | None]
