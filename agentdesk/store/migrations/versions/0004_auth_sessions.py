"""auth: server-side sessions and per-login sign-in throttling

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 09:00:00

* ``auth_session``: one row per signed-in session. Only the SHA-256 (hex) of
  the opaque bearer token is stored, so a copy of the table signs nobody in.
  ``expires_at`` is the absolute end; idle expiry is computed from
  ``last_seen_at``.
* ``signin_throttle``: failure counter and lock keyed by the lowercased
  login, whether or not an agent with that login exists.

Both tables are central-only: the sync feed never carries them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import agentdesk.models.base

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TS = agentdesk.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "auth_session",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("workstation", sa.String(length=80), nullable=True),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_seen_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.Column("revoked_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
            name=op.f("fk_auth_session_agent_id_agent"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_auth_session_token_hash")),
    )
    op.create_index(op.f("ix_auth_session_agent_id"), "auth_session", ["agent_id"], unique=False)
    op.create_index(
        op.f("ix_auth_session_expires_at"), "auth_session", ["expires_at"], unique=False
    )

    op.create_table(
        "signin_throttle",
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failure_at", _TS, nullable=True),
        sa.Column("last_failure_at", _TS, nullable=True),
        sa.Column("locked_until", _TS, nullable=True),
        sa.Column("lockouts", sa.Integer(), nullable=False),
        sa.Column("last_lockout_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("login", name=op.f("pk_signin_throttle")),
    )


def downgrade() -> None:
    op.drop_table("signin_throttle")
    op.drop_index(op.f("ix_auth_session_expires_at"), table_name="auth_session")
    op.drop_index(op.f("ix_auth_session_agent_id"), table_name="auth_session")
    op.drop_table("auth_session")
