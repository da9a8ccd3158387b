"""The site's scheduler: every ``tick`` seconds, take or renew the lease; as leader, do the work.

One :class:`Scheduler` runs in every server process (started from the
FastAPI lifespan); the lease makes exactly one of them the site's leader.
The leader's tick fires the due timers (``timers.py``) and then runs the
periodic jobs (notification intake and dispatch). The other instances only
try the lease each tick and take over when the leader stops renewing it.

Database work runs in a worker thread; :meth:`Scheduler.tick` is the whole
of one tick, synchronous, so tests drive it with a :class:`ManualClock`
without an event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from agentdesk.logsafe import describe_error
from agentdesk.server.scheduler.clock import Clock, system_clock
from agentdesk.server.scheduler.lease import LeaderLease
from agentdesk.server.scheduler.timers import Handler, TimerRunner
from agentdesk.services.notifications.outbox import NotificationService
from agentdesk.services.tickets.escalation import EscalationService
from agentdesk.services.tickets.reminders import ReminderService

log = logging.getLogger(__name__)

Job = Callable[[], int]


@dataclass(frozen=True)
class SchedulerSettings:
    """``[scheduler]``: the site this server schedules for and how often it looks."""

    site: str = "default"
    tick_seconds: float = 2.0
    lease_seconds: float = 30.0
    timer_batch: int = 200

    def check(self) -> None:
        if not self.site or len(self.site) > 48:
            raise ValueError("[scheduler] site must be 1-48 characters")
        if not 0.05 <= self.tick_seconds <= 60:
            raise ValueError("[scheduler] tick_seconds must be between 0.05 and 60")
        if self.lease_seconds < 3 * self.tick_seconds:
            raise ValueError("[scheduler] lease_seconds must be at least three ticks")


@dataclass
class TickReport:
    leader: bool
    fired: int = 0
    jobs: dict[str, int] = field(default_factory=dict)


def instance_name() -> str:
    """This server process, as the lease names its holder."""
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Scheduler:
    """Lease, timers and periodic jobs of one site, ticking in the background."""

    def __init__(
        self,
        engine: Engine,
        settings: SchedulerSettings | None = None,
        *,
        clock: Clock = system_clock,
        holder: str | None = None,
    ) -> None:
        self.settings = settings or SchedulerSettings()
        self.settings.check()
        self.engine = engine
        self.clock = clock
        self.lease = LeaderLease(
            engine,
            f"scheduler/{self.settings.site}",
            holder or instance_name(),
            ttl=dt.timedelta(seconds=self.settings.lease_seconds),
            clock=clock,
        )
        self.timers = TimerRunner(engine, self.lease, clock)
        self.jobs: dict[str, Job] = {}
        self.startup: list[Callable[[], object]] = []
        # The customer-notification outbox, when a channel is configured (its supervisor API).
        self.notifications: NotificationService | None = None
        # SLA escalation and agents' reminders (issue 12 items 3-4), registered by build_scheduler.
        self.escalations: EscalationService | None = None
        self.reminders: ReminderService | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()

    def on_timer(self, kind: str, handler: Handler) -> None:
        """Run ``handler(session, firing)`` when a timer of ``kind`` is due."""
        self.timers.register(kind, handler)

    def add_job(self, name: str, job: Job) -> None:
        """Run ``job()`` on every leader tick, after the timers (it returns a count for logs)."""
        if name in self.jobs:
            raise ValueError(f"a job named {name!r} is already registered")
        self.jobs[name] = job

    def on_start(self, hook: Callable[[], object]) -> None:
        """Run ``hook()`` once when the scheduler starts, before the first tick."""
        self.startup.append(hook)

    @property
    def is_leader(self) -> bool:
        return self.lease.held

    def tick(self) -> TickReport:
        """One tick: the lease, then (as leader) due timers and every job. Never raises."""
        try:
            leader = self.lease.acquire()
        except Exception as exc:
            log.warning("scheduler: lease check failed: %s", describe_error(exc))
            self.lease.token = None
            return TickReport(False)
        report = TickReport(leader)
        if not leader:
            return report
        try:
            report.fired = self.timers.fire_due(self.settings.timer_batch)
        except Exception as exc:
            log.warning("scheduler: firing timers failed: %s", describe_error(exc))
        for name, job in self.jobs.items():
            if not self.lease.held:
                break
            try:
                report.jobs[name] = job()
            except Exception as exc:
                log.warning("scheduler: job %s failed: %s", name, describe_error(exc))
        return report

    # --- background ---------------------------------------------------------------------

    def wake(self) -> None:
        """Tick now rather than at the next interval (thread-safe only from the loop)."""
        self._wake.set()

    async def start(self) -> None:
        if self._task is not None:
            return
        for hook in self.startup:
            await asyncio.to_thread(hook)
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="scheduler")

    async def _run(self) -> None:
        interval = self.settings.tick_seconds
        while not self._stop.is_set():
            await asyncio.to_thread(self.tick)
            self._wake.clear()
            waits = [asyncio.create_task(self._stop.wait()), asyncio.create_task(self._wake.wait())]
            try:
                await asyncio.wait(waits, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waits:
                    waiter.cancel()

    async def stop(self) -> None:
        """Finish the tick under way, stop, and hand the lease on."""
        if self._task is None:
            return
        self._stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        try:
            await asyncio.to_thread(self.lease.release)
        except Exception as exc:
            log.warning("scheduler: releasing the lease failed: %s", describe_error(exc))
