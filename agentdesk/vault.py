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
    "on a headless server install 'keyrings.cryptfile' and set "
    "PYTHON_KEYRING_BACKEND=keyrings.cryptfile.cryptfile.CryptFileKeyring (or use "
    "keyrings.alt.file.EncryptedKeyring; never PlaintextKeyring), "
    "see 'python -m keyring diagnose'. "
    "Windows and macOS have a keyring built in."
)


# Backends that keep secrets where only this user can read them: the operating system's
# keyrings, and file backends that encrypt every entry under a master password. Anything
# else (the plaintext file backend, an unknown third-party file store) is refused: an
# allow-list, because a new backend's safety cannot be guessed from its name.
ALLOWED_BACKENDS = frozenset(
    {
        "keyring.backends.SecretService.Keyring",
        "keyring.backends.libsecret.Keyring",
        "keyring.backends.kwallet.DBusKeyring",
        "keyring.backends.kwallet.DBusKeyringKWallet4",
        "keyring.backends.macOS.Keyring",
        "keyring.backends.Windows.WinVaultKeyring",
        "keyrings.alt.file.EncryptedKeyring",
        "keyrings.cryptfile.cryptfile.CryptFileKeyring",
    }
)
_CHAINER = "keyring.backends.chainer.ChainerBackend"


class KeyringUnavailable(RuntimeError):
    """No usable keyring backend; the message explains how to get one."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(HOW_TO_FIX + (f" ({detail})" if detail else ""))


def backend_name(backend: object) -> str:
    return backend_name_of(type(backend))


def backend_name_of(cls: type) -> str:
    return f"{cls.__module__}.{cls.__name__}"


def refusal(backend: keyring.backend.KeyringBackend) -> str | None:
    """Why ``backend`` may not hold agentdesk's secrets, or None if it may."""
    if isinstance(backend, MemoryKeyring):
        return None  # set explicitly (tests, the throwaway demo)
    name = backend_name(backend)
    if name == _CHAINER:
        # keyring's default on Linux: it tries each viable backend in turn, so every one
        # of them must be acceptable.
        members = list(getattr(backend, "backends", ()))
        if not members:
            return f"active backend {name} has no usable keyring behind it"
        reasons = [r for r in (refusal(m) for m in members) if r]
        return "; ".join(reasons) or None
    if name in ("keyring.backends.fail.Keyring", "keyring.backends.null.Keyring"):
        return f"no keyring backend is available (active backend: {name})"
    try:
        priority = float(backend.priority)
    except Exception:
        return f"active backend {name} reports itself unusable on this machine"
    if name == "keyrings.alt.file.PlaintextKeyring":
        return f"active backend {name} writes secrets to a plain file and is refused"
    # A subclass of an allowed backend keeps its storage (e.g. a site's wrapper that
    # supplies CryptFileKeyring's master password); whoever can choose the backend class
    # already runs code in this process.
    if not any(backend_name_of(cls) in ALLOWED_BACKENDS for cls in type(backend).__mro__):
        return (
            f"active backend {name} is not an OS keyring or an encrypted file backend; "
            "agentdesk allows only those"
        )
    if priority <= 0:
        return f"active backend {name} reports itself unusable on this machine"
    return None


def keyring_available() -> bool:
    """True when the active backend is allowed and usable."""
    return refusal(keyring.get_keyring()) is None


def _require_backend() -> None:
    reason = refusal(keyring.get_keyring())
    if reason is not None:
        raise KeyringUnavailable(reason)


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
