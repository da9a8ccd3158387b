"""Sign-in against the bank's directory over LDAP (``ldap3``), with group → role mapping.

The directory decides whether the password is right and which agentdesk
role the person has; ``SignInService`` then mirrors name and role into the
local ``agent`` row (with no password hash) and opens a session.

Two ways to find the user's entry:

* **bind DN pattern** (``bind_dn = "uid={login},ou=people,dc=bank,dc=test"``):
  bind straight as the user; no service account needed.
* **search, then bind** (``service_dn`` + a password from the keyring or a
  0600 file): the service account finds the entry with ``user_filter`` under
  ``user_base``, then the user's own password is checked with a bind to that DN.

Groups are read with ``group_filter`` under ``group_base`` (``{user_dn}`` and
``{login}`` are filled in, escaped); each group's ``cn`` (or full DN) is looked
up in ``group_roles`` and the highest role wins. A user in no mapped group is
refused (``NotEntitled``). A directory that cannot be reached, or refuses the
service account, raises ``DirectoryUnavailable``: there is no fallback to a
hash kept elsewhere.

TOML (``[ldap]`` table; read with ``DirectoryConfig.from_mapping``)::

    [ldap]
    url = "ldaps://dc1.bank.example:636"    # or ldap://…:389 with start_tls = true
    start_tls = false
    ca_file = "/etc/agentdesk/bank-ca.pem"  # verifies the directory's certificate
    timeout_seconds = 5
    # either:
    bind_dn = "uid={login},ou=people,dc=bank,dc=example"
    # or search-then-bind:
    service_dn = "cn=agentdesk,ou=services,dc=bank,dc=example"
    service_password_keyring = "ldap-service"     # entry in the OS keyring (agentdesk.vault)
    service_password_file = "/etc/agentdesk/ldap.secret"   # or a 0600 file
    user_base = "ou=people,dc=bank,dc=example"
    user_filter = "(&(objectClass=inetOrgPerson)(uid={login}))"
    display_name_attributes = ["displayName", "cn"]
    group_base = "ou=groups,dc=bank,dc=example"
    group_filter = "(&(objectClass=groupOfNames)(member={user_dn}))"

    [ldap.group_roles]
    "cc-agents" = "agent"
    "cc-supervisors" = "supervisor"
    "cc-admins" = "admin"

Plain ``ldap://`` without StartTLS sends the password in clear; it is
accepted only for a loopback host (the tests' slapd).
"""

from __future__ import annotations

import ssl
import stat
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

with warnings.catch_warnings():
    # ldap3 2.9.1 imports pyasn1's old tagMap/typeMap names, which pyasn1 >= 0.6.1 marks
    # deprecated at import; harmless, and not ours to fix. ldap3 ships no type information.
    warnings.simplefilter("ignore", DeprecationWarning)
    import ldap3  # type: ignore[import-untyped]
    from ldap3.core.exceptions import LDAPException  # type: ignore[import-untyped]
    from ldap3.utils.conv import escape_filter_chars  # type: ignore[import-untyped]
    from ldap3.utils.dn import escape_rdn  # type: ignore[import-untyped]

from agentdesk import vault
from agentdesk.models import Role
from agentdesk.services.platform.signin import DirectoryUnavailable, DirectoryUser

# Highest first: a member of both the agent and admin groups is an admin.
_ROLE_RANK = {Role.ADMIN: 3, Role.SUPERVISOR: 2, Role.AGENT: 1}
_INVALID_CREDENTIALS = 49
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class DirectoryConfigError(ValueError):
    """The ``[ldap]`` settings cannot work; the message names the setting."""


@dataclass(frozen=True)
class DirectoryConfig:
    """Where the directory is and how its users and groups map onto agentdesk."""

    url: str
    group_roles: Mapping[str, Role]
    start_tls: bool = False
    ca_file: str | None = None
    timeout_seconds: float = 5.0
    bind_dn: str | None = None
    service_dn: str | None = None
    service_password: str | None = field(default=None, repr=False)
    service_password_keyring: str | None = None
    service_password_file: str | None = None
    user_base: str = ""
    user_filter: str = "(&(objectClass=inetOrgPerson)(uid={login}))"
    display_name_attributes: tuple[str, ...] = ("displayName", "cn")
    group_base: str = ""
    group_filter: str = "(&(objectClass=groupOfNames)(member={user_dn}))"

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
            raise DirectoryConfigError(f"ldap.url must be ldap://host or ldaps://host: {self.url}")
        if parts.scheme == "ldap" and not self.start_tls and parts.hostname not in _LOOPBACK:
            raise DirectoryConfigError(
                "ldap.url is plain ldap:// to a remote host: passwords would cross the network "
                "in clear. Use ldaps:// or set ldap.start_tls = true."
            )
        if parts.scheme == "ldaps" and self.start_tls:
            raise DirectoryConfigError("ldap.start_tls applies to ldap:// URLs, not ldaps://")
        if bool(self.bind_dn) == bool(self.service_dn):
            raise DirectoryConfigError(
                "set exactly one of ldap.bind_dn (bind as the user) and ldap.service_dn "
                "(search, then bind)"
            )
        if self.bind_dn and "{login}" not in self.bind_dn:
            raise DirectoryConfigError("ldap.bind_dn must contain {login}")
        if self.service_dn and not self.user_base:
            raise DirectoryConfigError("ldap.user_base is needed with ldap.service_dn")
        if not self.group_base:
            raise DirectoryConfigError("ldap.group_base is needed to map groups to roles")
        if not self.group_roles:
            raise DirectoryConfigError("ldap.group_roles maps no group to a role")
        object.__setattr__(
            self, "group_roles", {k.strip().lower(): Role(v) for k, v in self.group_roles.items()}
        )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> DirectoryConfig:
        """Build from the ``[ldap]`` TOML table (keys in the module docstring)."""
        known = {f for f in cls.__dataclass_fields__ if f != "service_password"}
        unknown = set(data) - known
        if unknown:
            raise DirectoryConfigError(f"unknown [ldap] settings: {', '.join(sorted(unknown))}")
        if "url" not in data:
            raise DirectoryConfigError("ldap.url is required")
        kwargs = dict(data)
        try:
            kwargs["group_roles"] = {
                str(k): Role(str(v)) for k, v in dict(data.get("group_roles", {})).items()
            }
        except ValueError as exc:
            raise DirectoryConfigError(
                "ldap.group_roles values must be agent, supervisor or admin"
            ) from exc
        if "display_name_attributes" in data:
            kwargs["display_name_attributes"] = tuple(data["display_name_attributes"])
        return cls(**kwargs)


def read_service_password(config: DirectoryConfig) -> str | None:
    """The search account's password: given directly, from the keyring, or a 0600 file."""
    if config.service_password is not None:
        return config.service_password
    if config.service_password_keyring:
        secret = vault.get_secret(config.service_password_keyring)
        if secret is None:
            raise DirectoryConfigError(
                f"no keyring entry '{config.service_password_keyring}' for the LDAP service "
                "account (ldap.service_password_keyring)"
            )
        return secret
    if config.service_password_file:
        path = Path(config.service_password_file)
        try:
            mode = path.stat().st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise DirectoryConfigError(
                    f"{path} is readable by other users; chmod 600 it (ldap.service_password_file)"
                )
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise DirectoryConfigError(f"cannot read ldap.service_password_file: {exc}") from exc
    return None


class LdapDirectory:
    """A ``Directory`` backed by an LDAP server; one short connection per sign-in."""

    def __init__(self, config: DirectoryConfig) -> None:
        self.config = config
        self._service_password = read_service_password(config) if config.service_dn else None
        if config.service_dn and not self._service_password:
            raise DirectoryConfigError(
                "ldap.service_dn is set but no password for it: set "
                "ldap.service_password_keyring or ldap.service_password_file"
            )
        self._tls = None
        if urlsplit(config.url).scheme == "ldaps" or config.start_tls:
            self._tls = ldap3.Tls(
                validate=ssl.CERT_REQUIRED,
                ca_certs_file=config.ca_file,
                version=ssl.PROTOCOL_TLS_CLIENT,
            )

    def _server(self) -> Any:
        # A fresh Server per sign-in: ldap3 remembers an address that failed once as
        # unavailable for minutes, which would outlast a directory restart.
        return ldap3.Server(
            self.config.url,
            use_ssl=urlsplit(self.config.url).scheme == "ldaps",
            tls=self._tls,
            connect_timeout=self.config.timeout_seconds,
            get_info=ldap3.NONE,
        )

    # ldap3 raises for socket trouble and returns False with conn.result for protocol
    # answers; both are funnelled into three outcomes: user, None, DirectoryUnavailable.

    def _connect(self, dn: str | None, password: str | None) -> Any:
        conn = ldap3.Connection(
            self._server(),
            user=dn,
            password=password,
            receive_timeout=self.config.timeout_seconds,
            raise_exceptions=False,
            auto_bind=ldap3.AUTO_BIND_NONE,
            read_only=True,
        )
        try:
            conn.open()
            if self.config.start_tls and not conn.start_tls():
                raise DirectoryUnavailable(f"StartTLS refused: {conn.result.get('description')}")
        except (LDAPException, DirectoryUnavailable):
            # ldap3 leaves the socket of a failed connect open; close it here.
            sock = getattr(conn, "socket", None)
            if sock is not None:
                sock.close()
            conn.unbind()
            raise
        return conn

    def _bind(self, dn: str, password: str) -> Any | None:
        """A bound connection, None for a wrong password, or DirectoryUnavailable."""
        conn = self._connect(dn, password)
        if conn.bind():
            return conn
        code = conn.result.get("result")
        conn.unbind()
        if code == _INVALID_CREDENTIALS:
            return None
        raise DirectoryUnavailable(f"bind failed: {conn.result.get('description')}")

    def authenticate(self, login: str, password: str) -> DirectoryUser | None:
        if not password:
            # An LDAP simple bind with an empty password is an *anonymous* bind and
            # succeeds: it must never count as a correct password.
            return None
        conns: list[Any] = []
        try:
            if self.config.bind_dn:
                user_dn = self.config.bind_dn.format(login=escape_rdn(login))
                reader = self._bind(user_dn, password)
                if reader is None:
                    return None
                conns.append(reader)
                entry = self._read_user(reader, user_dn, base=user_dn, login=login)
            else:
                assert self.config.service_dn is not None
                reader = self._bind(self.config.service_dn, self._service_password or "")
                if reader is None:
                    raise DirectoryUnavailable("the directory refused the service account")
                conns.append(reader)
                entry = self._read_user(reader, None, base=self.config.user_base, login=login)
                if entry is None:
                    return None
                user_conn = self._bind(entry[0], password)
                if user_conn is None:
                    return None
                conns.append(user_conn)
            if entry is None:
                return None
            user_dn, display_name = entry
            groups = self._groups(reader, user_dn, login)
            return DirectoryUser(
                login=login,
                dn=user_dn,
                display_name=display_name or login,
                groups=groups,
                role=self._role(groups),
            )
        except LDAPException as exc:
            raise DirectoryUnavailable(f"{type(exc).__name__}: {exc}") from exc
        finally:
            for conn in conns:
                conn.unbind()

    def _read_user(
        self, conn: Any, dn: str | None, *, base: str, login: str
    ) -> tuple[str, str] | None:
        """(DN, display name) of the user's entry, or None when there is not exactly one."""
        attrs = list(self.config.display_name_attributes)
        user_filter = self.config.user_filter.format(login=escape_filter_chars(login))
        scope = ldap3.BASE if dn else ldap3.SUBTREE
        ok = conn.search(base, user_filter, search_scope=scope, attributes=attrs, size_limit=2)
        if not ok and conn.result.get("result") not in (0, 32):  # 32: no such object
            raise DirectoryUnavailable(f"user search failed: {conn.result.get('description')}")
        entries = [e for e in conn.response or [] if e.get("type") == "searchResEntry"]
        if len(entries) != 1:
            return None
        entry = entries[0]
        values: Mapping[str, Any] = entry.get("attributes", {})
        name = ""
        for attr in attrs:
            value = values.get(attr)
            if isinstance(value, list):
                value = value[0] if value else None
            if value:
                name = str(value)
                break
        return str(entry["dn"]), name

    def _groups(self, conn: Any, user_dn: str, login: str) -> tuple[str, ...]:
        group_filter = self.config.group_filter.format(
            user_dn=escape_filter_chars(user_dn), login=escape_filter_chars(login)
        )
        ok = conn.search(
            self.config.group_base, group_filter, search_scope=ldap3.SUBTREE, attributes=["cn"]
        )
        if not ok and conn.result.get("result") not in (0, 32):
            raise DirectoryUnavailable(f"group search failed: {conn.result.get('description')}")
        groups: list[str] = []
        for entry in conn.response or []:
            if entry.get("type") != "searchResEntry":
                continue
            groups.append(str(entry["dn"]))
        return tuple(groups)

    def _role(self, groups: tuple[str, ...]) -> Role | None:
        best: Role | None = None
        for group_dn in groups:
            cn = group_dn.split(",", 1)[0].partition("=")[2]
            for key in (group_dn.lower(), cn.lower()):
                role = self.config.group_roles.get(key)
                if role is not None and (best is None or _ROLE_RANK[role] > _ROLE_RANK[best]):
                    best = role
        return best


def directory_from_config(data: Mapping[str, Any] | None) -> LdapDirectory | None:
    """The directory for an ``[ldap]`` table, or None when the table is absent or empty."""
    if not data:
        return None
    return LdapDirectory(DirectoryConfig.from_mapping(data))


__all__ = [
    "DirectoryConfig",
    "DirectoryConfigError",
    "LdapDirectory",
    "directory_from_config",
    "read_service_password",
]
