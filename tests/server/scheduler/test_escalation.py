"""SLA escalation through the site's scheduler: levels fire once each, in order.

Time travel with a hand-moved clock on embedded SQLite and real PostgreSQL
(``central``): two server instances on one database, a restart in the middle,
and a server that was down while every level came due. The policies are the
shipped ``resources/sla.toml`` and ``resources/escalation.toml``: Cards works
08:00-20:00 on weekdays, a normal ticket's first response is due in 4 business
hours, and its levels are the warning at 75 % (1 h left), the breach, and the
breach + 4 h which raises the priority to high.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, insert, select

from agentdesk.ids import uuid7
from agentdesk.models import Agent, ChangeLog, Ticket, TicketAlert, TicketHistory, agent_team
from agentdesk.server.scheduler import ManualClock, Scheduler, SchedulerSettings, build_scheduler
from agentdesk.services.tickets.escalation import (
    EscalationPolicyError,
    escalated_tickets,
    parse_escalation,
    pending_timers,
)
from agentdesk.store.engine import read_session
from agentdesk.store.sync.central import CentralStore
from tests.services.tickets.conftest import Site, add_site

LONDON_DEC = dt.UTC  # London keeps GMT in December: local times read as UTC here
FRIDAY_10 = dt.datetime(2026, 12, 11, 10, 0, tzinfo=LONDON_DEC)
WARN, BREACH, BREACH_4H = (
    dt.datetime(2026, 12, 11, 13, 0, tzinfo=LONDON_DEC),
    dt.datetime(2026, 12, 11, 14, 0, tzinfo=LONDON_DEC),
    dt.datetime(2026, 12, 11, 18, 0, tzinfo=LONDON_DEC),
)
SETTINGS = SchedulerSettings(site="london", tick_seconds=1, lease_seconds=30)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(FRIDAY_10)


@pytest.fixture
def store(central: Engine) -> Iterator[CentralStore]:
    yield CentralStore(central)


def add_people(engine: Engine, site: Site) -> dict[str, uuid.UUID]:
    """A team lead (a supervisor in Cards) and a floor supervisor (in no team)."""
    people = {"lena": uuid7(), "sam": uuid7()}
    with engine.begin() as conn:
        conn.execute(
            insert(Agent),
            [
                {
                    "id": people[login],
                    "login": login,
                    "display_name": login.title(),
                    "password_hash": "x",
                    "role": "supervisor",
                    "active": True,
                }
                for login in people
            ],
        )
        conn.execute(
            insert(agent_team), [{"agent_id": people["lena"], "team_id": site.teams["Cards"]}]
        )
    return people


def open_ticket(store: CentralStore, site: Site) -> uuid.UUID:
    ticket_id = uuid7()
    store.write(
        "ticket.create",
        {
            "id": str(ticket_id),
            "reason": "card_lost",
            "title": "Card lost abroad",
            "team_id": str(site.teams["Cards"]),
            "assignee_id": str(site.agents["alice"]),
            "first_response_due": BREACH.isoformat(),
            "resolution_due": (FRIDAY_10 + dt.timedelta(days=6)).isoformat(),
        },
        "alice",
    )
    return ticket_id


def server(store: CentralStore, clock: ManualClock, name: str) -> Scheduler:
    return build_scheduler(store, SETTINGS, clock=clock, holder=name)


def levels_in_history(engine: Engine, ticket_id: uuid.UUID) -> list[tuple[str | None, str | None]]:
    with read_session(engine) as s:
        rows = s.execute(
            select(TicketHistory.old_value, TicketHistory.new_value)
            .where(TicketHistory.ticket_id == ticket_id, TicketHistory.field == "escalation_level")
            .order_by(TicketHistory.changed_at, TicketHistory.id)
        ).all()
    return [(r[0], r[1]) for r in rows]


def alerts(engine: Engine, ticket_id: uuid.UUID) -> list[tuple[int, str, uuid.UUID]]:
    with read_session(engine) as s:
        rows = s.execute(
            select(TicketAlert.level, TicketAlert.recipient_role, TicketAlert.recipient_id)
            .where(TicketAlert.ticket_id == ticket_id)
            .order_by(TicketAlert.level, TicketAlert.recipient_role)
        ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def ticket(engine: Engine, ticket_id: uuid.UUID) -> Ticket:
    with read_session(engine) as s:
        row = s.get(Ticket, ticket_id)
        assert row is not None
        s.expunge(row)
        return row


def test_levels_fire_once_each_in_order_with_two_instances_and_a_restart(
    store: CentralStore, central: Engine, clock: ManualClock
) -> None:
    site = add_site(central)
    people = add_people(central, site)
    ticket_id = open_ticket(store, site)
    a, b = server(store, clock, "a"), server(store, clock, "b")
    assert a.tick().leader and not b.tick().leader
    with read_session(central) as s:
        assert pending_timers(s, ticket_id) == {1: WARN, 2: BREACH, 3: BREACH_4H}

    seen: list[tuple[dt.datetime, int]] = []
    for step in range(9 * 6):  # 10:00 → 19:00 in ten-minute steps
        clock.advance(dt.timedelta(minutes=10))
        if step == 30:  # 15:00: a restarts (clean shutdown, then a new process)
            a.lease.release()
            a = server(store, clock, "a2")
        b.tick()
        a.tick()
        level = ticket(central, ticket_id).escalation_level
        if not seen or seen[-1][1] != level:
            seen.append((clock(), level))

    assert seen == [
        (FRIDAY_10 + dt.timedelta(minutes=10), 0),
        (WARN, 1),
        (BREACH, 2),
        (BREACH_4H, 3),
    ]
    assert levels_in_history(central, ticket_id) == [("0", "1"), ("1", "2"), ("2", "3")]
    final = ticket(central, ticket_id)
    assert final.priority.value == "high"  # the breach + 4 h level raises it
    alice = site.agents["alice"]
    assert alerts(central, ticket_id) == [
        (1, "assignee", alice),
        (2, "assignee", alice),
        (2, "team_lead", people["lena"]),
        (3, "assignee", alice),
        (3, "supervisor", people["sam"]),
        (3, "team_lead", people["lena"]),
    ]
    with read_session(central) as s:
        assert pending_timers(s, ticket_id) == {}
        fed = s.scalars(
            select(ChangeLog.entity_type).where(ChangeLog.entity_type == "ticket_alert")
        )
        assert len(list(fed)) == 6  # every alert travels to the desks on the change feed
    listed = escalated_tickets(central)
    assert [(v.ticket_id, v.escalation_level, v.level_name) for v in listed] == [
        (ticket_id, 3, "breach_plus_4h")
    ]
    assert escalated_tickets(central, assignee_id=alice)[0].ticket_id == ticket_id
    assert escalated_tickets(central, assignee_id=site.agents["bob"]) == []


def test_levels_due_while_the_server_was_down_fire_once_in_order_on_return(
    store: CentralStore, central: Engine, clock: ManualClock
) -> None:
    site = add_site(central)
    ticket_id = open_ticket(store, site)
    first = server(store, clock, "a")
    first.tick()  # plans the timers, then the server goes down without a word
    clock.set(dt.datetime(2026, 12, 11, 19, 30, tzinfo=LONDON_DEC))
    clock.advance(dt.timedelta(seconds=31))  # the old lease has run out
    back = server(store, clock, "b")
    report = back.tick()
    # The three levels, and the assignee's automatic reminder (reminders.toml: 13:30).
    assert report.leader and report.fired == 4
    assert levels_in_history(central, ticket_id) == [("0", "1"), ("1", "2"), ("2", "3")]
    for _ in range(5):
        clock.advance(dt.timedelta(minutes=5))
        assert back.tick().fired == 0
    assert levels_in_history(central, ticket_id) == [("0", "1"), ("1", "2"), ("2", "3")]
    assert [level for level, _, _ in alerts(central, ticket_id)] == [1, 2, 3]


def test_a_reply_resets_the_level_and_the_next_clock_escalates_again(
    store: CentralStore, central: Engine, clock: ManualClock
) -> None:
    site = add_site(central)
    ticket_id = open_ticket(store, site)
    sched = server(store, clock, "a")
    sched.tick()
    clock.set(BREACH + dt.timedelta(minutes=5))
    sched.tick()
    assert ticket(central, ticket_id).escalation_level == 2
    # The agent answers at 14:05: the next-update clock (12 h on Cards) starts afresh.
    next_update = dt.datetime(2026, 12, 14, 14, 5, tzinfo=LONDON_DEC)  # Monday
    store.write(
        "ticket.update",
        {
            "id": str(ticket_id),
            "changes": {
                "status": "open",
                "first_responded_at": clock().isoformat(),
                "next_update_due": next_update.isoformat(),
            },
        },
        "alice",
    )
    clock.advance(dt.timedelta(seconds=2))
    sched.tick()  # the reconcile reads the change: back within the SLA, level reset
    assert ticket(central, ticket_id).escalation_level == 0
    assert levels_in_history(central, ticket_id)[-1] == ("2", "0")
    with read_session(central) as s:
        timers = pending_timers(s, ticket_id)
    assert sorted(timers) == [1, 2, 3]
    assert timers[2] == next_update
    # 75 % of 12 business hours: 3 h left, Monday 11:05.
    assert timers[1] == dt.datetime(2026, 12, 14, 11, 5, tzinfo=LONDON_DEC)
    clock.set(timers[1] + dt.timedelta(seconds=1))
    sched.tick()
    assert ticket(central, ticket_id).escalation_level == 1
    warnings = [a for a in alerts(central, ticket_id) if a[0] == 1]
    assert len(warnings) == 2  # one per clock episode


def test_a_stale_timer_does_not_escalate(
    store: CentralStore, central: Engine, clock: ManualClock
) -> None:
    """A due time moved later fires the old timer before the reconcile reads the change:
    the handler re-plans from the ticket and does nothing; the timer is re-armed."""
    site = add_site(central)
    ticket_id = open_ticket(store, site)
    sched = server(store, clock, "a")
    sched.tick()
    later = BREACH + dt.timedelta(hours=3)
    store.write(
        "ticket.update",
        {"id": str(ticket_id), "changes": {"first_response_due": later.isoformat()}},
        "alice",
    )
    clock.set(WARN + dt.timedelta(minutes=1))
    report = sched.tick()  # fires the 13:00 timer first, then reconciles
    assert report.fired == 1
    assert ticket(central, ticket_id).escalation_level == 0
    with read_session(central) as s:
        assert pending_timers(s, ticket_id)[1] == later - dt.timedelta(hours=1)
    clock.set(later - dt.timedelta(minutes=59))
    sched.tick()
    assert ticket(central, ticket_id).escalation_level == 1


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ([{"name": "b", "at": "due"}, {"name": "w", "at": "50%"}], "rising order"),
        ([{"name": "w", "at": "0%"}], "between 0 and 100"),
        ([{"name": "w", "at": "soon"}], "at must be"),
        ([{"name": "w", "at": "due", "notify": ["boss"]}], "notify"),
        ([{"name": "w", "at": "due", "priority": "extreme"}], "unknown priority"),
        ([], "1 to 9"),
    ],
)
def test_bad_escalation_policy_is_refused(levels: list[dict[str, object]], message: str) -> None:
    with pytest.raises(EscalationPolicyError, match=message):
        parse_escalation({"teams": {"default": {"levels": levels}}})
