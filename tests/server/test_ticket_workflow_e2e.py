"""Issue 12 end to end: wrap-up with a follow-up ticket → routed to the team → reminder on the
assignee's desktop → breach escalates to the team lead → the customer's e-mail, in German.

Everything is real but the clock: a server on loopback (SQLite and PostgreSQL), desktops as
the server sees them (session, encrypted cache, outbox, syncer), the site's scheduler built
as the server builds it but ticked by hand against a ``ManualClock``, and aiosmtpd on
loopback receiving the mail. No sleeps: every step is a tick, a sync cycle or a request.

The shipped policies decide: ``card_lost`` routes to Cards (round robin, priority high);
Cards' floor opens 08:00-20:00, so a high ticket opened Friday 10:00 owes its first
response by 12:00 (4 h × 0.5). ``reminders.toml`` reminds the assignee 30 min before
(11:30); ``escalation.toml`` (default levels) warns the assignee at 75 % (11:30) and at the
breach (12:00) alerts the assignee and the team lead (Cards' member with the supervisor
role).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select, update

from agentdesk.app import follow_up_tickets
from agentdesk.client.api import ServerApi
from agentdesk.client.central import HttpCentral
from agentdesk.models import Agent, AuditEntry, Role, Ticket, TicketHistory, agent_team
from agentdesk.server.app import build_context, create_app
from agentdesk.server.run import ServerThread
from agentdesk.server.scheduler import ManualClock, Scheduler, SchedulerSettings, build_scheduler
from agentdesk.server.settings import ListenSettings, ServerSettings
from agentdesk.services.desk.call_data import IvrData
from agentdesk.services.desk.screen_pop import CallInfo, CallPhase
from agentdesk.services.desk.wrapup import WrapUpDraft, WrapUpService, load_dispositions
from agentdesk.services.platform.auth import hash_password
from agentdesk.services.tickets.reminders import DeskFollowUps
from agentdesk.services.tickets.service import TicketService
from agentdesk.services.tickets.sla import load_policy
from agentdesk.store.engine import read_session, write_session
from agentdesk.store.sync import Syncer, SyncScope
from agentdesk.store.sync.local import LocalStore
from agentdesk.store.writer import LocalWriter
from tests.services.notifications.conftest import Relay, relay  # noqa: F401 - the fixture
from tests.sync.conftest import make_cache
from tests.sync.factories import REF, person, seed_reference
from tests.ui_workspace.builders import FIELD_KEYRING

PASSWORD = "correct horse"
FRIDAY_10 = dt.datetime(2026, 12, 11, 10, 0, tzinfo=dt.UTC)  # London keeps GMT in December
REMIND, BREACH = FRIDAY_10.replace(hour=11, minute=30), FRIDAY_10.replace(hour=12)
LENA = uuid.UUID("0190f000-0000-7000-8000-0000000000c1")


@dataclass
class Desk:
    login: str
    api: ServerApi
    engine: Engine
    writer: LocalWriter
    syncer: Syncer


@dataclass
class Site:
    url: str
    engine: Engine
    scheduler: Scheduler
    clock: ManualClock
    tmp: Path
    desks: list[Desk] = field(default_factory=list)

    def desk(self, login: str) -> Desk:
        api = ServerApi(self.url)
        grant = api.sign_in(login, PASSWORD, f"ws-{login}")
        engine = make_cache(self.tmp / f"{login}-{uuid.uuid4().hex[:6]}.db")
        scope = SyncScope(
            team_ids=grant.team_ids, agent_id=grant.agent_id, full_replica=grant.full_replica
        )
        syncer = Syncer(LocalStore(engine), HttpCentral(api), scope, login)
        syncer.ensure_filled()
        desk = Desk(login, api, engine, LocalWriter(engine, login), syncer)
        self.desks.append(desk)
        return desk

    def close(self) -> None:
        for desk in self.desks:
            desk.api.close()
            desk.engine.dispose()

    def at(self, when: dt.datetime) -> None:
        """Move the clock to ``when`` and let the site's scheduler do its work (two ticks:
        the jobs of one tick set timers the next one fires)."""
        self.clock.set(when)
        for _ in range(2):
            assert self.scheduler.tick().leader


@pytest.fixture
def site(central: Engine, relay: Relay, tmp_path: Path) -> Iterator[Site]:  # noqa: F811
    seed_reference(central)
    with write_session(central) as s:
        s.execute(update(Agent).values(password_hash=hash_password(PASSWORD)))
        s.execute(update(Agent).where(Agent.id == REF.bob).values(role=Role.AGENT))
        s.execute(
            insert(Agent).values(
                id=LENA, login="lena", display_name="Lena Lead", role=Role.SUPERVISOR,
                password_hash=hash_password(PASSWORD), active=True,
            )
        )  # fmt: skip
        s.execute(insert(agent_team).values(agent_id=LENA, team_id=REF.team_a))  # Cards' lead
    clock = ManualClock(FRIDAY_10)
    ctx = build_context(central, ServerSettings(), cipher=FIELD_KEYRING)
    # The site's scheduler as the server builds it (escalation, reminders, policy reminders,
    # notifications over SMTP), on the hand-moved clock; the server runs no background one.
    scheduler = build_scheduler(
        ctx.store,
        SchedulerSettings(site="e2e", tick_seconds=1, lease_seconds=30),
        smtp=relay.settings(),
        clock=clock,
        holder="e2e",
    )
    ctx.scheduler = None
    for hook in scheduler.startup:
        hook()
    thread = ServerThread(create_app(ctx), ListenSettings(host="127.0.0.1", port=0))
    url = thread.start()
    made = Site(url, central, scheduler, clock, tmp_path)
    yield made
    made.close()
    thread.stop()


def _wrap_up_with_follow_up(bob: Desk, customer_id: uuid.UUID, clock: ManualClock) -> uuid.UUID:
    """What the desk does at F9 after a lost-card call: the interaction and its ticket."""
    tickets = TicketService(bob.engine, bob.writer, load_policy(), REF.bob, clock=clock)
    wrapups = WrapUpService(
        bob.writer, load_dispositions(), ticket_creator=follow_up_tickets(tickets)
    )
    start = (FRIDAY_10 - dt.timedelta(minutes=6)).timestamp()
    call = CallInfo(
        linkedid="1765447200.42", uniqueid="1765447200.42", queue="cards",
        caller_raw="07700 900123", caller_name=None, agent_channel="PJSIP/bob",
        phase=CallPhase.ENDED, offered_at=start, ivr=IvrData(intent="card_lost", language="de"),
        connected_at=start + 5, ended_at=start + 300, talk_seconds=295,
    )  # fmt: skip
    ctx = wrapups.begin(call, REF.bob, customer_id, FRIDAY_10 - dt.timedelta(minutes=1))
    draft = WrapUpDraft(
        "ticket", notes="Card lost in Munich; blocked.", follow_up_title="Replacement card"
    )
    saved = wrapups.save(ctx, draft, clock())
    assert saved.ticket_id is not None
    return saved.ticket_id


def test_wrap_up_to_routed_ticket_reminder_escalation_and_german_mail(
    site: Site,
    relay: Relay,  # noqa: F811
) -> None:
    bob = site.desk("bob")
    customer = person(preferred_language="de", preferred_channel="email")
    bob.writer.write("customer.create", customer)
    ticket_id = _wrap_up_with_follow_up(bob, uuid.UUID(str(customer["id"])), site.clock)
    bob.syncer.cycle()  # the outbox goes out: customer, ticket, interaction

    # Routed to the team: Cards by the "lost-card" rule, round robin to its agent.
    with read_session(site.engine) as s:
        ticket = s.get(Ticket, ticket_id)
        assert ticket is not None
        assert (ticket.team_id, ticket.assignee_id) == (REF.team_a, REF.bob)
        assert ticket.priority.value == "high" and ticket.first_response_due == BREACH
        routing = s.scalars(
            select(TicketHistory.new_value).where(
                TicketHistory.ticket_id == ticket_id, TicketHistory.field == "routing"
            )
        ).all()
    assert any("lost-card" in (r or "") for r in routing), routing

    # The scheduler plans: a policy reminder for bob at 11:30; the customer is mailed.
    site.at(FRIDAY_10)
    [mail] = relay.mailbox.messages
    assert mail["To"] == "Ada@Example.org" and mail["Content-Language"] == "de"
    assert mail["Subject"].startswith("Wir haben Ihr Anliegen T-")
    assert ticket.number in mail["Subject"]

    desk = DeskFollowUps(bob.engine, bob.writer, REF.bob, clock=site.clock)
    bob.syncer.cycle()
    [upcoming] = desk.load().upcoming
    assert (upcoming.ticket_id, upcoming.due_at) == (ticket_id, REMIND)
    assert upcoming.note is not None and ticket.number in upcoming.note
    assert desk.load().due == ()

    # 11:30: the reminder comes due on bob's desktop (and the 75 % warning alerts him).
    site.at(REMIND)
    bob.syncer.cycle()
    lists = desk.load()
    assert [r.id for r in lists.due] == [upcoming.id] and lists.upcoming == ()
    assert [(a.ticket_id, a.level_name) for a in lists.alerts] == [(ticket_id, "warning")]

    # 12:00: the breach escalates to the team lead, who sees it in the supervisor's list.
    site.at(BREACH)
    with read_session(site.engine) as s:
        assert s.get(Ticket, ticket_id).escalation_level == 2  # type: ignore[union-attr]
    lena = site.desk("lena")
    listed = lena.api.request("GET", "/supervisor/escalations")
    assert [(t["ticket_id"], t["level_name"]) for t in listed["tickets"]] == [
        (str(ticket_id), "breach")
    ]
    [alert] = listed["alerts"]
    assert (alert["ticket_id"], alert["recipient_role"]) == (str(ticket_id), "team_lead")
    lena.syncer.cycle()
    lena_desk = DeskFollowUps(lena.engine, lena.writer, LENA, clock=site.clock)
    assert [a.id for a in lena_desk.load().alerts] == [uuid.UUID(alert["id"])]
    lena_desk.read_alert(uuid.UUID(alert["id"]))
    lena.syncer.cycle()
    assert lena_desk.load().alerts == ()
    with read_session(site.engine) as s:
        actors = s.scalars(
            select(AuditEntry.actor).where(AuditEntry.action == "ticket_alert.read")
        ).all()
    assert actors == ["lena"]
    bob.syncer.cycle()
    assert [a.level_name for a in desk.load().alerts] == ["breach", "warning"]

    # Bob calls back and answers: the first response stops the clock; the reminder for it
    # is withdrawn and the next one (next update) is set.
    desk.done(upcoming.id)
    tickets = TicketService(bob.engine, bob.writer, load_policy(), REF.bob, clock=site.clock)
    tickets.update(tickets.get(ticket_id), {"status": "open"})  # leaving "new": responded
    bob.syncer.cycle()
    site.at(BREACH + dt.timedelta(minutes=5))
    bob.syncer.cycle()
    lists = desk.load()
    assert lists.due == ()
    [next_one] = lists.upcoming
    assert next_one.id != upcoming.id and next_one.note is not None
    assert "next update" in next_one.note
    assert next_one.due_at == FRIDAY_10.replace(hour=17, minute=30)  # 6 business hours, -30m
    assert len(relay.mailbox.messages) == 1  # "open" is not a status customers are sent

    # Resolved: the customer hears it, in German; bob's reminder for it is withdrawn.
    tickets.update(tickets.get(ticket_id), {"status": "resolved"})
    bob.syncer.cycle()
    site.at(BREACH + dt.timedelta(minutes=10))
    bob.syncer.cycle()
    subjects = [m["Subject"] for m in relay.mailbox.messages]
    # The service message, then the survey (marketing: this customer has not opted out).
    assert subjects[1:] == [
        f"Ihr Anliegen {ticket.number} ist erledigt",
        "Wie zufrieden waren Sie?",
    ]
    assert {m["Content-Language"] for m in relay.mailbox.messages} == {"de"}
    assert desk.load().upcoming == () and desk.load().due == ()
