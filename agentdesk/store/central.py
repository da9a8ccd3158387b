"""Open the central store named by the settings: PostgreSQL, or the encrypted embedded file.

PostgreSQL takes its password from the keyring when the URL carries none.
The embedded store is a SQLCipher file: 0600 in a 0700 directory, its raw
256-bit key in a 0600 key file (``[central] key_file``, default
``central.key`` beside the store), made together with a new store. Only the
server and the operator's commands on that host hold the key; a copy of the
store, its WAL or a backup reads as noise without it. An older plaintext
store still opens, with a warning to run ``agentdesk db encrypt``.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from agentdesk.config import Settings
from agentdesk.store.engine import StoreError, central_engine
from agentdesk.vault import KeyringUnavailable, get_secret

log = logging.getLogger(__name__)

KEY_FILE_NAME = "central.key"
_PLAIN_HEADER = b"SQLite format 3\x00"


def open_central(settings: Settings) -> Engine:
    """Engine for the configured central store (the encrypted embedded file by default)."""
    url = settings.central_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(str(parsed.database))
        key_file = settings.central.key_file or path.with_name(KEY_FILE_NAME)
        return open_embedded(path, key_file)
    password = None
    if parsed.get_backend_name() == "postgresql" and parsed.password is None:
        try:
            password = get_secret(settings.central.password_key)
        except KeyringUnavailable:
            password = None
    return central_engine(url, password)


def open_embedded(path: Path, key_file: Path) -> Engine:
    """The embedded store at ``path``: created encrypted, opened with its key file."""
    if is_plaintext(path):
        log.warning(
            "the embedded central store %s is not encrypted: run 'agentdesk db encrypt' "
            "(it keeps a key in %s)",
            path,
            key_file,
        )
        return central_engine(f"sqlite:///{path}")
    if not path.exists():
        _private_dir(path.parent)
        if not key_file.exists():
            write_key_file(key_file)
            log.info("new embedded central store: its key is in %s (0600)", key_file)
        _touch_private(path)
    elif not key_file.exists():
        raise StoreError(
            f"the embedded central store {path} is encrypted and its key file {key_file} is "
            "missing; restore it (or set [central] key_file / AGENTDESK_CENTRAL_KEY_FILE)"
        )
    _tighten(path)
    return central_engine(f"sqlite:///{path}", key_hex=read_key_file(key_file))


def is_plaintext(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return False
    with path.open("rb") as handle:
        return handle.read(len(_PLAIN_HEADER)) == _PLAIN_HEADER


def write_key_file(key_file: Path) -> str:
    """A new random key, written 0600 (never over an existing file)."""
    key = secrets.token_hex(32)
    _private_dir(key_file.parent)
    with os.fdopen(os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(key + "\n")
    return key


def read_key_file(key_file: Path) -> str:
    """The key, refusing a file anyone but its owner can read or write."""
    mode = stat.S_IMODE(key_file.stat().st_mode)
    if mode & 0o077:
        raise StoreError(
            f"{key_file} is mode {mode:04o}: the store key must be readable by its owner only "
            f"(run 'chmod 600 {key_file}')"
        )
    return key_file.read_text(encoding="ascii").strip()


def encrypt_plaintext(path: Path, key_file: Path) -> Path:
    """Convert a plaintext embedded store to SQLCipher in place; returns the kept original.

    ``sqlcipher_export`` copies schema and rows into an encrypted twin, which then takes
    the store's name; the plaintext original is kept beside it (``.plaintext``) for the
    operator to check and shred.
    """
    if not is_plaintext(path):
        raise StoreError(f"{path} is not a plaintext SQLite file (already encrypted?)")
    key = read_key_file(key_file) if key_file.exists() else write_key_file(key_file)
    twin = path.with_name(path.name + ".encrypting")
    twin.unlink(missing_ok=True)
    _touch_private(twin)
    import sqlcipher3

    conn = sqlcipher3.connect(str(path), isolation_level=None)  # no key: the plaintext file
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute(f"ATTACH DATABASE ? AS enc KEY \"x'{key}'\"", (str(twin),))
        conn.execute("SELECT sqlcipher_export('enc')")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute(f"PRAGMA enc.user_version = {int(version)}")
        conn.execute("DETACH DATABASE enc")
    finally:
        conn.close()
    kept = path.with_name(path.name + ".plaintext")
    path.rename(kept)
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    twin.rename(path)
    return kept


def _private_dir(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)


def _touch_private(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def _tighten(path: Path) -> None:
    """Owner-only on the store and its WAL/SHM (SQLite gives them the store's mode)."""
    for item in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if item.exists() and stat.S_IMODE(item.stat().st_mode) & 0o077:
            item.chmod(0o600)
