"""Directory sign-in against a real OpenLDAP slapd on loopback (tests/support/slapd.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from agentdesk import vault
from agentdesk.models import Agent, AuditEntry, Role
from agentdesk.services.platform.ldap_directory import (
    DirectoryConfig,
    DirectoryConfigError,
    LdapDirectory,
    directory_from_config,
)
from agentdesk.services.platform.signin import (
    DIRECTORY_MARKER,
    DirectoryUnavailable,
    NotEntitled,
    SignInPolicy,
    SignInService,
    WrongCredentials,
)
from tests.services.platform.conftest import PASSWORD, Clock, add_agent
from tests.support import slapd as ldap_tree
from tests.support.slapd import SlapdServer

ROLES = {"cc-agents": "agent", "cc-supervisors": "supervisor", "cc-admins": "admin"}


def search_config(server: SlapdServer, **extra: object) -> dict[str, object]:
    return {
        "url": server.url,
        "service_dn": ldap_tree.SERVICE_DN,
        "service_password_keyring": "ldap-service",
        "user_base": ldap_tree.PEOPLE,
        "group_base": ldap_tree.GROUPS,
        "group_roles": ROLES,
        "timeout_seconds": 3,
        **extra,
    }


def bind_config(server: SlapdServer) -> dict[str, object]:
    return {
        "url": server.url,
        "bind_dn": f"uid={{login}},{ldap_tree.PEOPLE}",
        "group_base": ldap_tree.GROUPS,
        "group_roles": ROLES,
        "timeout_seconds": 3,
    }


@pytest.fixture
def directory(slapd: SlapdServer, memory_keyring: vault.MemoryKeyring) -> LdapDirectory:
    vault.set_secret("ldap-service", ldap_tree.SERVICE_PASSWORD)
    found = directory_from_config(search_config(slapd))
    assert found is not None
    return found


@pytest.mark.parametrize("mode", ["search-then-bind", "bind-dn"])
def test_directory_maps_groups_to_roles(
    slapd: SlapdServer, memory_keyring: vault.MemoryKeyring, mode: str
) -> None:
    vault.set_secret("ldap-service", ldap_tree.SERVICE_PASSWORD)
    config = search_config(slapd) if mode == "search-then-bind" else bind_config(slapd)
    directory = LdapDirectory(DirectoryConfig.from_mapping(config))
    alice = directory.authenticate("alice", "alice-pw")
    assert alice is not None and alice.role is Role.AGENT and alice.display_name == "Alice A."
    bob = directory.authenticate("bob", "bob-pw")
    assert bob is not None and bob.role is Role.SUPERVISOR and bob.display_name == "Bob Baker"
    dave = directory.authenticate("dave", "dave-pw")
    assert dave is not None and dave.role is Role.ADMIN  # highest mapped group wins
    carol = directory.authenticate("carol", "carol-pw")
    assert carol is not None and carol.role is None  # only in "canteen"
    assert directory.authenticate("alice", "bob-pw") is None
    assert directory.authenticate("nobody", "x") is None
    assert directory.authenticate("alice", "") is None  # never an anonymous bind
    assert directory.authenticate("*", "alice-pw") is None  # filter characters escaped
    assert directory.authenticate("alice,ou=x", "alice-pw") is None


def test_sign_in_creates_the_agent_from_the_directory(
    central: Engine, clock: Clock, directory: LdapDirectory
) -> None:
    auth = SignInService(central, directory=directory, clock=clock)
    grant = auth.sign_in("Bob", "bob-pw", workstation="ws-1", client_ip=None)
    assert grant.source == "ldap" and grant.agent.role is Role.SUPERVISOR
    assert grant.agent.login == "bob" and grant.agent.display_name == "Bob Baker"
    with Session(central) as s:
        bob = s.scalars(select(Agent).where(Agent.login == "bob")).one()
        assert bob.password_hash == DIRECTORY_MARKER  # no hash kept for directory users
        actions = s.scalars(select(AuditEntry.action)).all()
    assert actions == ["signin.ok"]
    info = auth.authenticate(grant.token)
    assert info is not None and info.source == "ldap"


def test_directory_replaces_a_stale_local_hash_and_updates_the_role(
    central: Engine, clock: Clock, directory: LdapDirectory
) -> None:
    add_agent(central, "alice", role=Role.ADMIN)  # seeded locally, with a local password
    auth = SignInService(central, directory=directory, clock=clock)
    with pytest.raises(WrongCredentials):
        auth.sign_in("alice", PASSWORD, workstation=None, client_ip=None)
    grant = auth.sign_in("alice", "alice-pw", workstation=None, client_ip=None)
    assert grant.agent.role is Role.AGENT and grant.agent.display_name == "Alice A."
    with Session(central) as s:
        assert s.scalars(select(Agent.password_hash)).one() == DIRECTORY_MARKER


def test_wrong_directory_password_counts_towards_lockout(
    central: Engine, clock: Clock, directory: LdapDirectory
) -> None:
    auth = SignInService(
        central, policy=SignInPolicy(max_failures=5), directory=directory, clock=clock
    )
    for _ in range(4):
        with pytest.raises(WrongCredentials, match="Wrong agent id or password"):
            auth.sign_in("alice", "nope", workstation=None, client_ip=None)
    with pytest.raises(Exception, match="Too many failed sign-ins"):
        auth.sign_in("alice", "nope", workstation=None, client_ip=None)
    with pytest.raises(Exception, match="Too many failed sign-ins"):
        auth.sign_in("alice", "alice-pw", workstation=None, client_ip=None)


def test_user_in_no_mapped_group_is_refused_clearly(
    central: Engine, clock: Clock, directory: LdapDirectory
) -> None:
    auth = SignInService(central, directory=directory, clock=clock)
    with pytest.raises(NotEntitled, match="not a member of any agentdesk group"):
        auth.sign_in("carol", "carol-pw", workstation="ws-1", client_ip=None)
    with Session(central) as s:
        assert s.scalars(select(Agent)).all() == []
        entry = s.scalars(select(AuditEntry)).one()
    assert entry.action == "signin.refused_no_role" and entry.actor == "carol"


def test_directory_down_is_a_clear_error_and_no_fallback(
    central: Engine, clock: Clock, memory_keyring: vault.MemoryKeyring, tmp_path: Path
) -> None:
    add_agent(central, "alice")  # a local hash exists, and must not be used
    with ldap_tree.running_slapd() as server:
        vault.set_secret("ldap-service", ldap_tree.SERVICE_PASSWORD)
        directory = LdapDirectory(DirectoryConfig.from_mapping(search_config(server)))
        auth = SignInService(central, directory=directory, clock=clock)
        auth.sign_in("alice", "alice-pw", workstation=None, client_ip=None)
        server.stop()
        for password in ("alice-pw", PASSWORD):
            with pytest.raises(DirectoryUnavailable, match="directory \\(LDAP\\) is not answering"):
                auth.sign_in("alice", password, workstation=None, client_ip=None)
        server.start()
        auth.sign_in("alice", "alice-pw", workstation=None, client_ip=None)
    with Session(central) as s:
        actions = s.scalars(select(AuditEntry.action).order_by(AuditEntry.at)).all()
    assert actions.count("signin.directory_unavailable") == 2
    assert "signin.failed" not in actions  # an outage is not the agent's failure


def test_local_break_glass_account_signs_in_while_the_directory_is_down(
    central: Engine, clock: Clock
) -> None:
    add_agent(central, "admin", role=Role.ADMIN)
    with ldap_tree.running_slapd() as server:
        config = DirectoryConfig.from_mapping(bind_config(server))
    directory = LdapDirectory(config)  # the server is gone now
    auth = SignInService(
        central,
        policy=SignInPolicy(local_accounts=frozenset({"admin"})),
        directory=directory,
        clock=clock,
    )
    assert auth.sign_in("admin", PASSWORD, workstation=None, client_ip=None).source == "password"
    with pytest.raises(DirectoryUnavailable):
        auth.sign_in("alice", "alice-pw", workstation=None, client_ip=None)


def test_config_is_checked(tmp_path: Path, memory_keyring: vault.MemoryKeyring) -> None:
    base = {"group_base": "ou=g", "group_roles": ROLES}
    with pytest.raises(DirectoryConfigError, match="in clear"):
        DirectoryConfig.from_mapping({"url": "ldap://dc1.bank", "bind_dn": "uid={login}", **base})
    DirectoryConfig.from_mapping(
        {"url": "ldap://dc1.bank", "start_tls": True, "bind_dn": "uid={login}", **base}
    )
    with pytest.raises(DirectoryConfigError, match="exactly one"):
        DirectoryConfig.from_mapping({"url": "ldaps://dc1.bank", **base})
    with pytest.raises(DirectoryConfigError, match="agent, supervisor or admin"):
        DirectoryConfig.from_mapping(
            {
                "url": "ldaps://dc1",
                "bind_dn": "uid={login}",
                "group_base": "x",
                "group_roles": {"g": "root"},
            }
        )
    with pytest.raises(DirectoryConfigError, match="unknown"):
        DirectoryConfig.from_mapping({"url": "ldaps://dc1", "bindDN": "x", **base})
    secret = tmp_path / "ldap.secret"
    secret.write_text("s3cret\n")
    os.chmod(secret, 0o644)
    config = {
        "url": "ldaps://dc1",
        "service_dn": "cn=svc",
        "user_base": "ou=p",
        "service_password_file": str(secret),
        **base,
    }
    with pytest.raises(DirectoryConfigError, match="chmod 600"):
        LdapDirectory(DirectoryConfig.from_mapping(config))
    os.chmod(secret, 0o600)
    LdapDirectory(DirectoryConfig.from_mapping(config))
    with pytest.raises(DirectoryConfigError, match="no keyring entry"):
        LdapDirectory(
            DirectoryConfig.from_mapping(
                {**config, "service_password_file": None, "service_password_keyring": "missing"}
            )
        )
    assert directory_from_config(None) is None and directory_from_config({}) is None
