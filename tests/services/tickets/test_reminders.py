"""Follow-up reminders: set from the desk, made due by the server's scheduler, listed at sign-in.

On embedded SQLite and real PostgreSQL (``central``) with a hand-moved clock: the
``reminder.set`` mutation becomes a ``reminder.due`` timer through the reminder job,
fires once (also after the server was down), travels on the change feed, is moved
by a snooze and closed by the agent; the server lets agents set only their own.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from agentdesk.ids import uuid7
from agentdesk.models import ChangeLog, OutboxEntry, Reminder, Role, ScheduledTimer, utcnow
from agentdesk.server.auth import Principal
from agentdesk.server.authz import MutationAuthorizer
from agentdesk.server.scheduler import ManualClock, Scheduler, SchedulerSettings, build_scheduler
from agentdesk.services.tickets import reminders
from agentdesk.store import migrate
from agentdesk.store.engine import read_session, sqlite_engine, write_session
from agentdesk.store.mutations import MutationRejected
from agentdesk.store.sync.central import CentralStore
from agentdesk.store.sync.entities import KINDS
from agentdesk.store.sync.feed import FeedApplier
from agentdesk.store.sync.protocol import PushEntry
from agentdesk.store.sync.scope import SyncScope
from agentdesk.store.writer import LocalWriter
from tests.services.tickets.conftest import Site, add_site

SETTINGS = SchedulerSettings(site="london", tick_seconds=1, lease_seconds=30)


def start() -> dt.datetime:
    return utcnow().replace(microsecond=0)


def server(store: CentralStore, clock: ManualClock, name: str) -> Scheduler:
    return build_scheduler(store, SETTINGS, clock=clock, holder=name)


def open_ticket(store: CentralStore, site: Site) -> uuid.UUID:
    ticket_id = uuid7()
    store.write(
        "ticket.create",
        {
            "id": str(ticket_id),
            "reason": "card_dispute",
            "title": "Disputed payment",
            "team_id": str(site.teams["Cards"]),
            "assignee_id": str(site.agents["alice"]),
        },
        "alice",
    )
    return ticket_id


def set_at_centre(
    store: CentralStore, site: Site, ticket_id: uuid.UUID, due: dt.datetime, rid: uuid.UUID
) -> None:
    store.write(
        "reminder.set",
        {
            "id": str(rid),
            "agent_id": str(site.agents["alice"]),
            "ticket_id": str(ticket_id),
            "due_at": due.isoformat(),
            "note": "call back about the dispute",
        },
        "alice",
    )


def reminder(engine: Engine, rid: uuid.UUID) -> Reminder:
    with read_session(engine) as s:
        row = s.get(Reminder, rid)
        assert row is not None
        s.expunge(row)
        return row


def timer_due(engine: Engine, rid: uuid.UUID) -> dt.datetime | None:
    with read_session(engine) as s:
        return s.scalar(
            select(ScheduledTimer.due_at).where(
                ScheduledTimer.kind == reminders.TIMER_KIND,
                ScheduledTimer.subject == str(rid),
                ScheduledTimer.fired_at.is_(None),
            )
        )


def test_a_reminder_becomes_due_once_on_time_and_reaches_the_feed(central: Engine) -> None:
    store, site = CentralStore(central), add_site(central)
    t0 = start()
    clock = ManualClock(t0)
    ticket_id, rid = open_ticket(store, site), uuid7()
    due = t0 + dt.timedelta(hours=2)
    set_at_centre(store, site, ticket_id, due, rid)
    a, b = server(store, clock, "a"), server(store, clock, "b")
    a.tick()
    b.tick()
    assert timer_due(central, rid) == due
    row = reminder(central, rid)
    assert (row.state, row.version, row.team_id) == ("pending", 1, site.teams["Cards"])
    assert [r.id for r in reminders.upcoming_reminders(central, site.agents["alice"])] == [rid]
    for _ in range(30):  # five hours in ten-minute steps, both instances ticking
        clock.advance(dt.timedelta(minutes=10))
        b.tick()
        a.tick()
    row = reminder(central, rid)
    assert (row.state, row.version) == ("due", 2)
    assert row.fired_at is not None and due <= row.fired_at < due + dt.timedelta(minutes=10)
    assert [v.id for v in reminders.due_reminders(central, site.agents["alice"])] == [rid]
    assert reminders.due_reminders(central, site.agents["bob"]) == []
    with read_session(central) as s:
        states = [
            data["row"]["state"]
            for data in s.scalars(
                select(ChangeLog.data)
                .where(ChangeLog.entity_type == "reminder", ChangeLog.entity_id == rid)
                .order_by(ChangeLog.seq)
            )
        ]
    assert states == ["pending", "due"]  # the desk receives the due reminder on the feed


def test_missed_while_the_server_was_down_is_due_on_return_and_listed_at_sign_in(
    central: Engine,
) -> None:
    store, site = CentralStore(central), add_site(central)
    t0 = start()
    clock = ManualClock(t0)
    ticket_id, rid = open_ticket(store, site), uuid7()
    set_at_centre(store, site, ticket_id, t0 + dt.timedelta(minutes=30), rid)
    server(store, clock, "a").tick()  # the timer is set; then the server goes down
    clock.advance(dt.timedelta(days=2))
    back = server(store, clock, "b")
    assert back.tick().fired == 1
    assert back.tick().fired == 0
    missed = reminders.due_reminders(central, site.agents["alice"])
    assert [(v.id, v.note) for v in missed] == [(rid, "call back about the dispute")]
    # The agent deals with it: closed, gone from the list, nothing left to fire.
    store.write("reminder.close", {"id": str(rid)}, "alice")
    back.tick()
    assert reminder(central, rid).state == "done"
    assert reminders.due_reminders(central, site.agents["alice"]) == []


def test_a_snoozed_reminder_moves_its_timer_and_a_cancelled_one_never_fires(
    central: Engine,
) -> None:
    store, site = CentralStore(central), add_site(central)
    t0 = start()
    clock = ManualClock(t0)
    ticket_id = open_ticket(store, site)
    snoozed, cancelled = uuid7(), uuid7()
    first = t0 + dt.timedelta(hours=1)
    set_at_centre(store, site, ticket_id, first, snoozed)
    set_at_centre(store, site, ticket_id, first, cancelled)
    sched = server(store, clock, "a")
    sched.tick()
    later = t0 + dt.timedelta(hours=3)
    set_at_centre(store, site, ticket_id, later, snoozed)
    store.write("reminder.close", {"id": str(cancelled), "outcome": "cancelled"}, "alice")
    sched.tick()
    assert timer_due(central, snoozed) == later
    assert timer_due(central, cancelled) is None
    clock.set(first + dt.timedelta(minutes=1))
    sched.tick()
    assert reminder(central, snoozed).state == "pending"
    assert reminder(central, cancelled).state == "cancelled"
    clock.set(later)
    sched.tick()
    assert reminder(central, snoozed).state == "due"


def test_the_desk_sets_a_reminder_through_its_outbox(tmp_path: Path) -> None:
    cache = sqlite_engine(tmp_path / "cache.db")
    migrate.upgrade(cache)
    try:
        site = add_site(cache)
        writer = LocalWriter(cache, "alice")
        alice = site.agents["alice"]
        with pytest.raises(MutationRejected, match="in the past"):
            reminders.set_reminder(
                writer, alice, utcnow() - dt.timedelta(minutes=1), customer_id=uuid7()
            )
        with pytest.raises(MutationRejected, match="ticket or a customer"):
            reminders.set_reminder(writer, alice, utcnow() + dt.timedelta(hours=1))
        with pytest.raises(MutationRejected, match="a year ahead"):
            reminders.set_reminder(
                writer, alice, utcnow() + dt.timedelta(days=400), customer_id=uuid7()
            )
        due = (utcnow() + dt.timedelta(days=1)).replace(microsecond=0)
        rid = reminders.set_reminder(writer, alice, due, customer_id=uuid7(), note=" call back ")
        row = reminder(cache, rid)
        # A customer this cache does not hold yet is left to the centre to check.
        assert (row.state, row.version, row.note, row.customer_id) == (
            "pending",
            0,
            "call back",
            None,
        )
        with read_session(cache) as s:
            queued = s.scalars(select(OutboxEntry).where(OutboxEntry.entity_id == rid)).one()
            assert queued.name == "reminder.set"
            assert dt.datetime.fromisoformat(queued.args["due_at"]) == due
        assert [v.id for v in reminders.upcoming_reminders(cache, alice)] == [rid]
    finally:
        cache.dispose()


def principal(site: Site, login: str, role: Role = Role.AGENT) -> Principal:
    return Principal(
        session_id=uuid7(),
        agent_id=site.agents[login],
        login=login,
        role=role,
        team_ids=frozenset({site.teams["Fraud & Disputes" if login == "carol" else "Cards"]}),
        workstation=None,
        full_replica=False,
    )


def entry(name: str, args: Mapping[str, object]) -> PushEntry:
    return PushEntry(client_seq=1, mutation_id=uuid7(), name=name, args=dict(args))


def test_the_server_lets_agents_set_and_close_only_their_own_reminders(central: Engine) -> None:
    store, site = CentralStore(central), add_site(central)
    ticket_id, rid = open_ticket(store, site), uuid7()
    set_at_centre(store, site, ticket_id, utcnow() + dt.timedelta(hours=1), rid)
    postgres = central.dialect.name == "postgresql"
    bob = MutationAuthorizer(principal(site, "bob"), uuid7(), postgres=postgres)
    alice = MutationAuthorizer(principal(site, "alice"), uuid7(), postgres=postgres)
    carol = MutationAuthorizer(principal(site, "carol"), uuid7(), postgres=postgres)
    lead = MutationAuthorizer(principal(site, "bob", Role.SUPERVISOR), uuid7(), postgres=postgres)
    mine = {
        "id": str(uuid7()),
        "agent_id": str(site.agents["alice"]),
        "ticket_id": str(ticket_id),
        "due_at": (utcnow() + dt.timedelta(hours=1)).isoformat(),
    }
    with write_session(central) as s:
        alice(s, entry("reminder.set", mine))
        lead(s, entry("reminder.set", mine))
        with pytest.raises(MutationRejected, match="its own agent"):
            bob(s, entry("reminder.set", mine))
        with pytest.raises(MutationRejected, match="its own agent"):
            bob(s, entry("reminder.close", {"id": str(rid)}))
        alice(s, entry("reminder.close", {"id": str(rid)}))
        # carol is in Fraud: the Cards ticket is not hers to follow up.
        theirs = {**mine, "agent_id": str(site.agents["carol"])}
        with pytest.raises(MutationRejected, match="neither your team's nor yours"):
            carol(s, entry("reminder.set", theirs))


def test_only_the_owners_desk_keeps_a_reminder_or_an_alert() -> None:
    owner, other = uuid7(), uuid7()
    cached: dict[str, dict[uuid.UUID, int]] = {"customer": {}, "ticket": {}}
    mine = FeedApplier(None, SyncScope(agent_id=owner))  # type: ignore[arg-type]
    theirs = FeedApplier(None, SyncScope(agent_id=other))  # type: ignore[arg-type]
    for kind, key in (("reminder", "agent_id"), ("ticket_alert", "recipient_id")):
        row = {key: str(owner), "ticket_id": str(uuid7())}
        assert mine._in_scope(KINDS[kind], row, cached)
        assert not theirs._in_scope(KINDS[kind], row, cached)
