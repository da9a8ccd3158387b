"""knowledge base: article metadata, published versions, cited articles, full-text index

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 20:00:00

* ``knowledge_article`` gains what an editor manages (intents and products as
  space-separated codes, language, owner, review date, status, the number of
  the published version, a sync version); the single ``intent`` column becomes
  ``intents``.
* ``knowledge_article_version`` keeps every published version unchanged; the
  articles already stored become version 1 with ids derived from the article id
  (uuid5), so the centre and every cache migrated on its own agree on them.
* ``interaction`` records the article and version an agent answered with.
* ``agent.role`` admits ``editor``. On SQLite a CHECK cannot be altered and
  rebuilding ``agent`` would fire the ON DELETE actions of every table that
  references it; widening the IN list is the documented ``writable_schema``
  edit (the stored rows stay valid, nothing on disk changes).
* The search index, named ``search_kb_*`` so the drift check leaves it alone,
  kept in step by triggers as 0003 does for customers: on SQLite a contentless
  FTS5 table (title, body, tags, intents, products; ``_`` is a token character
  so ``card_lost`` stays one code) whose rowid is the stable ``docid`` of a
  narrow ``search_kb_doc`` row (status, language, review date, codes); on
  PostgreSQL a weighted ``tsvector`` (title A, tags B, body C) with
  a GIN index, and the codes as ``text[]`` with GIN indexes for suggestions.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

import agentdesk.models.base

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

VERSION_NAMESPACE = uuid.UUID("0f0c6a52-93a4-4c51-9a53-2c1d7ad0a013")
_OLD_ROLES = "CHECK (role IN ('agent', 'supervisor', 'admin'))"
_NEW_ROLES = "CHECK (role IN ('agent', 'supervisor', 'admin', 'editor'))"

_DOCID = "(SELECT docid FROM search_kb_doc WHERE article_id = {0}.id)"
_FTS_ROW = "{0}.title, {0}.body, {0}.tags, {0}.intents, {0}.products"
_FTS_COLUMNS = "title, body, tags, intents, products"
_DOC_COLUMNS = "article_id, status, language, review_due, intents, products"
_DOC_ROW = "{0}.id, {0}.status, {0}.language, {0}.review_due, {0}.intents, {0}.products"
_SQLITE_UP = [
    # Narrow rows (no title or body) so the suggestion query's working set stays in the
    # page cache: ranking 800 candidates through full article rows of an encrypted cache
    # cost 25-45 ms in page reads; through these, about one.
    """CREATE TABLE search_kb_doc (
        docid INTEGER PRIMARY KEY,
        article_id CHAR(32) NOT NULL UNIQUE,
        status VARCHAR(16) NOT NULL, language VARCHAR(8) NOT NULL, review_due DATE,
        intents TEXT NOT NULL, products TEXT NOT NULL)""",
    # Contentless: the index alone (rowid = docid); the text stays in knowledge_article and
    # a delete hands the old values over, as FTS5 requires.
    f"""CREATE VIRTUAL TABLE search_kb_fts USING fts5({_FTS_COLUMNS}, content='',
        tokenize="unicode61 remove_diacritics 2 tokenchars '_'", prefix='2 3')""",
    f"""CREATE TRIGGER search_kb_article_ai AFTER INSERT ON knowledge_article BEGIN
        INSERT INTO search_kb_doc({_DOC_COLUMNS}) VALUES ({_DOC_ROW.format("new")});
        INSERT INTO search_kb_fts(rowid, {_FTS_COLUMNS})
        VALUES ({_DOCID.format("new")}, {_FTS_ROW.format("new")}); END""",
    f"""CREATE TRIGGER search_kb_article_au AFTER UPDATE ON knowledge_article BEGIN
        INSERT INTO search_kb_fts(search_kb_fts, rowid, {_FTS_COLUMNS})
        VALUES ('delete', {_DOCID.format("old")}, {_FTS_ROW.format("old")});
        DELETE FROM search_kb_doc WHERE article_id = old.id;
        INSERT INTO search_kb_doc({_DOC_COLUMNS}) VALUES ({_DOC_ROW.format("new")});
        INSERT INTO search_kb_fts(rowid, {_FTS_COLUMNS})
        VALUES ({_DOCID.format("new")}, {_FTS_ROW.format("new")}); END""",
    f"""CREATE TRIGGER search_kb_article_ad AFTER DELETE ON knowledge_article BEGIN
        INSERT INTO search_kb_fts(search_kb_fts, rowid, {_FTS_COLUMNS})
        VALUES ('delete', {_DOCID.format("old")}, {_FTS_ROW.format("old")});
        DELETE FROM search_kb_doc WHERE article_id = old.id; END""",
    f"""INSERT INTO search_kb_doc({_DOC_COLUMNS})
        SELECT {_DOC_ROW.format("a")} FROM knowledge_article a""",
    f"""INSERT INTO search_kb_fts(rowid, {_FTS_COLUMNS})
        SELECT d.docid, {_FTS_ROW.format("a")} FROM knowledge_article a
        JOIN search_kb_doc d ON d.article_id = a.id""",
]

_SQLITE_DOWN = [
    *(
        f"DROP TRIGGER IF EXISTS search_kb_{name}"
        for name in ("article_ai", "article_au", "article_ad")
    ),
    "DROP TABLE IF EXISTS search_kb_fts",
    "DROP TABLE IF EXISTS search_kb_doc",
]

_PG_UP = [
    f"ALTER TABLE agent DROP CONSTRAINT ck_agent_role, ADD CONSTRAINT ck_agent_role {_NEW_ROLES}",
    """CREATE TABLE search_kb_doc (
        article_id uuid PRIMARY KEY,
        status varchar(16) NOT NULL,
        language varchar(8) NOT NULL,
        intents text[] NOT NULL,
        products text[] NOT NULL,
        title text NOT NULL, tags text NOT NULL, body text NOT NULL,
        tsv tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('simple', search_fold(title)), 'A')
            || setweight(to_tsvector('simple', search_fold(tags)), 'B')
            || setweight(to_tsvector('simple', search_fold(body)), 'C')) STORED)""",
    "CREATE INDEX search_kb_ix_tsv ON search_kb_doc USING gin (tsv)",
    "CREATE INDEX search_kb_ix_intents ON search_kb_doc USING gin (intents)",
    "CREATE INDEX search_kb_ix_products ON search_kb_doc USING gin (products)",
    """CREATE FUNCTION search_kb_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN
            DELETE FROM search_kb_doc WHERE article_id = OLD.id;
        END IF;
        IF TG_OP = 'DELETE' THEN
            RETURN NULL;
        END IF;
        INSERT INTO search_kb_doc VALUES (
            NEW.id, NEW.status, NEW.language,
            coalesce(string_to_array(nullif(NEW.intents, ''), ' '), '{}'),
            coalesce(string_to_array(nullif(NEW.products, ''), ' '), '{}'),
            NEW.title, NEW.tags, NEW.body);
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER search_kb_article_trg AFTER INSERT OR UPDATE OR DELETE
        ON knowledge_article FOR EACH ROW EXECUTE FUNCTION search_kb_refresh()""",
    # Backfill by touching every row through the trigger.
    "UPDATE knowledge_article SET status = status",
]

_PG_DOWN = [
    "DROP TRIGGER IF EXISTS search_kb_article_trg ON knowledge_article",
    "DROP FUNCTION IF EXISTS search_kb_refresh()",
    "DROP TABLE IF EXISTS search_kb_doc",
    "UPDATE agent SET role = 'agent' WHERE role = 'editor'",
    f"ALTER TABLE agent DROP CONSTRAINT ck_agent_role, ADD CONSTRAINT ck_agent_role {_OLD_ROLES}",
]


def _widen_sqlite_roles(old: str, new: str) -> None:
    """Edit the CHECK of ``agent.role`` in place (SQLite's documented writable_schema route)."""
    bind = op.get_bind()
    schema_version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    try:
        bind.exec_driver_sql(
            "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = ?",
            (old, new, "agent"),
        )
        bind.exec_driver_sql(f"PRAGMA schema_version={int(schema_version) + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema=OFF")


def _article_columns() -> None:
    with op.batch_alter_table("knowledge_article") as batch:
        batch.add_column(sa.Column("intents", sa.String(300), nullable=False, server_default=""))
        batch.add_column(sa.Column("products", sa.String(300), nullable=False, server_default=""))
        batch.add_column(sa.Column("language", sa.String(8), nullable=False, server_default="en"))
        batch.add_column(sa.Column("owner_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("review_due", sa.Date(), nullable=True))
        batch.add_column(
            sa.Column("status", sa.String(16), nullable=False, server_default="published")
        )
        batch.add_column(
            sa.Column("published_version", sa.Integer(), nullable=False, server_default="1")
        )
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.execute("UPDATE knowledge_article SET intents = coalesce(intent, '')")
    # Nothing references knowledge_article yet, so SQLite's batch rebuild of it is safe here.
    with op.batch_alter_table("knowledge_article") as batch:
        batch.drop_index("ix_knowledge_article_intent")
        batch.drop_column("intent")
        for name in ("intents", "products", "language", "status", "published_version", "version"):
            batch.alter_column(name, server_default=None)
        batch.create_foreign_key(
            "fk_knowledge_article_owner_id_agent",
            "agent",
            ["owner_id"],
            ["id"],
            ondelete="SET NULL",
        )


def _version_table() -> None:
    op.create_table(
        "knowledge_article_version",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("article_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("tags", sa.String(300), nullable=False),
        sa.Column("intents", sa.String(300), nullable=False),
        sa.Column("products", sa.String(300), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("note", sa.String(300), nullable=True),
        sa.Column("published_by", sa.Uuid(), nullable=True),
        sa.Column("published_at", agentdesk.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["knowledge_article.id"],
            name=op.f("fk_knowledge_article_version_article_id_knowledge_article"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["published_by"],
            ["agent.id"],
            name=op.f("fk_knowledge_article_version_published_by_agent"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_article_version")),
        sa.UniqueConstraint(
            "article_id", "number", name=op.f("uq_knowledge_article_version_article_id_number")
        ),
    )
    op.create_index(
        op.f("ix_knowledge_article_version_article_id"),
        "knowledge_article_version",
        ["article_id"],
    )
    article = sa.table(
        "knowledge_article",
        sa.column("id", sa.Uuid()),
        sa.column("title", sa.String()),
        sa.column("body", sa.Text()),
        sa.column("tags", sa.String()),
        sa.column("intents", sa.String()),
        sa.column("language", sa.String()),
        sa.column("updated_at", agentdesk.models.base.UTCDateTime(timezone=True)),
    )
    version = sa.table(
        "knowledge_article_version",
        *(
            sa.column(name, kind)
            for name, kind in (
                ("id", sa.Uuid()),
                ("article_id", sa.Uuid()),
                ("number", sa.Integer()),
                ("title", sa.String()),
                ("body", sa.Text()),
                ("tags", sa.String()),
                ("intents", sa.String()),
                ("products", sa.String()),
                ("language", sa.String()),
                ("published_at", agentdesk.models.base.UTCDateTime(timezone=True)),
            )
        ),
    )
    rows = op.get_bind().execute(sa.select(article)).all()
    if rows:
        op.get_bind().execute(
            version.insert(),
            [
                {
                    "id": uuid.uuid5(VERSION_NAMESPACE, f"{r.id}:1"),
                    "article_id": r.id,
                    "number": 1,
                    "title": r.title,
                    "body": r.body,
                    "tags": r.tags,
                    "intents": r.intents,
                    "products": "",
                    "language": r.language,
                    "published_at": r.updated_at,
                }
                for r in rows
            ],
        )


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    _article_columns()
    _version_table()
    # ALTER TABLE ADD COLUMN, never a rebuild of interaction (call_record references it).
    # No ON DELETE action: articles are retired, never deleted.
    fk = "fk_interaction_knowledge_article_id_knowledge_article"
    if postgres:
        op.add_column(
            "interaction",
            sa.Column(
                "knowledge_article_id",
                sa.Uuid(),
                sa.ForeignKey("knowledge_article.id", name=fk),
                nullable=True,
            ),
        )
    else:
        op.execute(
            f"ALTER TABLE interaction ADD COLUMN knowledge_article_id CHAR(32) CONSTRAINT {fk} "
            "REFERENCES knowledge_article (id)"
        )
    op.add_column("interaction", sa.Column("knowledge_version", sa.Integer(), nullable=True))
    if postgres:
        for statement in _PG_UP:
            op.execute(statement)
    else:
        _widen_sqlite_roles(_OLD_ROLES, _NEW_ROLES)
        for statement in _SQLITE_UP:
            op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _PG_DOWN if postgres else _SQLITE_DOWN:
        op.execute(statement)
    if not postgres:
        op.execute("UPDATE agent SET role = 'agent' WHERE role = 'editor'")
        _widen_sqlite_roles(_NEW_ROLES, _OLD_ROLES)
    with op.batch_alter_table("interaction") as batch:
        batch.drop_column("knowledge_version")
    op.execute("UPDATE interaction SET knowledge_article_id = NULL")
    with op.batch_alter_table("interaction") as batch:
        batch.drop_column("knowledge_article_id")
    op.drop_table("knowledge_article_version")
    with op.batch_alter_table("knowledge_article") as batch:
        batch.drop_constraint("fk_knowledge_article_owner_id_agent", type_="foreignkey")
        batch.add_column(sa.Column("intent", sa.String(64), nullable=True))
    op.execute("UPDATE knowledge_article SET intent = nullif(intents, '')")
    with op.batch_alter_table("knowledge_article") as batch:
        for name in (
            "version",
            "published_version",
            "status",
            "review_due",
            "owner_id",
            "language",
            "products",
            "intents",
        ):
            batch.drop_column(name)
        batch.create_index("ix_knowledge_article_intent", ["intent"])
