"""reminders and escalation alerts (replicated to the desks)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-12 14:00:00

Issue 12 items 3-4: ``reminder`` holds an agent's follow-ups ("call the
customer back Thursday 10:00"), made due by the server's scheduler;
``ticket_alert`` holds one escalation level reached by a ticket, per person
alerted (assignee, team lead, supervisor), unique per ticket, level, recipient
and clock episode so a level alerts each person once. Both travel on the
change feed to the desktops' caches.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import agentdesk.models.base

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_TS = agentdesk.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reminder",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("ticket_id", sa.Uuid(), nullable=True),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("due_at", _TS, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("fired_at", _TS, nullable=True),
        sa.Column("done_at", _TS, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agent.id"], name=op.f("fk_reminder_agent_id_agent"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["team.id"], name=op.f("fk_reminder_team_id_team"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
            name=op.f("fk_reminder_ticket_id_ticket"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_reminder_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder")),
    )
    op.create_index(
        "ix_reminder_agent_state", "reminder", ["agent_id", "state", "due_at"], unique=False
    )
    op.create_index(op.f("ix_reminder_ticket_id"), "reminder", ["ticket_id"], unique=False)
    op.create_index(op.f("ix_reminder_customer_id"), "reminder", ["customer_id"], unique=False)
    op.create_table(
        "ticket_alert",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("level_name", sa.String(length=32), nullable=False),
        sa.Column("clock", sa.String(length=32), nullable=False),
        sa.Column("episode", sa.String(length=40), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_role", sa.String(length=16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("read_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
            name=op.f("fk_ticket_alert_ticket_id_ticket"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["agent.id"],
            name=op.f("fk_ticket_alert_recipient_id_agent"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_alert")),
        sa.UniqueConstraint(
            "ticket_id",
            "level",
            "recipient_id",
            "episode",
            name=op.f("uq_ticket_alert_ticket_id_level_recipient_id_episode"),
        ),
    )
    op.create_index(
        "ix_ticket_alert_recipient", "ticket_alert", ["recipient_id", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_ticket_alert_recipient", table_name="ticket_alert")
    op.drop_table("ticket_alert")
    op.drop_index(op.f("ix_reminder_customer_id"), table_name="reminder")
    op.drop_index(op.f("ix_reminder_ticket_id"), table_name="reminder")
    op.drop_index("ix_reminder_agent_state", table_name="reminder")
    op.drop_table("reminder")
