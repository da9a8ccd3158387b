"""The event-loop watch logs a loop that was blocked past its threshold, and only then."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from agentdesk.server.loop_watch import LoopWatch


def test_a_blocked_loop_is_logged_with_its_lag(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> LoopWatch:
        watch = LoopWatch(period=0.02, warn=0.15)
        watch.start()
        await asyncio.sleep(0.1)  # a few wake-ups first
        time.sleep(0.3)  # a blocking call on the loop, as a synchronous DB read would be
        for _ in range(50):  # bounded: until the watch has woken after the block
            await asyncio.sleep(0.02)
            if watch.late:
                break
        await watch.stop()
        return watch

    with caplog.at_level(logging.WARNING, logger="agentdesk.server.loop_watch"):
        watch = asyncio.run(scenario())
    assert watch.late >= 1 and 0.15 <= watch.worst < 5
    assert "event loop" in caplog.text and "s late" in caplog.text
