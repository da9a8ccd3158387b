"""data protection: no card numbers, identity numbers and dates of birth encrypted, audit chain

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 11:00:00

* ``product``: a card keeps the card system's ``token``, its ``card_bin`` (first
  six digits) and ``number_last4``; ``number`` becomes nullable and must be
  NULL for cards (``ck_product_card_has_no_number``). Existing card numbers
  are split and erased. The card system's real token is not known here, so
  an opaque random ``tok_…`` stands in until the core system's next refresh;
  it is deliberately not derived from the number (an unkeyed hash of a PAN
  is reversible by trying every number).
* ``customer.date_of_birth`` → ``date_of_birth_enc`` (AES-256-GCM, see
  ``agentdesk.store.field_crypto``) and ``birth_year`` (what lists show).
* ``identity_document.number`` → ``number_enc`` and ``number_masked``.
* ``audit_entry``: ``seq``, ``prev_hash``, ``entry_hash``; existing entries
  are chained in (``at``, ``id``) order.

Encrypting existing values needs the server's field key. It is taken from
the Alembic attribute ``field_keyring`` (``agentdesk db upgrade`` passes the
key it loaded) or from ``$AGENTDESK_FIELD_KEY_FILE``. A desktop cache has no
key and needs none: it keeps the masked forms only and gets the rest from
the server. A central store that holds clear values and no key stops the
upgrade with instructions, changing nothing.

On SQLite the clear values are overwritten in place (``secure_delete``); on
PostgreSQL old row versions linger until vacuumed: run ``VACUUM FULL
customer, identity_document, product`` after the upgrade.
"""

from __future__ import annotations

import os
import re
import secrets
import uuid
from typing import Any, cast

import sqlalchemy as sa
from alembic import op

import agentdesk.models.base
from agentdesk.store.audit_log import GENESIS_HASH, HEAD_KEY, canonical_json
from agentdesk.store.field_crypto import (
    KEY_FILE_ENV,
    FieldCipher,
    FieldKeyring,
    field_context,
)

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TS = agentdesk.models.base.UTCDateTime(timezone=True)
_MASK = "\u2022"
_BATCH = 2000
_CACHE_MARKER = "sync.client_id"  # only a desktop cache has a sync client id of its own

_customer = sa.table(
    "customer",
    sa.column("id", sa.Uuid()),
    sa.column("date_of_birth", sa.Date()),
    sa.column("birth_year", sa.Integer()),
    sa.column("date_of_birth_enc", sa.LargeBinary()),
)
_document = sa.table(
    "identity_document",
    sa.column("id", sa.Uuid()),
    sa.column("number", sa.String()),
    sa.column("number_masked", sa.String()),
    sa.column("number_enc", sa.LargeBinary()),
)
_product = sa.table(
    "product",
    sa.column("id", sa.Uuid()),
    sa.column("kind", sa.String()),
    sa.column("number", sa.String()),
    sa.column("number_last4", sa.String()),
    sa.column("token", sa.String()),
    sa.column("card_bin", sa.String()),
)
_audit = sa.table(
    "audit_entry",
    sa.column("id", sa.Uuid()),
    sa.column("at", _TS),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("entity_type", sa.String()),
    sa.column("entity_id", sa.String()),
    sa.column("reason", sa.Text()),
    sa.column("details", agentdesk.models.base.JSONType),
    sa.column("workstation", sa.String()),
    sa.column("seq", sa.BigInteger()),
    sa.column("prev_hash", sa.String()),
    sa.column("entry_hash", sa.String()),
)
_state = sa.table("sync_state", sa.column("key", sa.String()), sa.column("value", sa.Text()))


def _mask_number(number: str) -> str:
    clean = "".join(ch for ch in number if not ch.isspace())
    return _MASK * 5 + clean[-4:] if len(clean) > 4 else _MASK * len(clean)


def _is_cache(bind: sa.Connection) -> bool:
    found = bind.execute(sa.select(_state.c.key).where(_state.c.key == _CACHE_MARKER)).first()
    return found is not None


def _cipher(bind: sa.Connection, clear_rows: int) -> FieldCipher | None:
    """The key to encrypt with, None for a cache; raises when a central store has no key."""
    given = op.get_context().config
    keyring = given.attributes.get("field_keyring") if given is not None else None
    if keyring is not None:
        return cast(FieldCipher, keyring)
    path = os.environ.get(KEY_FILE_ENV)
    if path:
        return FieldKeyring.from_file(path)
    if clear_rows == 0 or _is_cache(bind):
        return None
    raise RuntimeError(
        f"migration 0005 must encrypt {clear_rows:,} identity numbers and dates of birth but "
        f"has no field key: set {KEY_FILE_ENV} to the server's key file (0600; "
        "'agentdesk db field-key --new PATH' makes one) or store it in the OS keyring and "
        "run 'agentdesk db upgrade' on the server. Nothing was changed."
    )


def _protect_customers(bind: sa.Connection, cipher: FieldCipher | None) -> None:
    last: uuid.UUID | None = None
    while True:
        stmt = sa.select(_customer.c.id, _customer.c.date_of_birth).where(
            _customer.c.date_of_birth.is_not(None)
        )
        if last is not None:
            stmt = stmt.where(_customer.c.id > last)
        rows = bind.execute(stmt.order_by(_customer.c.id).limit(_BATCH)).all()
        if not rows:
            return
        for cid, born in rows:
            enc = None
            if cipher is not None:
                context = field_context("customer", "date_of_birth", cid)
                enc = cipher.encrypt(born.isoformat(), context)
            bind.execute(
                _customer.update()
                .where(_customer.c.id == cid)
                .values(birth_year=born.year, date_of_birth_enc=enc, date_of_birth=None)
            )
        last = rows[-1][0]


def _protect_documents(bind: sa.Connection, cipher: FieldCipher | None) -> None:
    rows = bind.execute(sa.select(_document.c.id, _document.c.number)).all()
    for did, number in rows:
        number = number or ""
        enc = None
        if cipher is not None and number:
            enc = cipher.encrypt(number, field_context("identity_document", "number", did))
        bind.execute(
            _document.update()
            .where(_document.c.id == did)
            .values(number_masked=_mask_number(number), number_enc=enc)
        )


def _tokenise_cards(bind: sa.Connection) -> None:
    rows = bind.execute(
        sa.select(_product.c.id, _product.c.number).where(
            _product.c.kind == "card", _product.c.number.is_not(None)
        )
    ).all()
    for pid, number in rows:
        digits = re.sub(r"\D", "", number or "")
        values: dict[str, Any] = {"number": None, "token": f"tok_{secrets.token_hex(12)}"}
        if len(digits) >= 10:
            values["card_bin"] = digits[:6]
            values["number_last4"] = digits[-4:]
        bind.execute(_product.update().where(_product.c.id == pid).values(**values))


def _chain_audit(bind: sa.Connection) -> None:
    import hashlib

    rows = bind.execute(
        sa.select(_audit).order_by(_audit.c.at, _audit.c.id).where(_audit.c.seq.is_(None))
    ).all()
    prev, seq = GENESIS_HASH, 0
    for row in rows:
        seq += 1
        digest = hashlib.sha256(
            canonical_json(
                seq=seq,
                entry_id=row.id,
                at=row.at,
                actor=row.actor,
                action=row.action,
                entity_type=row.entity_type,
                entity_id=row.entity_id,
                reason=row.reason,
                details=row.details,
                workstation=row.workstation,
                prev_hash=prev,
            )
        ).hexdigest()
        bind.execute(
            _audit.update()
            .where(_audit.c.id == row.id)
            .values(seq=seq, prev_hash=prev, entry_hash=digest)
        )
        prev = digest
    if seq:
        bind.execute(_state.delete().where(_state.c.key == HEAD_KEY))
        bind.execute(_state.insert().values(key=HEAD_KEY, value=f"{seq}:{prev}"))


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    clear = (
        bind.execute(sa.select(sa.func.count()).select_from(_document)).scalar_one()
        + bind.execute(
            sa.select(sa.func.count())
            .select_from(_customer)
            .where(_customer.c.date_of_birth.is_not(None))
        ).scalar_one()
    )
    cipher = _cipher(bind, clear)
    if sqlite:
        # Zero the bytes of replaced values instead of leaving them in free pages.
        bind.exec_driver_sql("PRAGMA secure_delete = ON")

    # SQLite adds and drops these columns in place: customer carries the search
    # triggers of 0003, which a batch rebuild of the table would lose.
    op.add_column("customer", sa.Column("birth_year", sa.Integer(), nullable=True))
    op.add_column("customer", sa.Column("date_of_birth_enc", sa.LargeBinary(), nullable=True))
    op.add_column("identity_document", sa.Column("number_masked", sa.String(24), nullable=True))
    op.add_column("identity_document", sa.Column("number_enc", sa.LargeBinary(), nullable=True))
    op.add_column("product", sa.Column("token", sa.String(64), nullable=True))
    op.add_column("product", sa.Column("card_bin", sa.String(8), nullable=True))
    op.add_column("audit_entry", sa.Column("seq", sa.BigInteger(), nullable=True))
    op.add_column("audit_entry", sa.Column("prev_hash", sa.String(64), nullable=True))
    op.add_column("audit_entry", sa.Column("entry_hash", sa.String(64), nullable=True))

    with op.batch_alter_table("product") as batch:
        batch.alter_column("number", existing_type=sa.String(40), nullable=True)

    _protect_customers(bind, cipher)
    _protect_documents(bind, cipher)
    _tokenise_cards(bind)
    _chain_audit(bind)

    op.drop_column("customer", "date_of_birth")
    op.drop_column("identity_document", "number")
    with op.batch_alter_table("identity_document") as batch:
        batch.alter_column("number_masked", existing_type=sa.String(24), nullable=False)
    with op.batch_alter_table("product") as batch:
        batch.create_check_constraint(
            op.f("ck_product_card_has_no_number"), "kind <> 'card' OR number IS NULL"
        )
    op.create_index(op.f("ix_audit_entry_seq"), "audit_entry", ["seq"], unique=True)


def downgrade() -> None:
    # Clear values do not come back: the downgraded schema gets NULL dates of birth and
    # masked document numbers, and cards keep no number (the token cannot be reversed).
    op.drop_index(op.f("ix_audit_entry_seq"), table_name="audit_entry")
    with op.batch_alter_table("audit_entry") as batch:
        batch.drop_column("entry_hash")
        batch.drop_column("prev_hash")
        batch.drop_column("seq")
    bind = op.get_bind()
    op.add_column("identity_document", sa.Column("number", sa.String(64), nullable=True))
    bind.execute(_document.update().values(number=_document.c.number_masked))
    with op.batch_alter_table("identity_document") as batch:
        batch.alter_column("number", existing_type=sa.String(64), nullable=False)
        batch.drop_column("number_enc")
        batch.drop_column("number_masked")
    op.add_column("customer", sa.Column("date_of_birth", sa.Date(), nullable=True))
    op.drop_column("customer", "date_of_birth_enc")
    op.drop_column("customer", "birth_year")
    with op.batch_alter_table("product") as batch:
        batch.drop_constraint(op.f("ck_product_card_has_no_number"), type_="check")
    bind.execute(
        _product.update()
        .where(_product.c.number.is_(None))
        .values(number=sa.func.coalesce(_product.c.token, _product.c.number_last4))
    )
    with op.batch_alter_table("product") as batch:
        batch.alter_column("number", existing_type=sa.String(40), nullable=False)
        batch.drop_column("card_bin")
        batch.drop_column("token")
