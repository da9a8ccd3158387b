"""server tier: which customers each desktop was handed (sync pins)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 14:00:00

The server filters every desktop's pull in SQL: a change-feed row reaches a
desktop when it is about one of its teams' tickets or about a customer the
server handed to that desktop (in its fill, a closure, a pop or a search).
``sync_pin`` remembers those customers per desktop installation (client id).
Central-only: the feed never carries it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import agentdesk.models.base

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_pin",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("pinned_at", agentdesk.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "customer_id", name=op.f("pk_sync_pin")),
    )
    with op.batch_alter_table("sync_pin") as batch:
        batch.create_index(batch.f("ix_sync_pin_customer_id"), ["customer_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sync_pin") as batch:
        batch.drop_index(batch.f("ix_sync_pin_customer_id"))
    op.drop_table("sync_pin")
