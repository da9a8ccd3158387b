"""The desktop's HTTPS client for ``agentdesk server``: one session, typed errors, problem+json.

Thread-safe (one ``httpx.Client`` with a connection pool); every call has a
timeout. Transport failures and 502–504 become :class:`ServerUnavailable`
(a transient ``SyncError``: the outbox keeps the work and the sync engine
backs off); a 401 becomes :class:`SessionEnded` so the desktop can ask the
agent to sign in again; other refusals carry the server's own message.
"""

from __future__ import annotations

import datetime as dt
import logging
import ssl
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from agentdesk.models import Role
from agentdesk.store.sync.protocol import CentralUnavailable, SessionExpired, SyncError

log = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(10.0, connect=3.0)
# A connection that broke (or could not open) without a timeout: worth one more try.
_DROPPED = (httpx.ConnectError, httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)
SNAPSHOT_TIMEOUT = httpx.Timeout(120.0, connect=3.0)


class ServerUnavailable(CentralUnavailable):
    """The server cannot be reached or answered "try later" (transient)."""


class SessionEnded(SessionExpired):
    """The session expired or was revoked: sign in again (pending work stays queued)."""


class ServerRefused(SyncError):
    """The server refused the request; ``str()`` is its explanation for people."""

    def __init__(self, status: int, kind: str, detail: str, body: dict[str, Any]) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.body = body


@dataclass(frozen=True)
class SignedIn:
    """What the server told us at sign-in."""

    token: str
    session_id: uuid.UUID
    agent_id: uuid.UUID
    login: str
    display_name: str
    role: Role
    interface: str | None
    extension: str | None
    team_ids: frozenset[uuid.UUID]
    expires_at: dt.datetime
    idle_timeout_seconds: int | None
    full_replica: bool


def tls_context(ca_file: Path | None) -> ssl.SSLContext | bool:
    """Verify against the site's CA when given, else the system's trust store."""
    if ca_file is None:
        return True
    return ssl.create_default_context(cafile=str(ca_file))


class ServerApi:
    """HTTP calls to one server with this desktop's session token."""

    def __init__(self, base_url: str, *, ca_file: Path | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.verify = tls_context(ca_file)
        self._http = httpx.Client(
            base_url=self.base_url + "/api/v1",
            verify=self.verify,
            timeout=TIMEOUT,
            headers={"User-Agent": "agentdesk-desktop"},
        )
        self.token: str | None = None

    def close(self) -> None:
        self._http.close()

    # --- plumbing --------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """JSON in, JSON out; raises the typed errors above.

        A GET whose connection broke before an answer (the server instance died, a load
        balancer reloaded, a pooled connection was closed under us) is sent once more on
        a fresh connection, which reaches a live instance: a look-up then succeeds instead
        of showing the agent an error. Writes are not repeated here: the sync engine
        retries its pushes (idempotent by mutation id) and the agent decides on the rest.
        Timeouts are not repeated either (the wait would double).
        """
        try:
            response = self._http.request(method, path, headers=self._headers(), **kwargs)
        except _DROPPED as exc:
            if method != "GET":
                raise ServerUnavailable(
                    f"the server is unreachable ({type(exc).__name__})"
                ) from exc
            log.info("%s %s: connection dropped (%s); sent again", method, path, type(exc).__name__)
            response = self._send_again(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ServerUnavailable(f"the server is unreachable ({type(exc).__name__})") from exc
        return self.check(response)

    def _send_again(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, headers=self._headers(), **kwargs)
        except httpx.TransportError as exc:
            raise ServerUnavailable(f"the server is unreachable ({type(exc).__name__})") from exc

    def check(self, response: httpx.Response) -> Any:
        if response.status_code < 400:
            return None if response.status_code == 204 else response.json()
        try:
            body = response.json()
        except ValueError:
            body = {}
        detail = str(body.get("detail") or response.reason_phrase or "refused")
        kind = str(body.get("type", "")).rsplit("/", 1)[-1]
        status = response.status_code
        if status in (502, 503, 504) and kind not in (
            "directory-unavailable",
            "no-field-key",
            "signin-busy",  # the server is up: say its message rather than go offline
        ):
            raise ServerUnavailable(detail)
        if status == 401 and kind != "wrong-credentials":
            raise SessionEnded(detail)
        raise ServerRefused(status, kind, detail, body)

    def stream(self, path: str, params: dict[str, Any]) -> Any:
        """A streamed GET (the cache fill); the caller iterates ``iter_lines()``."""
        return self._http.stream(
            "GET", path, params=params, headers=self._headers(), timeout=SNAPSHOT_TIMEOUT
        )

    # --- session ---------------------------------------------------------------------------

    def sign_in(self, login: str, password: str, workstation: str | None) -> SignedIn:
        body = self.request(
            "POST",
            "/session",
            json={"login": login, "password": password, "workstation": workstation},
        )
        agent = body["agent"]
        self.token = body["token"]
        return SignedIn(
            token=body["token"],
            session_id=uuid.UUID(body["session_id"]),
            agent_id=uuid.UUID(agent["id"]),
            login=agent["login"],
            display_name=agent["display_name"],
            role=Role(agent["role"]),
            interface=agent.get("interface"),
            extension=agent.get("extension"),
            team_ids=frozenset(uuid.UUID(t) for t in agent["team_ids"]),
            expires_at=dt.datetime.fromisoformat(body["expires_at"]),
            idle_timeout_seconds=body.get("idle_timeout_seconds"),
            full_replica=bool(body.get("full_replica")),
        )

    def sign_out(self) -> None:
        if self.token is None:
            return
        try:
            self.request("DELETE", "/session")
        except SyncError as exc:
            log.info("sign-out not confirmed by the server: %s", exc)
        self.token = None

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + (
            "/api/v1/live"
        )
