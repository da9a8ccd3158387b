"""``agentdesk db``: migrate and check the central store (and a local cache file)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from agentdesk.commands.common import settings_from
from agentdesk.commands.db_grants import register_grants
from agentdesk.config import ConfigError
from agentdesk.store import migrate
from agentdesk.store.central import open_central
from agentdesk.store.engine import StoreError
from agentdesk.store.field_crypto import KEY_FILE_ENV, FieldKeyError, FieldKeyring, new_key_text


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("db", help="migrate or check the central database schema")
    actions = parser.add_subparsers(dest="db_action", metavar="ACTION", required=True)
    up = actions.add_parser("upgrade", help="apply all schema migrations (safe to repeat)")
    up.add_argument("--url", help="database URL (default: the configured central store)")
    up.add_argument(
        "--field-key-file",
        metavar="PATH",
        help=f"the server's field key (0600), needed once to encrypt identity data already "
        f"stored (default: ${KEY_FILE_ENV})",
    )
    up.set_defaults(func=_upgrade)
    key = actions.add_parser(
        "field-key", help="create the server's key for identity numbers and dates of birth"
    )
    key.add_argument("--new", metavar="PATH", required=True, help="key file to create (0600)")
    key.add_argument("--key-id", default="k1", help="id stored with every value (default k1)")
    key.set_defaults(func=_new_field_key)
    check = actions.add_parser("check", help="fail if the schema is not at the latest revision")
    check.add_argument("--url", help="database URL (default: the configured central store)")
    check.set_defaults(func=_check)
    encrypt = actions.add_parser(
        "encrypt", help="encrypt an older plaintext embedded store in place (SQLCipher)"
    )
    encrypt.set_defaults(func=_encrypt)
    register_grants(actions, _engine)


def _engine(args: argparse.Namespace) -> Any:
    from agentdesk.store.engine import central_engine

    if args.url:
        return central_engine(args.url)
    return open_central(settings_from(args))


def _upgrade(args: argparse.Namespace) -> int:
    try:
        path = getattr(args, "field_key_file", None) or os.environ.get(KEY_FILE_ENV)
        keyring = FieldKeyring.from_file(path) if path else None
        engine = _engine(args)
        migrate.upgrade(engine, field_keyring=keyring)
    except (StoreError, ConfigError, FieldKeyError) as exc:
        print(f"agentdesk db upgrade: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        # Migration 0005 refuses to run without the key it needs; its message says how.
        print(f"agentdesk db upgrade: {exc}", file=sys.stderr)
        return 2
    print(f"{_where(engine)} is at revision {migrate.current_revision(engine)}")
    return 0


def _encrypt(args: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url

    from agentdesk.store.central import KEY_FILE_NAME, encrypt_plaintext

    try:
        settings = settings_from(args)
        url = make_url(settings.central_url)
        if url.get_backend_name() != "sqlite" or not url.database:
            raise StoreError("only the embedded SQLite store is encrypted by agentdesk")
        store = Path(url.database)
        key_file = settings.central.key_file or store.with_name(KEY_FILE_NAME)
        kept = encrypt_plaintext(store, key_file)
    except (StoreError, ConfigError, OSError) as exc:
        print(f"agentdesk db encrypt: {exc}", file=sys.stderr)
        return 2
    print(
        f"{store} is now encrypted (key in {key_file}, 0600; back it up). The plaintext "
        f"original is {kept}: check the store opens, then shred it."
    )
    return 0


def _new_field_key(args: argparse.Namespace) -> int:
    path = Path(args.new)
    try:
        text = new_key_text(args.key_id)
        # O_EXCL: never overwrite a key (values encrypted with it would be lost for good).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except (FieldKeyError, OSError) as exc:
        print(f"agentdesk db field-key: {exc}", file=sys.stderr)
        return 2
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(text)
    print(f"wrote {path} (0600); point the server at it with {KEY_FILE_ENV} and back it up")
    return 0


def _check(args: argparse.Namespace) -> int:
    try:
        engine = _engine(args)
        migrate.check(engine)
    except (StoreError, ConfigError, migrate.SchemaDriftError) as exc:
        print(f"agentdesk db check: {exc}", file=sys.stderr)
        return 1
    print(f"{_where(engine)}: schema up to date (revision {migrate.current_revision(engine)})")
    return 0


def _where(engine: Any) -> str:
    return str(engine.url.render_as_string(hide_password=True))
