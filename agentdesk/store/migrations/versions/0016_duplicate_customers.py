"""duplicate customers: merge tombstones, candidate pairs, four-eyes merge requests

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-03 20:00:00

Issue 13 item 6. ``customer.merged_into`` points a merged customer (a
tombstone, ``deleted_at`` set too) at the customer that absorbed it; it is a
plain column added in place (no foreign key: on SQLite a constraint would
rebuild ``customer`` and drop its search triggers from 0003).
``duplicate_candidate`` holds the pairs the scan found and what a
supervisor decided about them; ``merge_request`` a requested merge awaiting a
second person's approval. Both are central-only and hold ids, scores and
reason phrases, no personal data.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("customer", sa.Column("merged_into", sa.Uuid(), nullable=True))
    op.create_index("ix_customer_merged_into", "customer", ["merged_into"])
    op.create_table(
        "duplicate_candidate",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_a", sa.Uuid(), nullable=False),
        sa.Column("customer_b", sa.Uuid(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_a"],
            ["customer.id"],
            name=op.f("fk_duplicate_candidate_customer_a_customer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_b"],
            ["customer.id"],
            name=op.f("fk_duplicate_candidate_customer_b_customer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duplicate_candidate")),
        sa.UniqueConstraint(
            "customer_a", "customer_b", name=op.f("uq_duplicate_candidate_customer_a_customer_b")
        ),
    )
    op.create_index("ix_duplicate_candidate_customer_a", "duplicate_candidate", ["customer_a"])
    op.create_index("ix_duplicate_candidate_customer_b", "duplicate_candidate", ["customer_b"])
    op.create_index("ix_duplicate_candidate_state_score", "duplicate_candidate", ["state", "score"])
    op.create_table(
        "merge_request",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("survivor_id", sa.Uuid(), nullable=False),
        sa.Column("merged_id", sa.Uuid(), nullable=False),
        sa.Column("survivor_version", sa.Integer(), nullable=False),
        sa.Column("merged_version", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["survivor_id"],
            ["customer.id"],
            name=op.f("fk_merge_request_survivor_id_customer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["merged_id"],
            ["customer.id"],
            name=op.f("fk_merge_request_merged_id_customer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merge_request")),
    )
    op.create_index("ix_merge_request_survivor_id", "merge_request", ["survivor_id"])
    op.create_index("ix_merge_request_merged_id", "merge_request", ["merged_id"])
    op.create_index("ix_merge_request_state", "merge_request", ["state"])


def downgrade() -> None:
    op.drop_table("merge_request")
    op.drop_table("duplicate_candidate")
    op.drop_index("ix_customer_merged_into", table_name="customer")
    # In place (SQLite >= 3.35), not batch: a rebuild would drop the search triggers.
    op.drop_column("customer", "merged_into")
