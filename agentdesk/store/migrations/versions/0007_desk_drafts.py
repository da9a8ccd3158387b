"""desktop cache: unfinished wrap-up drafts (desk_draft)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 10:00:00

A wrap-up's draft (disposition, notes) is kept in the encrypted cache as the
agent types it, during the call and in after-call work, so a crash of the
desktop loses nothing; it is deleted once the wrap-up has committed. Cache-only:
the central database gets the (empty) table from the shared history and the
feed never carries it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import agentdesk.models.base

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "desk_draft",
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", agentdesk.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("linkedid", name=op.f("pk_desk_draft")),
    )


def downgrade() -> None:
    op.drop_table("desk_draft")
