"""Alembic environment: always run against a connection handed in by agentdesk.

``render_as_batch`` lets the same migrations alter tables on SQLite, which
can only change a table by rebuilding it.
"""

from __future__ import annotations

from alembic import context

from agentdesk.models import Base
from agentdesk.store.migrate import include_name

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("agentdesk migrations run through 'agentdesk db upgrade', not bare alembic")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    compare_type=True,
    include_name=include_name,
)
with context.begin_transaction():
    context.run_migrations()
