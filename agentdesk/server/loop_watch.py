"""A watch on the server's event loop: how late it wakes, logged when it falls behind.

Everything live on an instance (CTI sockets, the PBX link, its lease renewals,
the floor) shares one asyncio loop. When something blocks it or the machine
starves it, the first symptom elsewhere is a lease lost or a socket timed
out; this says the cause in the log ("event loop 4.2 s late") and keeps the
worst lag for ``/ready``'s readers and benches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

log = logging.getLogger(__name__)

PERIOD = 0.5  # seconds between wake-ups
WARN = 1.0  # seconds late before it is logged


class LoopWatch:
    def __init__(self, period: float = PERIOD, warn: float = WARN) -> None:
        self.period = period
        self.warn = warn
        self.worst = 0.0  # the largest lag seen, seconds
        self.late = 0  # wake-ups later than ``warn``
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            planned = time.monotonic() + self.period
            await asyncio.sleep(self.period)
            lag = time.monotonic() - planned
            self.worst = max(self.worst, lag)
            if lag >= self.warn:
                self.late += 1
                log.warning("event loop %.1f s late (CPU starved or a blocking call)", lag)
