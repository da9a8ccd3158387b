"""queue records: the day's queue events kept by the server (one source for wallboard and reports)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-13 10:00:00

Issue 15 item 1: the CTI gateway's floor writes every queue record it counts
(the queue_log twins of the PBX's AMI events) to ``queue_record``, so a server
restart mid-day keeps today's wallboard figures and the reports are computed
from the very records the wallboard counted. Unique per site and dedupe key
(a call's record is stored once, however often the link drops).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "queue_record",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("epoch", sa.Double(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=128), nullable=False),
        sa.Column("agent", sa.String(length=128), nullable=False),
        sa.Column("wait_s", sa.Integer(), nullable=True),
        sa.Column("talk_s", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=400), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_record")),
        sa.UniqueConstraint("site", "dedupe_key", name=op.f("uq_queue_record_site_dedupe_key")),
    )
    op.create_index("ix_queue_record_site_epoch", "queue_record", ["site", "epoch"])
    op.create_index("ix_queue_record_site_seq", "queue_record", ["site", "seq"])


def downgrade() -> None:
    op.drop_index("ix_queue_record_site_seq", table_name="queue_record")
    op.drop_index("ix_queue_record_site_epoch", table_name="queue_record")
    op.drop_table("queue_record")
