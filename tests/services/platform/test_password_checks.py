"""Password checks off the request threads, at low priority, refused when too many wait."""

from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import Engine

from agentdesk.services.platform.password_checks import NICE, ChecksBusy, PasswordChecks
from agentdesk.services.platform.signin import SignInBusy, SignInService
from tests.services.platform.conftest import PASSWORD, Clock, add_agent


def _blocked(checks: PasswordChecks) -> tuple[threading.Event, threading.Event, threading.Thread]:
    """Occupy the only worker until the first event is set; the second says it started."""
    release, running = threading.Event(), threading.Event()

    def hold() -> bool:
        running.set()
        return release.wait(30)

    holder = threading.Thread(target=checks.run, args=(hold,))
    holder.start()
    assert running.wait(10)
    return release, running, holder


def test_a_check_runs_on_a_lower_priority_thread_and_returns_its_answer() -> None:
    checks = PasswordChecks(workers=1)
    try:
        seen: list[tuple[str, int]] = []

        def check() -> bool:
            me = threading.current_thread()
            seen.append((me.name, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
            return True

        assert checks.run(check) is True
        assert checks.run(lambda: False) is False
        name, nice = seen[0]
        assert name.startswith("password-check") and name != threading.current_thread().name
        base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        assert nice == min(19, base + NICE)
    finally:
        checks.close()


def test_a_check_that_cannot_start_in_time_is_refused_and_the_next_one_runs() -> None:
    checks = PasswordChecks(workers=1, wait=0.2, retry_after=7)
    try:
        release, _running, holder = _blocked(checks)
        with pytest.raises(ChecksBusy) as busy:
            checks.run(lambda: True)
        assert busy.value.retry_after == 7 and "7 seconds" in str(busy.value)
        assert checks.refused == 1 and checks.waiting == 0
        release.set()
        holder.join(10)
        assert checks.run(lambda: True) is True  # the refused one never ran
    finally:
        checks.close()


def test_sign_in_says_busy_when_every_checker_is_taken(central: Engine, clock: Clock) -> None:
    add_agent(central, "alice")
    checks = PasswordChecks(workers=1, wait=0.2, retry_after=5)
    auth = SignInService(central, clock=clock, checks=checks)
    try:
        release, _running, holder = _blocked(checks)
        with pytest.raises(SignInBusy) as busy:
            auth.sign_in("alice", PASSWORD, workstation="ws-1", client_ip=None)
        assert busy.value.retry_after == 5
        release.set()
        holder.join(10)
        grant = auth.sign_in("alice", PASSWORD, workstation="ws-1", client_ip=None)
        assert grant.agent.login == "alice"
    finally:
        checks.close()
