"""Server-side sign-in: password or directory check, lockout, and opaque session tokens.

Called by ``agentdesk server`` (no HTTP here): ``sign_in`` turns an agent id
and password into a ``SessionGrant`` whose token the client shows on every
request; ``authenticate`` turns a token back into the signed-in agent.

How it holds up against an attacker guessing passwords:

* **Same answer, same work, for every failure.** Unknown login, inactive
  agent and wrong password all raise ``WrongCredentials`` with one message,
  and an unknown login is verified against a fixed dummy Argon2id hash so it
  costs the same time as a real one.
* **Lockout per login, known or not.** Failures are counted in
  ``signin_throttle`` under the lowercased login; after ``max_failures``
  within ``failure_window`` the login is locked for a back-off that grows
  with each lockout (1, 5, 15, 60 minutes by default) and is forgotten after
  ``lockout_memory`` without one. While locked, even the right password is
  refused without being checked. A successful sign-in clears the row.
* **Tokens are bearer secrets.** ``secrets.token_urlsafe(32)`` is handed out
  once; only its SHA-256 is stored, so a copy of ``auth_session`` signs
  nobody in. A session ends at ``expires_at`` (absolute) or after
  ``idle_timeout`` without a request, or when signed out or revoked.
* **A short memory of live sessions.** ``authenticate`` remembers a live
  session for ``SESSION_CACHE_SECONDS`` (10 s of the service's clock) so a
  busy desktop's requests do not each cost two queries. Sign-out and
  ``revoke_agent`` through this service forget the session at once, and with
  several server instances on a bus they tell the others (``on_ended``, see
  ``server/peers.py``), which forget it as the message arrives; a deactivation
  or role change made elsewhere (SQL), or a sign-out while the bus is away,
  takes effect within those 10 s. Expiry (absolute and idle) is still checked
  on every call.
* **Everything is audited** with server time and a server-chosen actor
  (``signin.ok``, ``signin.failed``, ``signin.locked``,
  ``signin.refused_locked``, ``signin.refused_no_role``,
  ``signin.directory_unavailable``, ``signout``, ``sessions.revoked``).
  Passwords and tokens never reach the audit log or a logger.

With a directory configured (see ``ldap_directory``), the directory is the
authority for every login except the break-glass ``local_accounts``; a
directory outage is reported as ``DirectoryUnavailable`` and never falls back
to a password hash kept here.

TOML (``[auth]`` table, all optional; read with ``SignInPolicy.from_mapping``)::

    [auth]
    max_failures = 6              # 5..10 (PCI DSS 8.3.4 asks for at most 10)
    failure_window_minutes = 15
    lockout_minutes = [1, 5, 15, 60]
    lockout_memory_hours = 24
    session_hours = 12
    idle_minutes = 30
    touch_seconds = 60
    session_retention_days = 30
    local_accounts = ["admin"]   # signed in by local password even with LDAP on
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import math
import os
import secrets
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn, Protocol, cast

from sqlalchemy import CursorResult, Engine, Result, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agentdesk.models import Agent, AuthSession, Role, SigninThrottle, agent_team, utcnow
from agentdesk.services.platform.auth import hash_password, verify_password
from agentdesk.services.platform.password_checks import ChecksBusy, PasswordChecks
from agentdesk.store.audit_log import append_audit

log = logging.getLogger(__name__)

MAX_LOGIN = 64
# How long a live session is trusted without re-reading it (see the module docstring).
SESSION_CACHE_SECONDS = 10.0
SESSION_CACHE_SIZE = 20_000
MAX_PASSWORD = 1024
# Stored in agent.password_hash for directory users: not a PHC string, so no
# password ever verifies against it, and it says why the row has no hash.
DIRECTORY_MARKER = "!directory"

Source = Literal["password", "ldap"]


# --- errors ------------------------------------------------------------------------------


class SignInError(Exception):
    """Sign-in refused; ``str(err)`` is written for the agent, ``code`` for the API."""

    code = "signin_failed"


class WrongCredentials(SignInError):
    """Unknown login, inactive agent or wrong password: deliberately one answer."""

    code = "wrong_credentials"

    def __init__(self) -> None:
        super().__init__("Wrong agent id or password.")


class AccountLocked(SignInError):
    """Too many failures for this login; ``retry_after`` is in whole seconds."""

    code = "account_locked"

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        minutes = math.ceil(self.retry_after / 60)
        super().__init__(
            "Too many failed sign-ins for this agent id. "
            f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        )


class SignInBusy(SignInError):
    """Too many sign-ins waiting for a password check (a shift start); ``retry_after`` s."""

    code = "signin_busy"

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(
            "The server is busy signing in many agents at once. "
            f"Try again in {self.retry_after} seconds."
        )


class DirectoryUnavailable(SignInError):
    """The directory could not be asked; nothing is decided on a stale copy."""

    code = "directory_unavailable"

    def __init__(self, detail: str = "") -> None:
        self.detail = detail
        super().__init__(
            "Cannot check your password: the bank's directory (LDAP) is not answering. "
            "Try again in a minute; if it persists, call the service desk."
        )


class NotEntitled(SignInError):
    """The directory accepted the password but the account is in no agentdesk group."""

    code = "no_role"

    def __init__(self) -> None:
        super().__init__(
            "Your directory account is not a member of any agentdesk group, so it has no "
            "role here. Ask your administrator to add you to the agent, supervisor or "
            "admin group."
        )


# --- directory contract --------------------------------------------------------------------


@dataclass(frozen=True)
class DirectoryUser:
    """What the directory says about a user whose password it has just accepted."""

    login: str
    dn: str
    display_name: str
    groups: tuple[str, ...]
    role: Role | None  # None: in no mapped group


class Directory(Protocol):
    """A password authority other than the local Argon2id hashes (LDAP in practice)."""

    def authenticate(self, login: str, password: str) -> DirectoryUser | None:
        """The user when the password is right, None when it is wrong or the user unknown.

        Raises ``DirectoryUnavailable`` when the directory cannot be asked.
        """
        ...


class AuditWriter(Protocol):
    """``agentdesk.store.audit_log.append_audit``'s shape, so tests can record calls."""

    def __call__(
        self,
        session: Session,
        *,
        actor: str,
        action: str,
        entity_type: str | None = ...,
        entity_id: str | uuid.UUID | None = ...,
        reason: str | None = ...,
        details: dict[str, Any] | None = ...,
        workstation: str | None = ...,
    ) -> object: ...


# --- policy and results ------------------------------------------------------------------


def _minutes(value: Any) -> dt.timedelta:
    return dt.timedelta(minutes=float(value))


@dataclass(frozen=True)
class SignInPolicy:
    """Lockout and session limits; validated so a typo cannot disable the lockout."""

    max_failures: int = 6
    failure_window: dt.timedelta = dt.timedelta(minutes=15)
    lockout_steps: tuple[dt.timedelta, ...] = (
        dt.timedelta(minutes=1),
        dt.timedelta(minutes=5),
        dt.timedelta(minutes=15),
        dt.timedelta(minutes=60),
    )
    lockout_memory: dt.timedelta = dt.timedelta(hours=24)
    session_lifetime: dt.timedelta = dt.timedelta(hours=12)
    idle_timeout: dt.timedelta = dt.timedelta(minutes=30)
    # last_seen_at is written at most this often: a request per second must not
    # mean a write per second. Idle expiry is therefore exact to within this.
    touch_interval: dt.timedelta = dt.timedelta(seconds=60)
    session_retention: dt.timedelta = dt.timedelta(days=30)
    local_accounts: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not 5 <= self.max_failures <= 10:
            raise ValueError("auth.max_failures must be between 5 and 10")
        if not self.lockout_steps or any(s <= dt.timedelta(0) for s in self.lockout_steps):
            raise ValueError("auth.lockout_minutes must list positive durations")
        for name in ("failure_window", "session_lifetime", "idle_timeout", "lockout_memory"):
            if getattr(self, name) <= dt.timedelta(0):
                raise ValueError(f"auth: {name} must be positive")
        if self.touch_interval >= self.idle_timeout:
            raise ValueError("auth.touch_seconds must be shorter than the idle timeout")
        object.__setattr__(
            self, "local_accounts", frozenset(a.strip().lower() for a in self.local_accounts)
        )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SignInPolicy:
        """Build from the ``[auth]`` TOML table (keys in the module docstring)."""
        known = {
            "max_failures",
            "failure_window_minutes",
            "lockout_minutes",
            "lockout_memory_hours",
            "session_hours",
            "idle_minutes",
            "touch_seconds",
            "session_retention_days",
            "local_accounts",
        }
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown [auth] settings: {', '.join(sorted(unknown))}")
        kwargs: dict[str, Any] = {}
        if "max_failures" in data:
            kwargs["max_failures"] = int(data["max_failures"])
        if "failure_window_minutes" in data:
            kwargs["failure_window"] = _minutes(data["failure_window_minutes"])
        if "lockout_minutes" in data:
            kwargs["lockout_steps"] = tuple(_minutes(m) for m in data["lockout_minutes"])
        if "lockout_memory_hours" in data:
            kwargs["lockout_memory"] = dt.timedelta(hours=float(data["lockout_memory_hours"]))
        if "session_hours" in data:
            kwargs["session_lifetime"] = dt.timedelta(hours=float(data["session_hours"]))
        if "idle_minutes" in data:
            kwargs["idle_timeout"] = _minutes(data["idle_minutes"])
        if "touch_seconds" in data:
            kwargs["touch_interval"] = dt.timedelta(seconds=float(data["touch_seconds"]))
        if "session_retention_days" in data:
            kwargs["session_retention"] = dt.timedelta(days=float(data["session_retention_days"]))
        if "local_accounts" in data:
            kwargs["local_accounts"] = frozenset(str(a) for a in data["local_accounts"])
        return cls(**kwargs)


@dataclass(frozen=True)
class AgentProfile:
    """The signed-in agent as the server and the desktop need it."""

    id: uuid.UUID
    login: str
    display_name: str
    role: Role
    interface: str | None
    extension: str | None
    team_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class SessionGrant:
    """A fresh session. ``token`` is shown to the client once and never stored here."""

    token: str = field(repr=False)
    session_id: uuid.UUID
    agent: AgentProfile
    source: Source
    expires_at: dt.datetime
    idle_timeout_seconds: int


@dataclass(frozen=True)
class SessionInfo:
    """A live session behind a token, with the agent as the database has it now."""

    session_id: uuid.UUID
    agent: AgentProfile
    source: Source
    workstation: str | None
    created_at: dt.datetime
    expires_at: dt.datetime
    idle_expires_at: dt.datetime


# --- helpers -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def dummy_hash() -> str:
    """An Argon2id hash of a random secret: what unknown logins are verified against.

    Made with the same hasher as real agent hashes, so checking a password
    against it takes as long as checking a real one.
    """
    return hash_password(secrets.token_urlsafe(24))


def token_hash(token: str) -> str:
    """Hex SHA-256 of a session token (tokens have 256 random bits: no salt or KDF needed)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalise_login(login: str) -> str | None:
    """The throttle and lookup key for a typed login, or None when it cannot be one."""
    key = login.strip().lower()
    if not key or len(key) > MAX_LOGIN or any(c.isspace() or not c.isprintable() for c in key):
        return None
    return key


def _rowcount(result: Result[Any]) -> int:
    """Rows touched by an UPDATE/DELETE (a CursorResult at run time)."""
    return int(cast("CursorResult[Any]", result).rowcount)


def _ceil_seconds(delta: dt.timedelta) -> int:
    return math.ceil(delta.total_seconds())


@dataclass
class _Attempt:
    """What was read before the (slow, lock-free) password check."""

    key: str
    agent_id: uuid.UUID | None = None
    agent_active: bool = False
    password_hash: str | None = None


# --- the service ---------------------------------------------------------------------------


class SignInService:
    """Sign-in, sessions and lockout against the central store (SQLite or PostgreSQL)."""

    def __init__(
        self,
        engine: Engine,
        *,
        policy: SignInPolicy | None = None,
        directory: Directory | None = None,
        audit: AuditWriter = append_audit,
        clock: Callable[[], dt.datetime] = utcnow,
        checks: PasswordChecks | None = None,
    ) -> None:
        self._engine = engine
        # Argon2 checks off the request threads, at low priority (see password_checks).
        self._checks = checks or PasswordChecks(workers=max(1, (os.cpu_count() or 2) // 2))
        self.policy = policy or SignInPolicy()
        self._directory = directory
        self._audit = audit
        self._clock = clock
        # token hash -> (session, when it was read from the database, by self._clock)
        self._live: dict[str, tuple[SessionInfo, dt.datetime]] = {}
        self._live_lock = threading.Lock()
        self._forgets = 0
        # Told the token hashes and agents whose sessions ended here (sign-out, revoke),
        # after they are forgotten: ``server/peers.py`` tells the other server instances.
        self.on_ended: Callable[[list[str], list[uuid.UUID]], None] | None = None
        dummy_hash()  # pay the one-off hashing cost now, not in the first unknown-login answer

    # -- sign-in --

    def sign_in(
        self, login: str, password: str, *, workstation: str | None, client_ip: str | None
    ) -> SessionGrant:
        """Check the credentials and open a session, or raise a ``SignInError``."""
        key = normalise_login(login)
        if key is None or not password or len(password) > MAX_PASSWORD:
            # Malformed input reveals nothing about any account; no throttle row for it.
            raise WrongCredentials()
        workstation = (workstation or "")[:80] or None
        client_ip = (client_ip or "")[:64] or None
        context = {"client_ip": client_ip} if client_ip else {}

        attempt = self._before_check(key, workstation, context)
        use_directory = self._directory is not None and key not in self.policy.local_accounts
        if use_directory:
            return self._directory_sign_in(attempt, password, workstation, client_ip, context)
        ok = self._check_local(attempt, password)
        if not ok or attempt.agent_id is None:
            self._record_failure(key, attempt.agent_id, workstation, context, "password")
        assert attempt.agent_id is not None
        return self._succeed(key, attempt.agent_id, "password", workstation, client_ip)

    def _before_check(self, key: str, workstation: str | None, context: dict[str, Any]) -> _Attempt:
        """Refuse a locked login outright; otherwise read what the check needs."""
        now = self._clock()
        with Session(self._engine) as s, s.begin():
            throttle = s.get(SigninThrottle, key)
            if throttle is None or not throttle.locked_until or throttle.locked_until <= now:
                agent = s.scalars(select(Agent).where(func.lower(Agent.login) == key)).first()
                if agent is None:
                    return _Attempt(key)
                return _Attempt(key, agent.id, agent.active, agent.password_hash)
            retry = _ceil_seconds(throttle.locked_until - now)
            self._audit(
                s,
                actor=key,
                action="signin.refused_locked",
                details={**context, "retry_after": retry},
                workstation=workstation,
            )
        raise AccountLocked(retry)

    def _check_local(self, attempt: _Attempt, password: str) -> bool:
        """Argon2id check. Every path runs exactly one verification so timing matches."""
        stored = attempt.password_hash
        known = attempt.agent_id is not None and bool(stored) and stored != DIRECTORY_MARKER
        against = stored if known and stored else dummy_hash()
        try:
            matched = self._checks.run(lambda: verify_password(against, password))
        except ChecksBusy as exc:
            raise SignInBusy(exc.retry_after) from exc
        return known and matched and attempt.agent_active

    def _directory_sign_in(
        self,
        attempt: _Attempt,
        password: str,
        workstation: str | None,
        client_ip: str | None,
        context: dict[str, Any],
    ) -> SessionGrant:
        assert self._directory is not None
        try:
            user = self._directory.authenticate(attempt.key, password)
        except DirectoryUnavailable as exc:
            with Session(self._engine) as s, s.begin():
                self._audit(
                    s,
                    actor=attempt.key,
                    action="signin.directory_unavailable",
                    details={**context, "error": exc.detail[:200]},
                    workstation=workstation,
                )
            raise
        if user is None or (attempt.agent_id is not None and not attempt.agent_active):
            self._record_failure(attempt.key, attempt.agent_id, workstation, context, "ldap")
        assert user is not None
        if user.role is None:
            with Session(self._engine) as s, s.begin():
                self._audit(
                    s,
                    actor=attempt.key,
                    action="signin.refused_no_role",
                    entity_type="agent" if attempt.agent_id else None,
                    entity_id=attempt.agent_id,
                    details={**context, "groups": list(user.groups)[:20]},
                    workstation=workstation,
                )
            raise NotEntitled()
        agent_id = self._upsert_directory_agent(attempt.key, user)
        return self._succeed(attempt.key, agent_id, "ldap", workstation, client_ip)

    def _upsert_directory_agent(self, key: str, user: DirectoryUser) -> uuid.UUID:
        """Mirror the directory's name and role into the local agent row (no password hash)."""
        assert user.role is not None
        for attempt in range(2):
            try:
                with Session(self._engine) as s, s.begin():
                    agent = s.scalars(
                        select(Agent).where(func.lower(Agent.login) == key).with_for_update()
                    ).first()
                    if agent is None:
                        agent = Agent(
                            login=key,
                            display_name=user.display_name[:120],
                            role=user.role,
                            password_hash=DIRECTORY_MARKER,
                            active=True,
                        )
                        s.add(agent)
                    else:
                        agent.display_name = user.display_name[:120]
                        agent.role = user.role
                        # A hash left from before the site switched to LDAP must not
                        # become a way in while the directory is down.
                        agent.password_hash = DIRECTORY_MARKER
                    s.flush()
                    return agent.id
            except IntegrityError:
                if attempt:  # two first sign-ins raced to create the row; the retry sees it
                    raise
        raise AssertionError("unreachable")

    def _record_failure(
        self,
        key: str,
        agent_id: uuid.UUID | None,
        workstation: str | None,
        context: dict[str, Any],
        source: Source,
    ) -> NoReturn:
        """Count the failure, lock the login when it reaches the limit, and raise."""
        policy = self.policy
        locked_for: dt.timedelta | None = None
        for attempt in range(2):
            now = self._clock()
            try:
                with Session(self._engine) as s, s.begin():
                    row = s.get(SigninThrottle, key, with_for_update=True)
                    if row is None:
                        row = SigninThrottle(login=key, failures=0, lockouts=0)
                        s.add(row)
                    if row.first_failure_at is None or now - row.first_failure_at > (
                        policy.failure_window
                    ):
                        row.failures = 0
                        row.first_failure_at = now
                    row.failures += 1
                    row.last_failure_at = now
                    entity_type = "agent" if agent_id else None
                    self._audit(
                        s,
                        actor=key,
                        action="signin.failed",
                        details={**context, "source": source, "failures": row.failures},
                        workstation=workstation,
                        entity_type=entity_type,
                        entity_id=agent_id,
                    )
                    if row.failures >= policy.max_failures:
                        if row.locked_until and now - row.locked_until > policy.lockout_memory:
                            row.lockouts = 0  # a quiet day forgives earlier lockouts
                        steps = policy.lockout_steps
                        locked_for = steps[min(row.lockouts, len(steps) - 1)]
                        row.lockouts += 1
                        row.locked_until = now + locked_for
                        row.last_lockout_at = now
                        row.failures = 0
                        row.first_failure_at = None
                        self._audit(
                            s,
                            actor=key,
                            action="signin.locked",
                            details={
                                **context,
                                "lockouts": row.lockouts,
                                "locked_seconds": _ceil_seconds(locked_for),
                            },
                            workstation=workstation,
                            entity_type=entity_type,
                            entity_id=agent_id,
                        )
                break
            except IntegrityError:
                if attempt:  # a concurrent first failure inserted the row; count on it
                    raise
        if locked_for is not None:
            raise AccountLocked(_ceil_seconds(locked_for))
        raise WrongCredentials()

    def _succeed(
        self,
        key: str,
        agent_id: uuid.UUID,
        source: Source,
        workstation: str | None,
        client_ip: str | None,
    ) -> SessionGrant:
        now = self._clock()
        token = secrets.token_urlsafe(32)
        with Session(self._engine) as s, s.begin():
            s.execute(delete(SigninThrottle).where(SigninThrottle.login == key))
            agent = s.get_one(Agent, agent_id)
            session = AuthSession(
                token_hash=token_hash(token),
                agent_id=agent_id,
                source=source,
                workstation=workstation,
                client_ip=client_ip,
                created_at=now,
                last_seen_at=now,
                expires_at=now + self.policy.session_lifetime,
            )
            s.add(session)
            s.flush()
            self._audit(
                s,
                actor=agent.login,
                action="signin.ok",
                entity_type="agent",
                entity_id=agent.id,
                details={"source": source, "session_id": str(session.id)}
                | ({"client_ip": client_ip} if client_ip else {}),
                workstation=workstation,
            )
            profile = self._profile(s, agent)
            return SessionGrant(
                token=token,
                session_id=session.id,
                agent=profile,
                source=source,
                expires_at=session.expires_at,
                idle_timeout_seconds=_ceil_seconds(self.policy.idle_timeout),
            )

    @staticmethod
    def _profile(s: Session, agent: Agent) -> AgentProfile:
        team_ids = s.scalars(
            select(agent_team.c.team_id)
            .where(agent_team.c.agent_id == agent.id)
            .order_by(agent_team.c.team_id)
        ).all()
        return AgentProfile(
            id=agent.id,
            login=agent.login,
            display_name=agent.display_name,
            role=Role(agent.role),
            interface=agent.interface,
            extension=agent.extension,
            team_ids=tuple(team_ids),
        )

    # -- sessions --

    def authenticate(self, token: str) -> SessionInfo | None:
        """The live session behind ``token``, or None (unknown, expired, idle, revoked)."""
        if not token or len(token) > 256:
            return None
        now = self._clock()
        key = token_hash(token)
        remembered = self._live.get(key)
        if remembered is not None:
            cached, read_at = remembered
            fresh = dt.timedelta(0) <= now - read_at < dt.timedelta(seconds=SESSION_CACHE_SECONDS)
            if fresh and now < cached.idle_expires_at:
                return cached
            self._forget(key)
        epoch = self._forgets
        info = self._read_session(key, now)
        with self._live_lock:
            # A sign-out or revoke that ran while we read may have committed after our
            # read: then what we read is not remembered (it is still answered once).
            if info is not None and epoch == self._forgets:
                if len(self._live) >= SESSION_CACHE_SIZE:
                    self._live.clear()  # crude but bounded; the next requests re-read
                self._live[key] = (info, now)
        return info

    def _forget(self, key: str) -> None:
        with self._live_lock:
            self._forgets += 1
            self._live.pop(key, None)

    def _forget_agent(self, agent_id: uuid.UUID) -> None:
        with self._live_lock:
            self._forgets += 1
            for key in [k for k, (info, _) in self._live.items() if info.agent.id == agent_id]:
                del self._live[key]

    def _read_session(self, key: str, now: dt.datetime) -> SessionInfo | None:
        """The live session with hash ``key`` from the database (touching ``last_seen_at``)."""
        with Session(self._engine) as s, s.begin():
            found = s.execute(
                select(AuthSession, Agent)
                .join(Agent, Agent.id == AuthSession.agent_id)
                .where(AuthSession.token_hash == key)
            ).first()
            if found is None:
                return None
            session, agent = found
            idle_end = session.last_seen_at + self.policy.idle_timeout
            if (
                session.revoked_at is not None
                or now >= session.expires_at
                or now >= idle_end
                or not agent.active
            ):
                return None
            if now - session.last_seen_at >= self.policy.touch_interval:
                # Conditional on the value read, so two instances touching at once
                # do not fight; either write is as good as the other.
                s.execute(
                    update(AuthSession)
                    .where(
                        AuthSession.id == session.id,
                        AuthSession.last_seen_at == session.last_seen_at,
                    )
                    .values(last_seen_at=now)
                )
                idle_end = now + self.policy.idle_timeout
            return SessionInfo(
                session_id=session.id,
                agent=self._profile(s, agent),
                source="ldap" if session.source == "ldap" else "password",
                workstation=session.workstation,
                created_at=session.created_at,
                expires_at=session.expires_at,
                idle_expires_at=min(idle_end, session.expires_at),
            )

    def still_live(self, tokens: list[str]) -> list[bool]:
        """Whether each token's session is still live, for many open sockets at once: one
        read (and at most one touch of ``last_seen_at``) instead of one per socket."""
        now = self._clock()
        keys = [token_hash(t) if t and len(t) <= 256 else "" for t in tokens]
        wanted = sorted({k for k in keys if k})
        live: dict[str, bool] = {}
        touch: list[uuid.UUID] = []
        with Session(self._engine) as s, s.begin():
            for start in range(0, len(wanted), 500):
                rows = s.execute(
                    select(
                        AuthSession.id,
                        AuthSession.token_hash,
                        AuthSession.revoked_at,
                        AuthSession.expires_at,
                        AuthSession.last_seen_at,
                        Agent.active,
                    )
                    .join(Agent, Agent.id == AuthSession.agent_id)
                    .where(AuthSession.token_hash.in_(wanted[start : start + 500]))
                )
                for sid, key, revoked, expires, seen, active in rows:
                    ok = (
                        revoked is None
                        and now < expires
                        and now < seen + self.policy.idle_timeout
                        and bool(active)
                    )
                    live[key] = ok
                    if ok and now - seen >= self.policy.touch_interval:
                        touch.append(sid)
            if touch:  # an open socket is a desktop in use: its session stays live
                s.execute(
                    update(AuthSession).where(AuthSession.id.in_(touch)).values(last_seen_at=now)
                )
        for key in wanted:
            if not live.get(key, False):
                self._forget(key)
        return [live.get(k, False) for k in keys]

    def sign_out(self, token: str) -> bool:
        """End the session behind ``token``; False when there was no live one."""
        if not token or len(token) > 256:
            return False
        key = token_hash(token)
        try:
            return self._sign_out(key)
        finally:
            self._forget(key)  # after the commit: no request can re-read it as live
            self._tell_ended([key], [])

    def _sign_out(self, key: str) -> bool:
        now = self._clock()
        with Session(self._engine) as s, s.begin():
            found = s.execute(
                select(AuthSession, Agent)
                .join(Agent, Agent.id == AuthSession.agent_id)
                .where(AuthSession.token_hash == key)
                .with_for_update(of=AuthSession)
            ).first()
            if found is None:
                return False
            session, agent = found
            if session.revoked_at is not None:
                return False
            session.revoked_at = now
            session.revoked_reason = "signed_out"
            self._audit(
                s,
                actor=agent.login,
                action="signout",
                entity_type="agent",
                entity_id=agent.id,
                details={"session_id": str(session.id)},
                workstation=session.workstation,
            )
            return True

    def revoke_agent(self, agent_id: uuid.UUID, *, actor: str, reason: str | None = None) -> int:
        """Revoke every open session of an agent (deactivation, suspected compromise).

        ``actor`` is the server-side identity doing it (the admin's login, or
        ``"system"``); returns how many sessions were ended.
        """
        try:
            return self._revoke_agent(agent_id, actor=actor, reason=reason)
        finally:
            self._forget_agent(agent_id)  # after the commit: no request can re-read it as live
            self._tell_ended([], [agent_id])

    def close(self) -> None:
        """Stop the password-check threads (the server's shutdown)."""
        self._checks.close()

    def forget_ended(self, *, tokens: list[str], agents: list[uuid.UUID]) -> None:
        """Sessions another server instance ended: forget them here at once (token hashes)."""
        for key in tokens:
            self._forget(key)
        for agent_id in agents:
            self._forget_agent(agent_id)

    def _tell_ended(self, tokens: list[str], agents: list[uuid.UUID]) -> None:
        told = self.on_ended
        if told is None:
            return
        try:
            told(tokens, agents)
        except Exception:  # the database is the truth; a lost notice costs at most the cache
            log.exception("signin: telling other instances of an ended session failed")

    def _revoke_agent(self, agent_id: uuid.UUID, *, actor: str, reason: str | None) -> int:
        now = self._clock()
        with Session(self._engine) as s, s.begin():
            ended = _rowcount(
                s.execute(
                    update(AuthSession)
                    .where(AuthSession.agent_id == agent_id, AuthSession.revoked_at.is_(None))
                    .where(AuthSession.expires_at > now)
                    .values(revoked_at=now, revoked_reason="revoked")
                )
            )
            self._audit(
                s,
                actor=actor,
                action="sessions.revoked",
                entity_type="agent",
                entity_id=agent_id,
                reason=reason,
                details={"sessions": ended},
            )
            return int(ended)

    def purge_sessions(self) -> int:
        """Delete sessions that ended longer than ``session_retention`` ago (a periodic job)."""
        cutoff = self._clock() - self.policy.session_retention
        with Session(self._engine) as s, s.begin():
            return _rowcount(s.execute(delete(AuthSession).where(AuthSession.expires_at < cutoff)))
