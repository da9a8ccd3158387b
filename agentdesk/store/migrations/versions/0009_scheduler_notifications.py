"""scheduler: leader lease, durable timers, customer notification outbox

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-12 10:00:00

Timed work runs on the server (issue 12): one scheduler per site, chosen by a
lease row (``scheduler_lease``) so two server instances never both fire;
``scheduled_timer`` holds what is due and when, so a timer due while the
server was down fires once when it is back; ``notification`` is the outbox of
customer messages (e-mail, SMS), retried with back-off and never dropped.
Central-only: the change feed never carries them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import agentdesk.models.base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_TS = agentdesk.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "scheduler_lease",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("token", sa.Integer(), nullable=False),
        sa.Column("acquired_at", _TS, nullable=False),
        sa.Column("renewed_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduler_lease")),
    )
    op.create_table(
        "scheduled_timer",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=160), nullable=False),
        sa.Column("due_at", _TS, nullable=False),
        sa.Column("fired_at", _TS, nullable=True),
        sa.Column("retry_at", _TS, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("payload", agentdesk.models.base.JSONType, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_timer")),
        sa.UniqueConstraint("kind", "subject", name=op.f("uq_scheduled_timer_kind_subject")),
    )
    op.create_index(
        "ix_scheduled_timer_pending",
        "scheduled_timer",
        ["due_at"],
        unique=False,
        postgresql_where=sa.text("fired_at IS NULL"),
        sqlite_where=sa.text("fired_at IS NULL"),
    )
    op.create_table(
        "notification",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_key", sa.String(length=160), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("ticket_id", sa.Uuid(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("params", agentdesk.models.base.JSONType, nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "sent",
                "held",
                "suppressed",
                name="notification_state",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("interaction_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("sent_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_notification_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
            name=op.f("fk_notification_ticket_id_ticket"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
        sa.UniqueConstraint("event_key", name=op.f("uq_notification_event_key")),
    )
    op.create_index(
        "ix_notification_state_next", "notification", ["state", "next_attempt_at"], unique=False
    )
    op.create_index(
        op.f("ix_notification_customer_id"), "notification", ["customer_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_notification_customer_id"), table_name="notification")
    op.drop_index("ix_notification_state_next", table_name="notification")
    op.drop_table("notification")
    op.drop_index("ix_scheduled_timer_pending", table_name="scheduled_timer")
    op.drop_table("scheduled_timer")
    op.drop_table("scheduler_lease")
