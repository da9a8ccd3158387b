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


def _backend(module: str, name: str) -> keyring.backend.KeyringBackend:
    """A do-nothing backend that claims to be ``module.name`` (what the allow-list reads)."""

    class Fake(keyring.backend.KeyringBackend):
        priority = 5  # type: ignore[assignment]

        def get_password(self, service: str, username: str) -> str | None:
            return None

        def set_password(self, service: str, username: str, password: str) -> None:
            return None

        def delete_password(self, service: str, username: str) -> None:
            return None

    Fake.__module__, Fake.__name__, Fake.__qualname__ = module, name, name
    return Fake()


@pytest.mark.parametrize(
    "module,name",
    [
        ("keyring.backends.SecretService", "Keyring"),
        ("keyring.backends.macOS", "Keyring"),
        ("keyring.backends.Windows", "WinVaultKeyring"),
        ("keyring.backends.kwallet", "DBusKeyring"),
        ("keyrings.alt.file", "EncryptedKeyring"),
        ("keyrings.cryptfile.cryptfile", "CryptFileKeyring"),
    ],
)
def test_os_keyrings_and_encrypted_files_are_allowed(module: str, name: str) -> None:
    keyring.set_keyring(_backend(module, name))
    assert vault.keyring_available()


@pytest.mark.parametrize(
    "module,name,why",
    [
        ("keyrings.alt.file", "PlaintextKeyring", "plain file"),
        ("keyrings.alt.Gnome", "Keyring", "not an OS keyring or an encrypted file"),
        ("somevendor.store", "JsonFileKeyring", "not an OS keyring or an encrypted file"),
    ],
)
def test_plaintext_and_unknown_backends_are_refused_naming_them(
    module: str, name: str, why: str
) -> None:
    keyring.set_keyring(_backend(module, name))
    with pytest.raises(vault.KeyringUnavailable) as info:
        vault.get_secret("ami")
    message = str(info.value)
    assert f"{module}.{name}" in message and why in message
    assert "PYTHON_KEYRING_BACKEND" in message  # and how to fix it


def test_a_chain_is_allowed_only_if_every_member_is() -> None:
    from keyring.backends import chainer

    good = _backend("keyring.backends.SecretService", "Keyring")
    bad = _backend("keyrings.alt.file", "PlaintextKeyring")

    def chain_of(*members: keyring.backend.KeyringBackend) -> keyring.backend.KeyringBackend:
        class Chain(chainer.ChainerBackend):
            backends = tuple(members)

        Chain.__module__, Chain.__name__ = "keyring.backends.chainer", "ChainerBackend"
        return Chain()  # type: ignore[no-untyped-call]  # keyring ships no annotations

    assert vault.refusal(chain_of(good)) is None
    assert "PlaintextKeyring" in str(vault.refusal(chain_of(good, bad)))
    assert vault.refusal(chain_of()) is not None
