"""``/ready`` answers from a background database probe: a busy instance (every pooled
connection taken) stays in HAProxy's rotation; a failed or stuck check takes it out."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import create_engine

from agentdesk.server.api import health
from agentdesk.server.api.health import DatabaseProbe
from tests.server.conftest import RunningServer


@pytest.mark.parametrize("central", ["postgres"], indirect=True)
def test_ready_answers_at_once_while_every_pooled_connection_is_busy(
    server: RunningServer,
) -> None:
    assert httpx.get(server.url + "/ready", timeout=10).status_code == 200
    engine = server.ctx.engine
    held = [engine.connect() for _ in range(engine.pool.size() + engine.pool._max_overflow)]  # type: ignore[attr-defined]
    try:
        started = time.monotonic()
        answer = httpx.get(server.url + "/ready", timeout=10)
        took = time.monotonic() - started
        # Asked inside the request, the check waited up to the pool's 30 s timeout.
        assert answer.status_code == 200, answer.text
        assert took < 5, took
    finally:
        for conn in held:
            conn.close()


def test_a_failed_check_is_unready_at_once_and_a_stale_success_after_a_while(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gone = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none",
                         connect_args={"connect_timeout": 1})  # fmt: skip
    probe = DatabaseProbe(gone)
    try:
        assert probe.state().startswith("unavailable (OperationalError")
        ok = DatabaseProbe(create_engine("sqlite://"))
        assert ok.state() == "ok"
        later = time.monotonic() + health.FRESH_FOR + 1
        monkeypatch.setattr(health.time, "monotonic", lambda: later)
        assert ok.state() == f"unavailable (no answer for {health.FRESH_FOR:.0f} s)"
        ok.executor.shutdown()
    finally:
        probe.executor.shutdown()
