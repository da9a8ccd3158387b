"""Secrets: only a real keyring, clear errors without one, never a plaintext file."""

from __future__ import annotations

import keyring
import keyring.backend
import keyring.core
import pytest

from agentdesk import vault


def test_memory_keyring_is_never_auto_selected() -> None:
    # keyring picks the best viable backend among all imported subclasses.
    assert vault.MemoryKeyring not in [type(b) for b in keyring.backend.get_all_keyring()]


def test_no_backend_gives_the_how_to_fix_message() -> None:
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())
    assert not vault.keyring_available()
    with pytest.raises(vault.KeyringUnavailable, match="Secret Service") as info:
        vault.get_secret("ami")
    assert "keyrings.alt" in str(info.value)


def test_plaintext_file_backend_is_refused() -> None:
    class PlaintextKeyring(keyring.backend.KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def get_password(self, service: str, username: str) -> str | None:
            return None

        def set_password(self, service: str, username: str, password: str) -> None:
            raise AssertionError("must not be called")

        def delete_password(self, service: str, username: str) -> None:
            return None

    PlaintextKeyring.__module__ = "keyrings.alt.file"
    keyring.set_keyring(PlaintextKeyring())
    assert not vault.keyring_available()
    with pytest.raises(vault.KeyringUnavailable):
        vault.set_secret("central-db", "s3cret")


def test_cache_key_is_created_once_and_is_256_bits() -> None:
    first = vault.ensure_cache_key("ws-1")
    assert len(first) == 64 and int(first, 16) >= 0
    assert vault.ensure_cache_key("ws-1") == first
    assert vault.ensure_cache_key("ws-2") != first
