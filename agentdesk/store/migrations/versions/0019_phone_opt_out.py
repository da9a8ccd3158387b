"""customer.phone_opt_out: the customer asked not to be phoned (callbacks honour it)

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-03 21:10:00

Issue 15 item 4. The abandoned-call worklist turns a caller into a callback task;
a customer who asked not to be phoned must not get one. ``marketing_opt_out``
covers marketing only (a service callback is not marketing), so the phone
preference is a flag of its own, false for every existing customer. Added in
place (no table rebuild: on SQLite that would drop the search triggers); the
customer row is synced whole, so desktops receive it with the rest of the card.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "customer",
        sa.Column("phone_opt_out", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table("customer") as batch:
        batch.drop_column("phone_opt_out")
