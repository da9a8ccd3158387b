"""Apply and check the schema migrations shipped inside the package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from agentdesk.models import Base

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


# Objects named search_* (the FTS5 / tsvector search index, its triggers and prefix
# indexes, migration 0003) are maintained by raw SQL, not the ORM models, so the
# drift check and autogenerate must not report them as missing from the models.
UNMANAGED_PREFIX = "search_"


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic filter: leave the raw-SQL search objects out of model comparisons."""
    return not (name or "").startswith(UNMANAGED_PREFIX)


class SchemaDriftError(RuntimeError):
    """The database schema differs from the models (a migration is missing)."""


def _config(connection: object | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head", *, field_keyring: object = None) -> None:
    """Bring the database up to ``revision`` (idempotent).

    ``field_keyring`` (a ``store.field_crypto.FieldKeyring``) is the server's field key,
    which migration 0005 needs to encrypt identity numbers and dates of birth already in a
    central store; without it that migration falls back to ``$AGENTDESK_FIELD_KEY_FILE``.
    """
    with engine.begin() as conn:
        cfg = _config(conn)
        if field_keyring is not None:
            cfg.attributes["field_keyring"] = field_keyring
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        command.downgrade(_config(conn), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def check(engine: Engine) -> None:
    """Raise ``SchemaDriftError`` if the database is not at head or differs from the models."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise SchemaDriftError(
            f"database is at revision {current}, code expects {head}; run 'agentdesk db upgrade'"
        )
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_as_batch": True, "include_name": include_name}
        )
        diff = compare_metadata(ctx, Base.metadata)
    if diff:
        raise SchemaDriftError(f"schema differs from the models: {diff}")


def revision_autogenerate(engine: Engine, message: str) -> None:
    """Developer helper: write a new migration from the model changes."""
    with engine.begin() as conn:
        command.revision(_config(conn), message=message, autogenerate=True)
