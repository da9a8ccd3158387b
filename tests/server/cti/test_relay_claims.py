"""Instances that start together share the PBX links (``CtiRelay._claim_turn``).

Before, every instance claimed every free link at once, so the first one up took all four
sites of the capacity run and used 75 % of a core while the other used 19 %. Now an
instance waits ``CLAIM_STAGGER`` seconds per link it already holds before claiming one.
Time here is a fake clock: the test checks the waits, not the machine's speed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agentdesk.server.cti.relay import CLAIM_STAGGER, CtiRelay

RELAY = "agentdesk.server.cti.relay"


class _Lease:
    def __init__(self, held: bool) -> None:
        self.held = held


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []
        self.on_sleep: Any = None

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        if self.on_sleep is not None:
            self.on_sleep(self.now)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    made = _Clock()
    monkeypatch.setattr(f"{RELAY}.time.monotonic", made.monotonic)
    monkeypatch.setattr(f"{RELAY}.asyncio.sleep", made.sleep)
    monkeypatch.setattr(f"{RELAY}.random.uniform", lambda _a, _b: 0.0)
    return made


def _relay(*held: bool) -> CtiRelay:
    relay = CtiRelay.__new__(CtiRelay)  # _claim_turn reads only the leases
    relay.leases = {f"site{n}": _Lease(h) for n, h in enumerate(held)}  # type: ignore[misc]
    return relay


def test_an_instance_holding_no_link_claims_at_once(clock: _Clock) -> None:
    asyncio.run(_relay(False, False, False, False)._claim_turn())
    assert clock.slept == []


def test_an_instance_holding_two_links_waits_twice_the_stagger(clock: _Clock) -> None:
    start = clock.now
    asyncio.run(_relay(True, True, False, False)._claim_turn())
    assert clock.now - start == pytest.approx(2 * CLAIM_STAGGER)


def test_a_link_taken_while_waiting_lengthens_the_wait(clock: _Clock) -> None:
    relay = _relay(True, False, False, False)
    second = relay.leases["site1"]
    assert isinstance(second, _Lease)
    start = clock.now

    def take_one_more(now: float) -> None:
        if now - start >= CLAIM_STAGGER / 2:
            second.held = True  # another of this instance's claims landed

    clock.on_sleep = take_one_more
    asyncio.run(relay._claim_turn())
    assert clock.now - start == pytest.approx(2 * CLAIM_STAGGER)
