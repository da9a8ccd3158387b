"""desktop cache: agent-script runs of calls in progress (desk_script_run)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 23:40:00

Issue 13: the answers typed in a call's script were held in memory only, so a desktop
killed mid-call lost them. The run (script, step, path, answers, the agent's ID&V) is
kept in the encrypted cache on every move, like the wrap-up drafts of ``desk_draft``,
and deleted once the wrap-up has filed it. Cache-only: the central database gets the
(empty) table from the shared history and the feed never carries it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import agentdesk.models.base

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "desk_script_run",
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", agentdesk.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("linkedid", name=op.f("pk_desk_script_run")),
    )


def downgrade() -> None:
    op.drop_table("desk_script_run")
