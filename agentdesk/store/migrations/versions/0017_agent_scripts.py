"""agent scripts: the script run on a call and the agent's own ID&V, on the interaction

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 21:00:00

Issue 13 item 2. Five nullable columns on ``interaction`` (append-only, synced as
it is): ``script_id`` and ``script_version`` (which script, at which version, the
agent followed), ``script_answers`` (JSON text: the answers on the path taken) and
``agent_idv_result`` / ``agent_idv_method`` (the agent verified the caller in the
script because the IVR had not; kept beside the IVR's ``idv_result`` /
``idv_method``). Scripts themselves are files in ``resources/scripts``, not rows.
Added in place (no table rebuild: on SQLite that would drop the search triggers).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_RESULTS = ("passed", "failed", "partial", "not_attempted")


def upgrade() -> None:
    op.add_column("interaction", sa.Column("script_id", sa.String(length=64), nullable=True))
    op.add_column("interaction", sa.Column("script_version", sa.Integer(), nullable=True))
    op.add_column("interaction", sa.Column("script_answers", sa.Text(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.add_column(
            "interaction",
            sa.Column(
                "agent_idv_result",
                sa.Enum(
                    *_RESULTS,
                    name="agent_idv_result",
                    native_enum=False,
                    create_constraint=True,
                    length=24,
                ),
                nullable=True,
            ),
        )
    else:
        # SQLite takes a CHECK on ADD COLUMN, but Alembic would skip it (batch mode
        # would rebuild the table); the constraint is named as the metadata names it.
        values = ", ".join(f"'{v}'" for v in _RESULTS)
        op.execute(
            "ALTER TABLE interaction ADD COLUMN agent_idv_result VARCHAR(24) "
            f"CONSTRAINT ck_interaction_agent_idv_result CHECK (agent_idv_result IN ({values}))"
        )
    op.add_column("interaction", sa.Column("agent_idv_method", sa.String(length=32), nullable=True))


def downgrade() -> None:
    # Dropped in place on both dialects (SQLite >= 3.35): a batch rebuild would copy the
    # CHECK of a column it drops, and drop the search triggers.
    for column in (
        "agent_idv_method",
        "agent_idv_result",
        "script_answers",
        "script_version",
        "script_id",
    ):
        op.execute(f"ALTER TABLE interaction DROP COLUMN {column}")
