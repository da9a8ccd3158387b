"""Encryption of single sensitive fields at rest (identity numbers, dates of birth).

AES-256-GCM with a random 96-bit nonce per value. A stored value is
self-describing, so keys can be rotated without rewriting every row at once::

    0x01 | len(key id) | key id (ASCII) | nonce (12 bytes) | ciphertext + tag (16 bytes)

The associated data binds a ciphertext to its table, column and row id:
copying one customer's encrypted date of birth onto another row makes it
undecryptable instead of silently wrong.

Only the server holds a ``FieldKeyring``. It is built from the operator's
key file (0600, refused when the group or others can read it) or from the
OS keyring entry ``agentdesk``/``field-key``. Either holds one key per line,
``<key id>:<base64 of 32 bytes>``; the first line encrypts new values, the
others still decrypt values written before a rotation.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = 1
NONCE_BYTES = 12
KEY_BYTES = 32
KEY_FILE_ENV = "AGENTDESK_FIELD_KEY_FILE"
KEYRING_ENTRY = "field-key"
_KEY_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


class FieldKeyError(RuntimeError):
    """The field key is missing, unreadable, too widely readable or malformed."""


class FieldDecryptError(ValueError):
    """A stored value cannot be decrypted: unknown key id, wrong row, or tampered bytes."""


class FieldCipher(Protocol):
    """What mutators and services need from the server's key holder."""

    def encrypt(self, plaintext: str, context: str) -> bytes: ...

    def decrypt(self, blob: bytes, context: str) -> str: ...


def field_context(table: str, column: str, row_id: object) -> str:
    """The associated data of one field value: ``table.column:row id``."""
    return f"{table}.{column}:{row_id}"


class FieldKeyring:
    """The server's AES-256 keys by id; the current one encrypts, all of them decrypt."""

    def __init__(self, keys: Mapping[str, bytes], current: str) -> None:
        if current not in keys:
            raise FieldKeyError(f"the current key id {current!r} has no key")
        for key_id, key in keys.items():
            _check_key_id(key_id)
            if len(key) != KEY_BYTES:
                raise FieldKeyError(f"key {key_id!r} is {len(key)} bytes; AES-256 needs 32")
        self._aeads = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._current = current

    @property
    def current_key_id(self) -> str:
        return self._current

    # --- construction -------------------------------------------------------------------

    @classmethod
    def generate(cls, key_id: str = "k1") -> FieldKeyring:
        """A keyring with one fresh random key (tests, and ``agentdesk db field-key``)."""
        return cls({key_id: secrets.token_bytes(KEY_BYTES)}, key_id)

    @classmethod
    def parse(cls, text: str, where: str) -> FieldKeyring:
        """Read the ``<key id>:<base64>`` lines of a key file or keyring entry."""
        keys: dict[str, bytes] = {}
        order: list[str] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            key_id, sep, encoded = line.partition(":")
            if not sep:
                raise FieldKeyError(f"{where} line {number}: expected '<key id>:<base64 key>'")
            try:
                key = base64.b64decode(encoded.strip(), validate=True)
            except binascii.Error:
                raise FieldKeyError(f"{where} line {number}: the key is not base64") from None
            key_id = key_id.strip()
            if key_id in keys:
                raise FieldKeyError(f"{where} line {number}: key id {key_id!r} appears twice")
            keys[key_id] = key
            order.append(key_id)
        if not order:
            raise FieldKeyError(f"{where} holds no key")
        return cls(keys, order[0])

    @classmethod
    def from_file(cls, path: Path | str) -> FieldKeyring:
        """Load a key file, refusing one that anyone but its owner can read or write."""
        return cls.parse(read_key_file(path), str(path))

    @classmethod
    def from_os_keyring(cls) -> FieldKeyring:
        """Load the key from the OS keyring entry ``agentdesk``/``field-key``."""
        from agentdesk import vault  # the keyring backend checks live there

        text = vault.get_secret(KEYRING_ENTRY)
        if not text:
            raise FieldKeyError(
                f"no field key: the OS keyring has no '{KEYRING_ENTRY}' entry for "
                f"'{vault.SERVICE}', and no key file was given ({KEY_FILE_ENV})"
            )
        return cls.parse(text, "the OS keyring entry")

    # --- use ----------------------------------------------------------------------------

    def encrypt(self, plaintext: str, context: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        key_id = self._current.encode("ascii")
        sealed = self._aeads[self._current].encrypt(
            nonce, plaintext.encode("utf-8"), context.encode("utf-8")
        )
        return bytes([FORMAT_VERSION, len(key_id)]) + key_id + nonce + sealed

    def decrypt(self, blob: bytes, context: str) -> str:
        if len(blob) < 2 or blob[0] != FORMAT_VERSION:
            raise FieldDecryptError("not an agentdesk field ciphertext (format byte)")
        end = 2 + blob[1]
        key_id = blob[2:end].decode("ascii", errors="replace")
        aead = self._aeads.get(key_id)
        if aead is None:
            raise FieldDecryptError(f"encrypted with key {key_id!r}, which this server lacks")
        nonce, sealed = blob[end : end + NONCE_BYTES], blob[end + NONCE_BYTES :]
        try:
            clear = aead.decrypt(nonce, sealed, context.encode("utf-8"))
        except InvalidTag:
            raise FieldDecryptError(
                "the value does not decrypt for this row (tampered or moved)"
            ) from None
        return clear.decode("utf-8")


def read_key_file(path: Path | str) -> str:
    """The text of a key file, refused when it is not a regular file only its owner can use."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise FieldKeyError(f"cannot read the field key file {path}: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        raise FieldKeyError(f"the field key file {path} is not a regular file")
    if mode & 0o077:
        raise FieldKeyError(
            f"the field key file {path} has mode {stat.S_IMODE(mode):04o}: its group or "
            f"other users can read or change it; run 'chmod 600 {path}'"
        )
    return path.read_text(encoding="ascii")


def new_key_text(key_id: str = "k1") -> str:
    """A fresh key line for a key file or keyring entry."""
    _check_key_id(key_id)
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode('ascii')}\n"


def load_field_keyring(
    path: Path | str | None = None, env: Mapping[str, str] | None = None
) -> FieldKeyring:
    """The server's keyring: ``path``, else ``$AGENTDESK_FIELD_KEY_FILE``, else the OS keyring."""
    env = os.environ if env is None else env
    chosen = path or env.get(KEY_FILE_ENV)
    if chosen:
        return FieldKeyring.from_file(chosen)
    return FieldKeyring.from_os_keyring()


def _check_key_id(key_id: str) -> None:
    if not 1 <= len(key_id) <= 32 or not set(key_id) <= _KEY_ID_CHARS:
        raise FieldKeyError(f"key id {key_id!r}: use 1-32 letters, digits, '-', '_' or '.'")
