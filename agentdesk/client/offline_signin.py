"""Offline sign-in: a verifier in the OS keyring, usable only for a while after going online.

After each successful online sign-in the desktop calls ``remember_online_signin``
with the password the agent typed and the identity the server returned. It
stores, in the OS keyring only (``agentdesk.vault``), one JSON value per login:
an Argon2id hash of the password, the time of that online sign-in, and the
identity fields. No cache or database file ever holds a password hash.

When the server cannot be reached, ``check_offline`` accepts the same
password only within ``window`` (default 72 hours) of that online sign-in,
and refuses with a message saying why otherwise. Five wrong offline
passwords in a row delete the verifier, so guessing on a stolen, disconnected
laptop ends in "sign in online first" rather than in unlimited tries. A clock
set earlier than the stored sign-in time is refused too: winding the clock
back must not stretch the window.

The role in the returned identity is what the server said at the last online
sign-in; it only shapes the offline screens, the server re-checks everything
when the queued work is sent.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agentdesk import vault
from agentdesk.services.platform import hash_password, verify_password

DEFAULT_WINDOW = dt.timedelta(hours=72)
MAX_OFFLINE_FAILURES = 5
# The desktop clock may be a little behind the server's; more than this is refused.
CLOCK_SKEW = dt.timedelta(minutes=5)
_VERSION = 1


class OfflineSignInRefused(Exception):
    """Offline sign-in is not possible; the message is written for the agent."""


@dataclass(frozen=True)
class OfflineIdentity:
    """Who signed in offline, as recorded at the last online sign-in on this workstation."""

    id: uuid.UUID
    login: str
    display_name: str
    role: str
    interface: str | None
    extension: str | None
    team_ids: tuple[uuid.UUID, ...]
    online_at: dt.datetime


def verifier_name(login: str) -> str:
    """The keyring entry holding ``login``'s offline verifier."""
    return f"offline-verifier:{login.strip().lower()}"


def remember_online_signin(
    password: str,
    *,
    agent_id: uuid.UUID,
    login: str,
    display_name: str,
    role: str,
    interface: str | None,
    extension: str | None,
    team_ids: Sequence[uuid.UUID],
    now: dt.datetime,
) -> None:
    """Store (or refresh) the verifier after a successful online sign-in.

    Raises ``vault.KeyringUnavailable`` without a usable keyring: then there is
    simply no offline sign-in on this workstation.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    record = {
        "v": _VERSION,
        "hash": hash_password(password),
        "online_at": now.astimezone(dt.UTC).isoformat(),
        "failures": 0,
        "identity": {
            "id": str(agent_id),
            "login": login,
            "display_name": display_name,
            "role": str(role),
            "interface": interface,
            "extension": extension,
            "team_ids": [str(t) for t in team_ids],
        },
    }
    vault.set_secret(verifier_name(login), json.dumps(record, separators=(",", ":")))


def forget_offline(login: str) -> None:
    """Remove the verifier (sign-out with 'forget me', or an admin wiping a workstation)."""
    vault.delete_secret(verifier_name(login))


def _load(login: str) -> dict[str, Any] | None:
    try:
        raw = vault.get_secret(verifier_name(login))
    except vault.KeyringUnavailable as exc:
        raise OfflineSignInRefused(
            "The server cannot be reached and this workstation has no keyring, so offline "
            "sign-in is not possible."
        ) from exc
    if raw is None:
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("v") != _VERSION:
        return None
    return record


def check_offline(
    login: str, password: str, *, now: dt.datetime, window: dt.timedelta = DEFAULT_WINDOW
) -> OfflineIdentity:
    """The identity when ``password`` matches and the last online sign-in is recent enough."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    record = _load(login) if login.strip() else None
    if record is None:
        raise OfflineSignInRefused(
            "The server cannot be reached, and you have not signed in online on this "
            "workstation before. Connect to the network and sign in online first."
        )
    try:
        online_at = dt.datetime.fromisoformat(record["online_at"])
        identity = record["identity"]
        stored = str(record["hash"])
    except (KeyError, TypeError, ValueError):
        forget_offline(login)
        raise OfflineSignInRefused(
            "The offline sign-in record on this workstation is damaged and was removed. "
            "Connect to the network and sign in online."
        ) from None
    if not password or not verify_password(stored, password):
        failures = int(record.get("failures", 0)) + 1
        if failures >= MAX_OFFLINE_FAILURES:
            forget_offline(login)
            raise OfflineSignInRefused(
                "Too many wrong passwords while offline: offline sign-in is now disabled on "
                "this workstation until you sign in online."
            )
        record["failures"] = failures
        vault.set_secret(verifier_name(login), json.dumps(record, separators=(",", ":")))
        raise OfflineSignInRefused("Wrong agent id or password.")
    if now < online_at - CLOCK_SKEW:
        raise OfflineSignInRefused(
            "This workstation's clock is earlier than your last online sign-in, so the "
            "offline sign-in period cannot be checked. Correct the clock or sign in online."
        )
    if now - online_at > window:
        hours = round(window.total_seconds() / 3600)
        raise OfflineSignInRefused(
            f"Offline sign-in is allowed only within {hours} hours of your last online "
            f"sign-in on this workstation (last: {online_at:%Y-%m-%d %H:%M} UTC). Connect to "
            "the network and sign in online."
        )
    if record.get("failures"):
        record["failures"] = 0
        vault.set_secret(verifier_name(login), json.dumps(record, separators=(",", ":")))
    return OfflineIdentity(
        id=uuid.UUID(identity["id"]),
        login=str(identity["login"]),
        display_name=str(identity["display_name"]),
        role=str(identity["role"]),
        interface=identity.get("interface"),
        extension=identity.get("extension"),
        team_ids=tuple(uuid.UUID(t) for t in identity.get("team_ids", [])),
        online_at=online_at,
    )
