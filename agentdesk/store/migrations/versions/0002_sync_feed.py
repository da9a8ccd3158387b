"""sync: self-contained change-feed rows, scope keys, xid stamping, rejected field

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 04:26:55

* ``change_log.data`` carries the row (or customer aggregate) as it stood
  after the change, so one pull statement returns everything a client applies.
* ``team_id``/``customer_id`` are scope keys for partial replicas;
  ``origin_client_id``/``mutation_id`` say which outbox entry caused a change.
* On PostgreSQL ``change_log.xid`` defaults to ``pg_current_xact_id()`` so
  every writer stamps its transaction id, even one that forgets to; the feed
  serves only rows below ``pg_snapshot_xmin(pg_current_snapshot())``.
* ``outbox.error_field`` names the argument the centre refused.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_XID_DEFAULT = "(pg_current_xact_id()::text::bigint)"


def upgrade() -> None:
    with op.batch_alter_table("change_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("data", _JSON, nullable=True))
        batch_op.add_column(sa.Column("team_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("customer_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("origin_client_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("mutation_id", sa.Uuid(), nullable=True))
        batch_op.create_index("ix_change_log_changed_at", ["changed_at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("change_log", "xid", server_default=sa.text(_XID_DEFAULT))

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error_field", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("error_field")

    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("change_log", "xid", server_default=None)
    with op.batch_alter_table("change_log", schema=None) as batch_op:
        batch_op.drop_index("ix_change_log_changed_at")
        batch_op.drop_column("mutation_id")
        batch_op.drop_column("origin_client_id")
        batch_op.drop_column("customer_id")
        batch_op.drop_column("team_id")
        batch_op.drop_column("data")
