"""Signing the desktop in: at the server when it answers, offline within the policy window.

Online, the server checks the password (or the bank's directory) and opens
a session; the desktop then refreshes its offline verifier in the OS
keyring. When the server cannot be reached, the verifier alone may sign the
agent in for a limited time after their last online sign-in on this
workstation: they can work from the cache, and everything waits in the
outbox until the server is back (a real session is needed to send it).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from agentdesk import vault
from agentdesk.client.api import ServerApi, ServerRefused, ServerUnavailable, SignedIn
from agentdesk.client.offline_signin import (
    OfflineSignInRefused,
    check_offline,
    remember_online_signin,
)
from agentdesk.models import Role
from agentdesk.services.platform.auth import AgentIdentity, StoreUnreachable, WrongCredentials

log = logging.getLogger(__name__)


class DesktopSignIn:
    """``authenticate(login, password) -> AgentIdentity`` for the sign-in dialog."""

    def __init__(self, api: ServerApi, workstation: str) -> None:
        self._api = api
        self._workstation = workstation
        self.grant: SignedIn | None = None
        self.offline = False

    def authenticate(self, login: str, password: str) -> AgentIdentity:
        login = login.strip()
        if not login or not password:
            raise WrongCredentials("Enter your agent id and password.")
        try:
            grant = self._api.sign_in(login, password, self._workstation)
        except ServerUnavailable as exc:
            return self._offline(login, password, str(exc))
        except ServerRefused as exc:
            raise WrongCredentials(str(exc)) from exc
        self.grant, self.offline = grant, False
        try:
            remember_online_signin(
                password,
                agent_id=grant.agent_id,
                login=grant.login,
                display_name=grant.display_name,
                role=grant.role.value,
                interface=grant.interface,
                extension=grant.extension,
                team_ids=sorted(grant.team_ids),
                now=dt.datetime.now(dt.UTC),
            )
        except vault.KeyringUnavailable:
            log.info("no keyring: offline sign-in will not be possible on this workstation")
        return AgentIdentity(
            grant.agent_id,
            grant.login,
            grant.display_name,
            grant.role,
            grant.interface,
            grant.extension,
            "central",
        )

    def _offline(self, login: str, password: str, why: str) -> AgentIdentity:
        try:
            found = check_offline(login, password, now=dt.datetime.now(dt.UTC))
        except OfflineSignInRefused as exc:
            raise StoreUnreachable(f"{exc} ({why})") from exc
        self.grant, self.offline = None, True
        return AgentIdentity(
            found.id,
            found.login,
            found.display_name,
            Role(found.role),
            found.interface,
            found.extension,
            "local",
        )


def unlock_verifier(
    api: ServerApi | None, login: str, workstation: str
) -> Callable[[str], bool | str]:
    """``verify(password)`` for the idle lock: the server when it answers, else offline.

    Online, a fresh session replaces the current one (which is then signed out), so an
    unlock also renews the session.
    """

    def verify(password: str) -> bool | str:
        if api is not None:
            old = api.token
            try:
                api.sign_in(login, password, workstation)
            except ServerUnavailable:
                pass  # fall through to the offline verifier
            except ServerRefused as exc:
                api.token = old
                return False if exc.kind == "wrong-credentials" else str(exc)
            else:
                if old and old != api.token:
                    _sign_out_token(api, old)
                return True
        try:
            check_offline(login, password, now=dt.datetime.now(dt.UTC))
        except OfflineSignInRefused as exc:
            return str(exc)
        return True

    return verify


def _sign_out_token(api: ServerApi, token: str) -> None:
    current, api.token = api.token, token
    try:
        api.sign_out()
    finally:
        api.token = current
