"""agent line: state interface and PJSIP endpoint from configuration

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10 10:00:00

An agent's queue member may be a ``Local/…@…`` interface whose device state
comes from another interface (the member's ``StateInterface``, e.g.
``PJSIP/1001``), and the phone that is sent the "answer now" / "hold" NOTIFY
is a PJSIP endpoint that cannot be read off a Local interface. Both are
configured per agent instead of derived from the interface's text.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agent") as batch:
        batch.add_column(sa.Column("state_interface", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("endpoint", sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agent") as batch:
        batch.drop_column("endpoint")
        batch.drop_column("state_interface")
