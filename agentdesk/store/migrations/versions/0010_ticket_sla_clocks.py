"""ticket SLA clocks: next-update due, pause, and the indexed next due time

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-12 12:00:00

SLA clocks now run on business hours and pause while a ticket waits for the
customer (issue 12). ``next_update_due`` is the third clock; ``sla_paused_at``
marks a stopped clock; ``sla_next_due`` is the earliest running clock, kept by
the ticket mutators, so the scheduler's "what is due before T" is one indexed
range scan over 100k open tickets instead of an OR across three columns.
Existing open tickets get their next due time from the clocks they have.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import agentdesk.models.base

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_TS = agentdesk.models.base.UTCDateTime(timezone=True)

# The earliest running clock of a new or open ticket: the first response until it is
# answered, then the resolution (next-update clocks did not exist before this revision).
_BACKFILL = """
UPDATE ticket SET sla_next_due = CASE
    WHEN deleted_at IS NOT NULL OR status NOT IN ('new', 'open') THEN NULL
    WHEN first_responded_at IS NULL AND first_response_due IS NOT NULL
         AND (resolution_due IS NULL OR first_response_due < resolution_due)
        THEN first_response_due
    ELSE resolution_due
END,
sla_paused_at = CASE WHEN status IN ('pending', 'resolved', 'closed') THEN updated_at END
"""


def upgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.add_column(sa.Column("next_update_due", _TS, nullable=True))
        batch.add_column(sa.Column("sla_paused_at", _TS, nullable=True))
        batch.add_column(sa.Column("sla_next_due", _TS, nullable=True))
        batch.create_index("ix_ticket_sla_next_due", ["sla_next_due", "id"], unique=False)
    op.execute(_BACKFILL)


def downgrade() -> None:
    with op.batch_alter_table("ticket") as batch:
        batch.drop_index("ix_ticket_sla_next_due")
        batch.drop_column("sla_next_due")
        batch.drop_column("sla_paused_at")
        batch.drop_column("next_update_due")
