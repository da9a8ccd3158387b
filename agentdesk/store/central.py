"""Open the central store named by the settings, with its password from the keyring."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from agentdesk.config import Settings
from agentdesk.store.engine import central_engine
from agentdesk.vault import KeyringUnavailable, get_secret


def open_central(settings: Settings) -> Engine:
    """Engine for the configured central store (embedded SQLite when none is configured).

    A PostgreSQL URL without a password takes it from the keyring entry named
    by ``central.password_key``; with no keyring, the connection is attempted
    without one (peer or trust authentication still work) and a refused login
    reports the keyring problem.
    """
    url = settings.central_url
    password = None
    if make_url(url).get_backend_name() == "postgresql" and make_url(url).password is None:
        try:
            password = get_secret(settings.central.password_key)
        except KeyringUnavailable:
            password = None
    return central_engine(url, password)
