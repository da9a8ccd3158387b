"""Agent sign-in: Argon2id password checks against the central store; remember-me in the keyring.

The central store is the source of truth for who may sign in. When it cannot
be reached, an agent whose record the local cache already holds may still
sign in (degraded mode), and the result says so. Remembered passwords live
only in the OS keyring (``agentdesk.vault``), never in a file.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from agentdesk import vault
from agentdesk.models import Agent, Role

MAX_LOGIN = 64
MAX_PASSWORD = 1024  # Argon2 accepts more; a longer "password" is a paste accident

_hasher = PasswordHasher()  # argon2-cffi's defaults are Argon2id (RFC 9106 low-memory profile)


class AuthError(Exception):
    """Sign-in failed; the message is written for the agent."""


class WrongCredentials(AuthError):
    """Unknown agent id, inactive agent or wrong password (deliberately not told apart)."""


class StoreUnreachable(AuthError):
    """Neither the central store nor the local cache could check the password."""


@dataclass(frozen=True)
class AgentIdentity:
    """Who signed in, as the rest of the desktop needs it."""

    id: uuid.UUID
    login: str
    display_name: str
    role: Role
    interface: str | None
    extension: str | None
    source: Literal["central", "local"] = "central"


def hash_password(password: str) -> str:
    """An Argon2id hash (PHC string) for ``password``."""
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True when ``password`` matches ``stored_hash``; a malformed hash never matches."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def remembered_name(login: str) -> str:
    return f"remember:{login}"


class AuthService:
    """Checks an agent id and password; central first, the local cache when central is down."""

    def __init__(self, central: Engine | None, local: Engine | None = None) -> None:
        self._central = central
        self._local = local

    def authenticate(self, login: str, password: str) -> AgentIdentity:
        login = login.strip()
        if not login or len(login) > MAX_LOGIN or not password or len(password) > MAX_PASSWORD:
            raise WrongCredentials("Enter your agent id and password.")
        errors: list[str] = []
        stores: tuple[tuple[Engine | None, Literal["central", "local"]], ...] = (
            (self._central, "central"),
            (self._local, "local"),
        )
        for engine, source in stores:
            if engine is None:
                continue
            try:
                row = self._load(engine, login)
            except SQLAlchemyError as exc:
                errors.append(f"{source}: {type(exc).__name__}")
                continue
            if row is None and source == "local":
                break
            return self._check(row, password, source)
        raise StoreUnreachable(
            "Cannot check your password: the central database is unreachable and this "
            "workstation has no cached copy of your account. "
            + (f"({'; '.join(errors)})" if errors else "")
        )

    @staticmethod
    def _load(engine: Engine, login: str) -> Agent | None:
        with Session(engine, expire_on_commit=False) as session:
            return session.scalars(select(Agent).where(Agent.login == login)).first()

    @staticmethod
    def _check(
        agent: Agent | None, password: str, source: Literal["central", "local"]
    ) -> AgentIdentity:
        if agent is None or not agent.active or not verify_password(agent.password_hash, password):
            raise WrongCredentials("Wrong agent id or password.")
        return AgentIdentity(
            agent.id,
            agent.login,
            agent.display_name,
            Role(agent.role),
            agent.interface,
            agent.extension,
            source,
        )


def remember_password(login: str, password: str) -> None:
    """Keep the password in the OS keyring (raises ``vault.KeyringUnavailable`` without one)."""
    vault.set_secret(remembered_name(login), password)


def forget_password(login: str) -> None:
    vault.delete_secret(remembered_name(login))


def remembered_password(login: str) -> str | None:
    """The remembered password, or None (also when there is no keyring)."""
    try:
        return vault.get_secret(remembered_name(login))
    except vault.KeyringUnavailable:
        return None
