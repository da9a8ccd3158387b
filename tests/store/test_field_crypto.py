"""Field encryption: row-bound AES-256-GCM, key rotation, key files only the owner can read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentdesk.store.field_crypto import (
    FieldDecryptError,
    FieldKeyError,
    FieldKeyring,
    field_context,
    load_field_keyring,
    new_key_text,
)


def test_values_round_trip_and_are_bound_to_their_row() -> None:
    keys = FieldKeyring.generate()
    here, there = field_context("customer", "dob", 1), field_context("customer", "dob", 2)
    blob = keys.encrypt("1984-05-17", here)
    assert b"1984" not in blob and keys.decrypt(blob, here) == "1984-05-17"
    assert keys.encrypt("1984-05-17", here) != blob  # fresh nonce every time
    with pytest.raises(FieldDecryptError, match="this row"):
        keys.decrypt(blob, there)
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(FieldDecryptError):
        keys.decrypt(tampered, here)


def test_an_old_key_still_decrypts_after_rotation(tmp_path: Path) -> None:
    old = tmp_path / "old.key"
    old.write_text(new_key_text("k1"))
    old.chmod(0o600)
    first = FieldKeyring.from_file(old)
    blob = first.encrypt("X123", "ctx")
    rotated = tmp_path / "rotated.key"
    rotated.write_text(new_key_text("k2") + old.read_text())
    rotated.chmod(0o600)
    keys = load_field_keyring(env={"AGENTDESK_FIELD_KEY_FILE": str(rotated)})
    assert keys.current_key_id == "k2" and keys.decrypt(blob, "ctx") == "X123"
    with pytest.raises(FieldDecryptError, match="k2"):
        first.decrypt(keys.encrypt("Y", "ctx"), "ctx")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_a_key_file_others_can_read_is_refused_with_the_reason(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "field.key"
    path.write_text(new_key_text())
    os.chmod(path, mode)
    with pytest.raises(FieldKeyError, match=f"mode {mode:04o}.*chmod 600"):
        FieldKeyring.from_file(path)


def test_malformed_keys_are_refused(tmp_path: Path) -> None:
    with pytest.raises(FieldKeyError, match="32"):
        FieldKeyring.parse("k1:" + "QUJD", "test")
    with pytest.raises(FieldKeyError, match="no key"):
        FieldKeyring.parse("# nothing\n", "test")
    with pytest.raises(FieldKeyError, match="cannot read"):
        FieldKeyring.from_file(tmp_path / "missing.key")
