"""A shift-start sign-in storm: the server says busy (503, Retry-After) instead of queueing
Argon2 checks without end, and the desktop's client shows that message (not 'offline')."""

from __future__ import annotations

import threading

import pytest

from agentdesk.client.api import ServerApi, ServerRefused
from agentdesk.services.platform.password_checks import PasswordChecks
from tests.server.conftest import PASSWORD, RunningServer
from tests.services.platform.test_password_checks import _blocked


def test_sign_in_while_every_checker_is_taken_is_a_503_with_retry_after(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    checks = PasswordChecks(workers=1, wait=0.2, retry_after=4)
    monkeypatch.setattr(server.ctx.signin, "_checks", checks)
    release, _running, holder = _blocked(checks)
    try:
        r = httpx.post(
            server.url + "/api/v1/session",
            json={"login": "alice", "password": PASSWORD, "workstation": "ws-1"},
            timeout=10,
        )
        assert r.status_code == 503, r.text
        assert r.headers["Retry-After"] == "4"
        assert r.json()["type"].endswith("signin-busy")
        api = ServerApi(server.url)
        try:
            with pytest.raises(ServerRefused) as refused:
                api.sign_in("alice", PASSWORD, "ws-1")
        finally:
            api.close()
        assert "busy signing in many agents" in str(refused.value)
        release.set()
        holder.join(10)
        again = ServerApi(server.url)  # the checker free again: signed in
        try:
            assert again.sign_in("alice", PASSWORD, "ws-1").agent_id is not None
        finally:
            again.close()
    finally:
        release.set()
        holder.join(10)
        checks.close()


def test_closing_the_checks_ends_their_threads_and_a_later_check_still_runs() -> None:
    """The server closes its checks at shutdown (no thread left per stopped server); a
    server started again in the same process checks passwords as before."""
    before = set(threading.enumerate())
    checks = PasswordChecks(workers=1)
    assert checks.run(lambda: True)
    (worker,) = [t for t in threading.enumerate() if t not in before]
    assert worker.name.startswith("password-check")
    checks.close()
    worker.join(5)
    assert not worker.is_alive()
    assert checks.run(lambda: True)
    checks.close()
