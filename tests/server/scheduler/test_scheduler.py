"""The site's scheduler: one leader through the lease, durable timers fired once, in order.

Every test runs on embedded SQLite and on real PostgreSQL (``central``), with a
hand-moved clock; "two server instances" are two :class:`Scheduler` objects on
one database, "a restart" a new one.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from agentdesk.models import ScheduledTimer, SchedulerLease
from agentdesk.server.scheduler import (
    Firing,
    ManualClock,
    Scheduler,
    SchedulerSettings,
    cancel,
    schedule,
)
from agentdesk.store.engine import read_session, write_session

T0 = dt.datetime(2026, 12, 11, 17, 55, tzinfo=dt.UTC)
SETTINGS = SchedulerSettings(site="london", tick_seconds=1, lease_seconds=30)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


class Recorder:
    """A timer handler that notes what fired, and can be told to fail."""

    def __init__(self) -> None:
        self.fired: list[tuple[str, str]] = []
        self.failures = 0
        self.lock = threading.Lock()

    def __call__(self, session: Session, firing: Firing) -> None:
        with self.lock:
            if self.failures:
                self.failures -= 1
                raise RuntimeError("handler failed on purpose")
            self.fired.append((firing.subject, firing.payload.get("who", "")))


def make(engine: Engine, clock: ManualClock, name: str, recorder: Recorder) -> Scheduler:
    scheduler = Scheduler(engine, SETTINGS, clock=clock, holder=name)
    scheduler.on_timer("test.ping", recorder)
    return scheduler


def add_timer(engine: Engine, subject: str, due: dt.datetime, **payload: str) -> None:
    with write_session(engine) as s:
        schedule(s, "test.ping", subject, due, payload)


def timer(engine: Engine, subject: str) -> ScheduledTimer:
    with read_session(engine) as s:
        return s.scalars(select(ScheduledTimer).where(ScheduledTimer.subject == subject)).one()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    yield Recorder()


def test_two_instances_one_leader_and_a_timer_fires_once(
    central: Engine, clock: ManualClock, recorder: Recorder
) -> None:
    a, b = make(central, clock, "a", recorder), make(central, clock, "b", recorder)
    add_timer(central, "t1", T0 + dt.timedelta(minutes=5))
    assert a.tick().leader is True
    assert b.tick().leader is False
    assert recorder.fired == []  # not due yet
    # Both tick every 10 s for five minutes: a renews its lease throughout.
    for _ in range(30):
        clock.advance(dt.timedelta(seconds=10))
        b.tick()
        a.tick()
    assert recorder.fired == [("t1", "")]
    row = timer(central, "t1")
    assert row.fired_at == T0 + dt.timedelta(minutes=5)
    assert row.attempts == 1
    with read_session(central) as s:
        lease = s.get(SchedulerLease, "scheduler/london")
        assert lease is not None
        assert lease.holder == "a"
        assert lease.expires_at == clock() + dt.timedelta(seconds=30)  # renewed every tick


def test_stopped_leader_hands_over_and_a_silent_one_expires(
    central: Engine, clock: ManualClock, recorder: Recorder
) -> None:
    a, b = make(central, clock, "a", recorder), make(central, clock, "b", recorder)
    assert a.tick().leader
    a.lease.release()  # a clean shutdown
    assert b.tick().leader
    assert not a.tick().leader
    # b goes silent (crash): a takes over only once b's lease has run out.
    clock.advance(dt.timedelta(seconds=29))
    assert not a.tick().leader
    clock.advance(dt.timedelta(seconds=2))
    assert a.tick().leader
    with read_session(central) as s:
        lease = s.get(SchedulerLease, "scheduler/london")
        assert lease is not None
        assert (lease.holder, lease.token) == ("a", 3)  # a, then b, then a again
    # b comes back: it is not the leader any more, and says so at its next tick.
    assert not b.tick().leader


def test_timer_due_while_down_fires_once_after_restart(
    central: Engine, clock: ManualClock, recorder: Recorder
) -> None:
    first = make(central, clock, "before", recorder)
    first.tick()
    add_timer(central, "overnight", T0 + dt.timedelta(hours=1), who="lead")
    # The server stops without a word (no release) and is down for 15 hours.
    clock.advance(dt.timedelta(hours=15))
    restarted = make(central, clock, "after", recorder)
    report = restarted.tick()
    assert report.leader and report.fired == 1
    assert recorder.fired == [("overnight", "lead")]
    restarted.tick()
    clock.advance(dt.timedelta(hours=1))
    restarted.tick()
    assert recorder.fired == [("overnight", "lead")]


def test_due_timers_fire_in_due_order_in_one_tick(
    central: Engine, clock: ManualClock, recorder: Recorder
) -> None:
    s = make(central, clock, "a", recorder)
    for minutes, name in ((30, "breach+30"), (10, "warn"), (20, "breach")):
        add_timer(central, name, T0 + dt.timedelta(minutes=minutes))
    clock.advance(dt.timedelta(hours=2))
    assert s.tick().fired == 3
    assert [subject for subject, _ in recorder.fired] == ["warn", "breach", "breach+30"]


def test_failing_handler_is_retried_with_back_off(
    central: Engine, clock: ManualClock, recorder: Recorder
) -> None:
    s = make(central, clock, "a", recorder)
    add_timer(central, "flaky", T0)
    recorder.failures = 2
    s.tick()
    row = timer(central, "flaky")
    assert row.fired_at is None and row.attempts == 1
    assert row.retry_at == T0 + dt.timedelta(seconds=30)
    assert row.last_error is not None and "on purpose" in row.last_error
    s.tick()  # waiting out the back-off: not tried
    assert timer(central, "flaky").attempts == 1
    clock.advance(dt.timedelta(seconds=30))
    s.tick()
    assert timer(central, "flaky").retry_at == clock() + dt.timedelta(seconds=60)
    clock.advance(dt.timedelta(seconds=60))
    s.tick()
    row = timer(central, "flaky")
    assert row.fired_at == clock() and row.attempts == 3 and row.last_error is None
    assert recorder.fired == [("flaky", "")]


def test_handler_writes_commit_with_the_firing_or_not_at_all(
    central: Engine, clock: ManualClock
) -> None:
    """A handler's own rows and ``fired_at`` are one transaction."""
    s = Scheduler(central, SETTINGS, clock=clock, holder="a")
    calls = {"n": 0}

    def chain(session: Session, firing: Firing) -> None:
        calls["n"] += 1
        schedule(session, "test.chain", f"next-{calls['n']}", firing.now + dt.timedelta(hours=1))
        if calls["n"] == 1:
            raise RuntimeError("fails after writing")

    s.on_timer("test.chain", chain)
    with write_session(central) as ws:
        schedule(ws, "test.chain", "first", T0)
    s.tick()
    with read_session(central) as rs:
        subjects = set(rs.scalars(select(ScheduledTimer.subject)).all())
    assert subjects == {"first"}  # the failed attempt's timer was rolled back with it
    clock.advance(dt.timedelta(minutes=1))
    s.tick()
    with read_session(central) as rs:
        subjects = set(rs.scalars(select(ScheduledTimer.subject)).all())
    assert subjects == {"first", "next-2"}


def test_a_stale_leader_fires_nothing(
    central: Engine, clock: ManualClock, recorder: Recorder
) -> None:
    """An instance that paused past its lease finds it gone before it fires."""
    a, b = make(central, clock, "a", recorder), make(central, clock, "b", recorder)
    assert a.tick().leader
    add_timer(central, "t", T0)
    clock.advance(dt.timedelta(seconds=31))
    assert b.lease.acquire()  # b took over while a was paused; a still thinks it leads
    assert a.lease.held
    assert a.timers.fire_due() == 0
    assert recorder.fired == []
    assert b.timers.fire_due() == 1
    assert recorder.fired == [("t", "")]


def test_schedule_moves_an_unfired_timer_and_cancel_drops_it(
    central: Engine, clock: ManualClock, recorder: Recorder
) -> None:
    s = make(central, clock, "a", recorder)
    add_timer(central, "moved", T0 + dt.timedelta(hours=1))
    add_timer(central, "moved", T0 + dt.timedelta(hours=3), who="later")
    add_timer(central, "dropped", T0 + dt.timedelta(hours=1))
    with write_session(central) as ws:
        assert cancel(ws, "test.ping", "dropped")
    clock.advance(dt.timedelta(hours=2))
    s.tick()
    assert recorder.fired == []
    clock.advance(dt.timedelta(hours=1))
    s.tick()
    assert recorder.fired == [("moved", "later")]
    # A fired timer is not moved back by a late schedule(), only by rearm.
    add_timer(central, "moved", T0)
    s.tick()
    assert len(recorder.fired) == 1
    with write_session(central) as ws:
        schedule(ws, "test.ping", "moved", clock(), {"who": "again"}, rearm=True)
    s.tick()
    assert recorder.fired[-1] == ("moved", "again")


@pytest.mark.postgres
def test_racing_instances_on_postgres_fire_each_timer_once(pg_url: str, clock: ManualClock) -> None:
    """Two instances ticking concurrently in threads on one PostgreSQL: no timer twice."""
    from agentdesk.store import migrate
    from agentdesk.store.engine import central_engine

    engine = central_engine(pg_url)
    try:
        migrate.upgrade(engine)
        recorder = Recorder()
        instances = [make(engine, clock, name, recorder) for name in ("a", "b", "c")]
        for i in range(60):
            add_timer(engine, f"t{i:02d}", T0 + dt.timedelta(seconds=i))
        clock.advance(dt.timedelta(minutes=2))
        barrier = threading.Barrier(len(instances))
        leaders: list[bool] = []

        def run(s: Scheduler) -> None:
            barrier.wait()
            for _ in range(3):
                leaders.append(s.tick().leader)

        threads = [threading.Thread(target=run, args=(s,)) for s in instances]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(subject for subject, _ in recorder.fired) == [f"t{i:02d}" for i in range(60)]
        assert leaders.count(True) == 3  # one instance led all three of its ticks
    finally:
        engine.dispose()
