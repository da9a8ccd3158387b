"""search index for as-you-type customer and ticket search

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 10:00:00

One document per searchable source row (a customer's name, each phone, each
e-mail), kept in step by triggers so every write path — the local writer, the
sync engine applying central changes, bulk seeding — feeds the index without
knowing it exists.

* SQLite (embedded central store and the SQLCipher cache): ``search_doc`` is
  an ordinary table with an INTEGER PRIMARY KEY (stable under VACUUM, unlike
  the implicit rowid of ``customer``) and ``search_fts`` an external-content
  FTS5 index over it with prefix indexes for as-you-type queries.
* PostgreSQL: the same ``search_doc`` with a generated ``tsvector`` over the
  text folded by ``unaccent`` (so "zoe" finds "Zoë", as FTS5's
  remove_diacritics does) and a GIN index.
* Both: B-tree indexes for prefix lookups of e-mail addresses and ticket
  numbers (``text_pattern_ops`` on PostgreSQL so ``LIKE 'x%'`` uses them under
  any collation) and for account last digits.

Every object is named ``search_*``: ``agentdesk.store.migrate`` leaves such
objects out of the model/schema drift check because the ORM does not model them.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_SQLITE_UP = [
    """CREATE TABLE search_doc (
        docid INTEGER PRIMARY KEY,
        source_id CHAR(32) NOT NULL UNIQUE,
        customer_id CHAR(32) NOT NULL,
        name TEXT, phone TEXT, email TEXT)""",
    "CREATE INDEX search_ix_doc_customer ON search_doc (customer_id)",
    """CREATE VIRTUAL TABLE search_fts USING fts5(
        name, phone, email, content='search_doc', content_rowid='docid',
        tokenize='unicode61 remove_diacritics 2', prefix='1 2 3')""",
    """CREATE TRIGGER search_doc_ai AFTER INSERT ON search_doc BEGIN
        INSERT INTO search_fts(rowid, name, phone, email)
        VALUES (new.docid, new.name, new.phone, new.email); END""",
    """CREATE TRIGGER search_doc_ad AFTER DELETE ON search_doc BEGIN
        INSERT INTO search_fts(search_fts, rowid, name, phone, email)
        VALUES ('delete', old.docid, old.name, old.phone, old.email); END""",
    """CREATE TRIGGER search_customer_ai AFTER INSERT ON customer WHEN new.deleted_at IS NULL BEGIN
        INSERT INTO search_doc(source_id, customer_id, name)
        VALUES (new.id, new.id, new.display_name); END""",
    """CREATE TRIGGER search_customer_au AFTER UPDATE OF display_name, deleted_at ON customer BEGIN
        DELETE FROM search_doc WHERE source_id = old.id;
        INSERT INTO search_doc(source_id, customer_id, name)
        SELECT new.id, new.id, new.display_name WHERE new.deleted_at IS NULL; END""",
    """CREATE TRIGGER search_customer_ad AFTER DELETE ON customer BEGIN
        DELETE FROM search_doc WHERE customer_id = old.id; END""",
    """CREATE TRIGGER search_phone_ai AFTER INSERT ON customer_phone BEGIN
        INSERT INTO search_doc(source_id, customer_id, phone)
        VALUES (new.id, new.customer_id, coalesce(ltrim(new.e164, '+'), new.number_raw)); END""",
    """CREATE TRIGGER search_phone_au AFTER UPDATE ON customer_phone BEGIN
        DELETE FROM search_doc WHERE source_id = old.id;
        INSERT INTO search_doc(source_id, customer_id, phone)
        VALUES (new.id, new.customer_id, coalesce(ltrim(new.e164, '+'), new.number_raw)); END""",
    """CREATE TRIGGER search_phone_ad AFTER DELETE ON customer_phone BEGIN
        DELETE FROM search_doc WHERE source_id = old.id; END""",
    """CREATE TRIGGER search_email_ai AFTER INSERT ON customer_email BEGIN
        INSERT INTO search_doc(source_id, customer_id, email)
        VALUES (new.id, new.customer_id, new.address_norm); END""",
    """CREATE TRIGGER search_email_au AFTER UPDATE ON customer_email BEGIN
        DELETE FROM search_doc WHERE source_id = old.id;
        INSERT INTO search_doc(source_id, customer_id, email)
        VALUES (new.id, new.customer_id, new.address_norm); END""",
    """CREATE TRIGGER search_email_ad AFTER DELETE ON customer_email BEGIN
        DELETE FROM search_doc WHERE source_id = old.id; END""",
    # Backfill whatever the store already holds.
    """INSERT INTO search_doc(source_id, customer_id, name)
        SELECT id, id, display_name FROM customer WHERE deleted_at IS NULL""",
    """INSERT INTO search_doc(source_id, customer_id, phone)
        SELECT id, customer_id, coalesce(ltrim(e164, '+'), number_raw) FROM customer_phone""",
    """INSERT INTO search_doc(source_id, customer_id, email)
        SELECT id, customer_id, address_norm FROM customer_email""",
    "CREATE INDEX search_ix_product_last4 ON product (number_last4)",
]

_SQLITE_DOWN = [
    "DROP INDEX IF EXISTS search_ix_product_last4",
    *(
        f"DROP TRIGGER IF EXISTS search_{name}"
        for name in (
            "doc_ai",
            "doc_ad",
            "customer_ai",
            "customer_au",
            "customer_ad",
            "phone_ai",
            "phone_au",
            "phone_ad",
            "email_ai",
            "email_au",
            "email_ad",
        )
    ),
    "DROP TABLE IF EXISTS search_fts",
    "DROP TABLE IF EXISTS search_doc",
]

_PG_UP = [
    # unaccent is a trusted extension (PostgreSQL 13+): a database owner may create it.
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    # unaccent() is only STABLE (its dictionary could change); pinning the dictionary
    # makes this wrapper safe to declare IMMUTABLE for the generated column.
    """CREATE FUNCTION search_fold(value text) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURNS NULL ON NULL INPUT
        AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, value)) $$""",
    """CREATE TABLE search_doc (
        source_id uuid PRIMARY KEY,
        customer_id uuid NOT NULL,
        kind varchar(8) NOT NULL,
        body text NOT NULL,
        tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', search_fold(body))) STORED)""",
    "CREATE INDEX search_ix_doc_tsv ON search_doc USING gin (tsv)",
    "CREATE INDEX search_ix_doc_customer ON search_doc (customer_id)",
    """CREATE FUNCTION search_doc_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN
            DELETE FROM search_doc WHERE source_id = OLD.id;
        END IF;
        IF TG_OP = 'DELETE' THEN
            IF TG_TABLE_NAME = 'customer' THEN
                DELETE FROM search_doc WHERE customer_id = OLD.id;
            END IF;
            RETURN NULL;
        END IF;
        IF TG_TABLE_NAME = 'customer' THEN
            IF NEW.deleted_at IS NULL THEN
                INSERT INTO search_doc VALUES (NEW.id, NEW.id, 'name', NEW.display_name);
            END IF;
        ELSIF TG_TABLE_NAME = 'customer_phone' THEN
            INSERT INTO search_doc VALUES
                (NEW.id, NEW.customer_id, 'phone', coalesce(ltrim(NEW.e164, '+'), NEW.number_raw));
        ELSE
            INSERT INTO search_doc VALUES (NEW.id, NEW.customer_id, 'email', NEW.address_norm);
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER search_customer_trg
        AFTER INSERT OR DELETE OR UPDATE OF display_name, deleted_at ON customer
        FOR EACH ROW EXECUTE FUNCTION search_doc_refresh()""",
    """CREATE TRIGGER search_phone_trg AFTER INSERT OR UPDATE OR DELETE
        ON customer_phone FOR EACH ROW EXECUTE FUNCTION search_doc_refresh()""",
    """CREATE TRIGGER search_email_trg AFTER INSERT OR UPDATE OR DELETE
        ON customer_email FOR EACH ROW EXECUTE FUNCTION search_doc_refresh()""",
    """INSERT INTO search_doc
        SELECT id, id, 'name', display_name FROM customer WHERE deleted_at IS NULL""",
    """INSERT INTO search_doc
        SELECT id, customer_id, 'phone', coalesce(ltrim(e164, '+'), number_raw)
        FROM customer_phone""",
    "INSERT INTO search_doc SELECT id, customer_id, 'email', address_norm FROM customer_email",
    "CREATE INDEX search_ix_email_prefix ON customer_email (address_norm text_pattern_ops)",
    "CREATE INDEX search_ix_ticket_number_prefix ON ticket (number text_pattern_ops)",
    "CREATE INDEX search_ix_product_last4 ON product (number_last4)",
]

_PG_DOWN = [
    "DROP INDEX IF EXISTS search_ix_product_last4",
    "DROP INDEX IF EXISTS search_ix_ticket_number_prefix",
    "DROP INDEX IF EXISTS search_ix_email_prefix",
    "DROP TRIGGER IF EXISTS search_email_trg ON customer_email",
    "DROP TRIGGER IF EXISTS search_phone_trg ON customer_phone",
    "DROP TRIGGER IF EXISTS search_customer_trg ON customer",
    "DROP FUNCTION IF EXISTS search_doc_refresh()",
    "DROP TABLE IF EXISTS search_doc",
    "DROP FUNCTION IF EXISTS search_fold(text)",
]


def _run(statements: list[str]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    _run(_PG_UP if op.get_bind().dialect.name == "postgresql" else _SQLITE_UP)


def downgrade() -> None:
    _run(_PG_DOWN if op.get_bind().dialect.name == "postgresql" else _SQLITE_DOWN)
