"""Secrets in the OS keyring, and nowhere else.

Every credential (central database password, AMI secret, local cache key,
remembered agent passwords) is stored with ``keyring`` under the service
name ``agentdesk``. When the machine has no usable keyring backend (typical
on a headless Linux box) the caller gets ``KeyringUnavailable`` with a
message that says what to install or configure.
"""

from __future__ import annotations

import contextlib
import secrets as _stdlib_secrets

import keyring
import keyring.backend
import keyring.errors

SERVICE = "agentdesk"

HOW_TO_FIX = (
    "No usable OS keyring backend was found, so agentdesk cannot keep secrets. "
    "On a Linux desktop start a Secret Service provider (GNOME Keyring or KWallet); "
    "on a headless server install 'keyrings.alt' or 'keyrings.cryptfile' and set "
    "PYTHON_KEYRING_BACKEND to it (see 'python -m keyring diagnose'). "
    "Windows and macOS have a keyring built in."
)


_REFUSED_BACKENDS = frozenset({"keyrings.alt.file.PlaintextKeyring"})


class KeyringUnavailable(RuntimeError):
    """No usable keyring backend; the message explains how to get one."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(HOW_TO_FIX + (f" ({detail})" if detail else ""))


def keyring_available() -> bool:
    """True when the active backend can store secrets (priority above zero)."""
    backend = keyring.get_keyring()
    if isinstance(backend, MemoryKeyring):
        return True  # set explicitly (tests, the throwaway demo)
    try:
        priority = float(backend.priority)
    except Exception:
        return False
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    # A keyring that writes secrets to a plain file defeats the point; refuse it.
    return priority > 0 and name not in _REFUSED_BACKENDS and "backends.fail" not in name


def _require_backend() -> None:
    if not keyring_available():
        raise KeyringUnavailable(f"active backend: {type(keyring.get_keyring()).__name__}")


def get_secret(name: str) -> str | None:
    """The secret stored under ``name``, or None if none is stored."""
    _require_backend()
    try:
        return keyring.get_password(SERVICE, name)
    except keyring.errors.KeyringError as exc:
        raise KeyringUnavailable(str(exc)) from exc


def set_secret(name: str, value: str) -> None:
    _require_backend()
    try:
        keyring.set_password(SERVICE, name, value)
    except keyring.errors.KeyringError as exc:
        raise KeyringUnavailable(str(exc)) from exc


def delete_secret(name: str) -> None:
    _require_backend()
    with contextlib.suppress(keyring.errors.PasswordDeleteError):  # already gone is fine
        keyring.delete_password(SERVICE, name)


def cache_key_name(workstation: str) -> str:
    return f"cache-key:{workstation}"


def ensure_cache_key(workstation: str) -> str:
    """The 256-bit local cache key as 64 hex digits, created once per workstation."""
    name = cache_key_name(workstation)
    key = get_secret(name)
    if key is None:
        key = _stdlib_secrets.token_hex(32)
        set_secret(name, key)
    return key


class _NeverAutoSelected:
    """A ``priority`` that raises, so keyring's backend discovery skips the class.

    keyring auto-selects among *all* imported ``KeyringBackend`` subclasses; without
    this, merely importing this module made a forgetful in-memory store the "best"
    keyring on a machine with none. It is used only when set explicitly.
    """

    def __get__(self, instance: object, owner: type | None = None) -> float:
        raise RuntimeError("MemoryKeyring is only used when set explicitly")


class MemoryKeyring(keyring.backend.KeyringBackend):
    """An in-process keyring for tests and the throwaway demo; forgets everything at exit."""

    priority = _NeverAutoSelected()

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # keyring ships no annotations here
        self._store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self._store:
            raise keyring.errors.PasswordDeleteError(username)
        del self._store[(service, username)]
