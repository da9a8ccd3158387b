"""The leader lease: which server instance runs a site's scheduler.

One ``scheduler_lease`` row per site. :meth:`LeaderLease.acquire` takes the
row when it is free or expired and renews it when this instance already
holds it, in one conditional statement (on PostgreSQL the second of two
racing instances re-reads the row after the first commits and finds it
taken). The holder renews on every tick, well inside ``ttl``; an instance
that stops releases the row so another takes over at its next tick instead
of after ``ttl``. A crashed holder is replaced once its lease expires.

The lease decides who *does* the work; it is not what keeps a timer from
firing twice. That is the timer row itself (locked and checked in the
transaction that fires it), so an instance that lost its lease while paused
cannot double a timer, only find it already fired. Before each firing the
holder still checks, in the same transaction, that its lease is current.

Instances compare their own clocks with ``expires_at``: keep them in NTP sync;
an error of a few seconds only shortens or lengthens a takeover.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import Engine, case, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from agentdesk.models import SchedulerLease
from agentdesk.server.scheduler.clock import Clock
from agentdesk.store.engine import write_session

log = logging.getLogger(__name__)


class LeaderLease:
    """This instance's claim on the site's scheduler (``name``), held as ``holder``."""

    def __init__(
        self,
        engine: Engine,
        name: str,
        holder: str,
        *,
        ttl: dt.timedelta = dt.timedelta(seconds=30),
        clock: Clock,
    ) -> None:
        self.engine = engine
        self.name = name
        self.holder = holder
        self.ttl = ttl
        self.clock = clock
        self.token: int | None = None  # the lease's token while this instance holds it

    @property
    def held(self) -> bool:
        return self.token is not None

    def acquire(self) -> bool:
        """Take or renew the lease; True while this instance is the leader."""
        now = self.clock()
        table = SchedulerLease
        mine = table.holder == self.holder
        with write_session(self.engine) as s:
            result = s.execute(
                update(table)
                .where(table.name == self.name, or_(mine, table.expires_at <= now))
                .values(
                    token=case((mine, table.token), else_=table.token + 1),
                    acquired_at=case((mine, table.acquired_at), else_=now),
                    holder=self.holder,
                    renewed_at=now,
                    expires_at=now + self.ttl,
                )
                .returning(table.token)
            )
            token = result.scalar_one_or_none()
            if token is None:
                dialect_insert = (
                    postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
                )
                token = s.execute(
                    dialect_insert(table)
                    .values(
                        name=self.name,
                        holder=self.holder,
                        token=1,
                        acquired_at=now,
                        renewed_at=now,
                        expires_at=now + self.ttl,
                    )
                    .on_conflict_do_nothing()
                    .returning(table.token)
                ).scalar_one_or_none()
        was, self.token = self.token, None if token is None else int(token)
        if self.token is not None and self.token != was:
            log.info("scheduler %s: %s is the leader (lease %d)", self.name, self.holder, token)
        elif self.token is None and was is not None:
            log.warning("scheduler %s: %s lost the lease", self.name, self.holder)
        return self.token is not None

    def current(self, session: Session) -> bool:
        """Inside a firing transaction: does this instance still hold an unexpired lease?"""
        if self.token is None:
            return False
        row = session.execute(
            select(SchedulerLease.token).where(
                SchedulerLease.name == self.name,
                SchedulerLease.holder == self.holder,
                SchedulerLease.token == self.token,
                SchedulerLease.expires_at > self.clock(),
            )
        ).first()
        return row is not None

    def release(self) -> None:
        """Give the lease up (on shutdown), so another instance takes over at once."""
        if self.token is None:
            return
        now = self.clock()
        with write_session(self.engine) as s:
            s.execute(
                update(SchedulerLease)
                .where(SchedulerLease.name == self.name, SchedulerLease.holder == self.holder)
                .values(expires_at=now - dt.timedelta(microseconds=1))
            )
        self.token = None
        log.info("scheduler %s: %s released the lease", self.name, self.holder)
