"""The circuit breaker: closed, open after N failures in a row, half-open after the rest."""

from __future__ import annotations

import pytest

from agentdesk.services.corebank.breaker import BreakerSettings, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_failures_in_a_row_open_it_and_a_success_resets_the_count() -> None:
    breaker = CircuitBreaker(BreakerSettings(failure_threshold=3, cool_down=5), Clock())
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()  # not in a row any more
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state == "closed" and breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open" and breaker.failures == 3
    assert not breaker.allow()


def test_after_the_cool_down_one_probe_goes_through() -> None:
    clock = Clock()
    breaker = CircuitBreaker(BreakerSettings(failure_threshold=1, cool_down=5), clock)
    breaker.record_failure()
    clock.now += 4.9
    assert breaker.state == "open" and not breaker.allow()
    clock.now += 0.2
    assert breaker.state == "half-open"
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # nobody else while it is out
    breaker.record_success()
    assert breaker.state == "closed" and breaker.allow() and breaker.failures == 0


def test_a_failed_probe_opens_it_for_another_cool_down() -> None:
    clock = Clock()
    breaker = CircuitBreaker(BreakerSettings(failure_threshold=4, cool_down=5), clock)
    for _ in range(4):
        breaker.record_failure()
    clock.now += 5
    assert breaker.allow()
    breaker.record_failure()  # one failure is enough in half-open state
    assert breaker.state == "open"
    clock.now += 4
    assert not breaker.allow()
    clock.now += 1
    assert breaker.allow()


@pytest.mark.parametrize(("threshold", "cool_down"), [(0, 5.0), (3, 0.0), (3, -1.0), (3, 4000.0)])
def test_nonsense_settings_are_refused(threshold: int, cool_down: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        BreakerSettings(threshold, cool_down)
