"""The abandoned-call worklist and callback tasks over HTTP: a real server, real mutations.

alice is a supervisor, bob (team Cards) and carol agents. The queue records are
written to ``queue_record`` as the CTI floor stores them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update

from agentdesk.client.abandoned import ServerAbandoned
from agentdesk.client.api import ServerRefused
from agentdesk.ids import uuid7
from agentdesk.models import (
    Agent,
    AuditEntry,
    Customer,
    Interaction,
    QueueRecord,
    Reminder,
    Role,
    Ticket,
)
from agentdesk.services.platform.auth import hash_password
from agentdesk.store.engine import read_session, write_session
from tests.server.conftest import PASSWORD, Desktop, RunningServer
from tests.sync.factories import REF
from tests.ui_workspace.builders import add_customer

DAY = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
T0 = DAY.timestamp() + 9 * 3600
AMELIA, STRANGER, ANSWERED = "+447700900123", "+447700900777", "+447700900555"


@pytest.fixture
def staff(server: RunningServer) -> None:
    with write_session(server.engine) as s:
        s.execute(update(Agent).where(Agent.id == REF.alice).values(role=Role.SUPERVISOR))
        s.execute(
            insert(Agent).values(
                id=uuid7(), login="carol", display_name="Carol", role=Role.AGENT,
                password_hash=hash_password(PASSWORD),
            )
        )  # fmt: skip


def store(server: RunningServer) -> None:
    rows: list[dict[str, Any]] = []

    def add(at: float, call: str, kind: str, *data: str, agent: str = "NONE") -> None:
        n = len(rows)
        rows.append({
            "site": "lab", "seq": n, "epoch": T0 + at, "kind": kind, "call_id": call,
            "queue": "cards", "agent": agent, "wait_s": None, "talk_s": None,
            "data": list(data), "dedupe_key": f"{call}|{kind}|{n}",
        })  # fmt: skip

    add(0, "a1", "ENTERQUEUE", "", AMELIA, "1")
    add(130, "a1", "ABANDON", "1", "1", "130")
    add(600, "a2", "ENTERQUEUE", "", "07700 900123", "1")
    add(610, "a2", "ABANDON", "1", "1", "10")
    add(700, "s1", "ENTERQUEUE", "", STRANGER, "1")
    add(705, "s1", "ABANDON", "1", "1", "5")
    add(800, "n1", "ENTERQUEUE", "", ANSWERED, "1")
    add(830, "n1", "ABANDON", "1", "1", "30")
    add(900, "n2", "ENTERQUEUE", "", ANSWERED, "1")
    add(905, "n2", "CONNECT", "5", "n2b", "2", agent="PJSIP/1001")
    with write_session(server.engine) as s:
        s.execute(insert(QueueRecord), rows)


def test_agents_are_refused_the_worklist_and_callbacks(
    server: RunningServer, desktop: Callable[..., Desktop], staff: None
) -> None:
    carol = ServerAbandoned(desktop("carol", fill=False).api)
    with pytest.raises(ServerRefused) as err:
        carol.worklist(DAY, DAY + dt.timedelta(days=1))
    assert err.value.status == 403
    api = desktop("carol", fill=False).api
    with pytest.raises(ServerRefused) as err:
        api.request("POST", "/supervisor/abandoned/callback",
                    json={"number": AMELIA, "team_id": str(REF.team_a)})  # fmt: skip
    assert err.value.status == 403


def test_worklist_merges_repeats_names_the_customer_and_leaves_out_answered_callers(
    server: RunningServer, desktop: Callable[..., Desktop], staff: None
) -> None:
    amelia = add_customer(server.engine, phone=AMELIA)
    store(server)
    missed = dt.datetime.fromtimestamp(T0 + 703, dt.UTC)  # s1 rang a desk before hanging up
    with write_session(server.engine) as s:
        s.execute(insert(Interaction).values(
            id=uuid7(), channel="phone", direction="inbound", started_at=missed,
            caller_id=STRANGER, linkedid="s1", ivr_intent="card_lost", created_at=missed,
        ))  # fmt: skip
    alice = ServerAbandoned(desktop("alice", fill=False).api)
    work = alice.worklist(DAY, DAY + dt.timedelta(days=1))
    assert [r.number for r in work.rows] == [STRANGER, AMELIA]
    assert [r.intent for r in work.rows] == ["card_lost", None]
    assert (work.abandoned, work.settled) == (4, 1)
    row = work.rows[1]
    assert row.count == 2 and row.longest_wait_s == 130
    assert row.customer is not None and row.customer.id == amelia
    assert work.rows[0].customer is None
    assert alice.worklist(DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=2)).rows == []
    with pytest.raises(ServerRefused) as err:
        alice.worklist(DAY, DAY - dt.timedelta(days=1))
    assert err.value.status == 400


def test_callback_for_an_agent_is_a_reminder_on_the_customer_filed_on_the_timeline_and_audited(
    server: RunningServer, desktop: Callable[..., Desktop], staff: None
) -> None:
    amelia = add_customer(server.engine, phone=AMELIA)
    store(server)
    alice = ServerAbandoned(desktop("alice", fill=False).api)
    row = alice.worklist(DAY, DAY + dt.timedelta(days=1)).rows[1]
    made = alice.callback(row, agent_id=REF.bob)
    assert made.text == "Call back +44 7700 900123 (abandoned in cards after 0:10)"
    assert made.assigned_to == "Bob" and made.ticket_id is None
    with read_session(server.engine) as s:
        reminder = s.get(Reminder, made.reminder_id)
        assert reminder is not None
        assert (reminder.agent_id, reminder.customer_id) == (REF.bob, amelia)
        assert reminder.note == made.text and reminder.state == "pending"
        note = s.get(Interaction, made.note_id)
        assert note is not None and note.customer_id == amelia and note.direction == "internal"
        assert note.subject == f"Callback task: {made.text}"
        audit = s.execute(
            select(AuditEntry.actor, AuditEntry.entity_id).where(
                AuditEntry.action == "supervisor.abandoned_callback"
            )
        ).all()
    assert [(a, str(e)) for a, e in audit] == [("alice", str(made.reminder_id))]
    # bob calls her back and marks the reminder done: she leaves the worklist.
    assert [r.number for r in alice.worklist(DAY, DAY + dt.timedelta(days=1)).rows] == [
        STRANGER, AMELIA,
    ]  # fmt: skip
    server.ctx.store.write("reminder.close", {"id": str(made.reminder_id)}, "bob")
    assert [r.number for r in alice.worklist(DAY, DAY + dt.timedelta(days=1)).rows] == [STRANGER]


def test_callback_for_a_team_is_a_ticket_routed_to_it_and_an_unknown_caller_has_no_timeline(
    server: RunningServer, desktop: Callable[..., Desktop], staff: None
) -> None:
    store(server)
    alice = ServerAbandoned(desktop("alice", fill=False).api)
    row = alice.worklist(DAY, DAY + dt.timedelta(days=1)).rows[0]
    made = alice.callback(row, team_id=REF.team_a)
    assert made.assigned_to == "Cards" and made.reminder_id is None and made.note_id is None
    with read_session(server.engine) as s:
        ticket = s.get(Ticket, made.ticket_id)
        assert ticket is not None and ticket.team_id == REF.team_a
        assert ticket.title == "Call back +44 7700 900777 (abandoned in cards after 0:05)"
        assert ticket.customer_id is None and ticket.resolution_due is not None
    # For an agent, an unknown caller's reminder is about a callback ticket in their team.
    made = alice.callback(row, agent_id=REF.bob)
    with read_session(server.engine) as s:
        ticket = s.get(Ticket, made.ticket_id)
        reminder = s.get(Reminder, made.reminder_id)
        assert ticket is not None and reminder is not None
        assert (ticket.assignee_id, ticket.team_id) == (REF.bob, REF.team_a)
        assert reminder.ticket_id == ticket.id


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"number": AMELIA}, "either an agent or a team"),
        ({"number": AMELIA, "agent_id": str(REF.bob), "team_id": str(REF.team_a)}, "either"),
        ({"number": "anonymous", "team_id": str(REF.team_a)}, "cannot be called back"),
        ({"number": AMELIA, "team_id": str(REF.team_a), "customer_id": str(REF.alice)},
         "does not have this number"),
        ({"number": AMELIA, "agent_id": str(uuid7())}, "No such active agent"),
    ],
)  # fmt: skip
def test_bad_callbacks_get_a_clear_answer_and_write_nothing(
    server: RunningServer,
    desktop: Callable[..., Desktop],
    staff: None,
    body: dict[str, str],
    words: str,
) -> None:
    add_customer(server.engine, phone=AMELIA)
    api = desktop("alice", fill=False).api
    with pytest.raises(ServerRefused) as err:
        api.request("POST", "/supervisor/abandoned/callback", json=body)
    assert err.value.status in (404, 422) and words in str(err.value)
    with read_session(server.engine) as s:
        assert s.scalar(select(func.count()).select_from(Reminder)) == 0
        assert s.scalar(select(func.count()).select_from(Ticket)) == 0


def test_a_customer_who_asked_not_to_be_phoned_is_refused(
    server: RunningServer, desktop: Callable[..., Desktop], staff: None
) -> None:
    amelia = add_customer(server.engine, phone=AMELIA)
    with write_session(server.engine) as s:
        s.execute(update(Customer).where(Customer.id == amelia).values(phone_opt_out=True))
    store(server)
    alice = ServerAbandoned(desktop("alice", fill=False).api)
    row = alice.worklist(DAY, DAY + dt.timedelta(days=1)).rows[1]
    assert row.opted_out and row.customer is not None and row.customer.phone_opt_out
    assert not alice.worklist(DAY, DAY + dt.timedelta(days=1)).rows[0].opted_out
    for target in ({"agent_id": REF.bob}, {"team_id": REF.team_a}):
        with pytest.raises(ServerRefused) as err:
            alice.callback(row, **target)
        assert err.value.status == 422
        assert "Amelia Okafor asked not to be phoned" in str(err.value)
    with read_session(server.engine) as s:
        assert s.scalar(select(func.count()).select_from(Reminder)) == 0
        assert s.scalar(select(func.count()).select_from(Ticket)) == 0
        assert s.scalar(select(func.count()).select_from(Interaction)) == 0


def test_targets_list_active_agents_and_teams_for_supervisors_only(
    server: RunningServer, desktop: Callable[..., Desktop], staff: None
) -> None:
    with write_session(server.engine) as s:
        s.execute(update(Agent).where(Agent.login == "carol").values(active=False))
    found = ServerAbandoned(desktop("alice", fill=False).api).targets()
    assert found.teams == ((REF.team_a, "Cards"), (REF.team_b, "Mortgages"))
    assert [name for _, name in found.agents] == ["Alice", "Bob"]
    with write_session(server.engine) as s:
        s.execute(update(Agent).where(Agent.login == "carol").values(active=True))
    with pytest.raises(ServerRefused) as err:
        ServerAbandoned(desktop("carol", fill=False).api).targets()
    assert err.value.status == 403


def test_open_callback_tasks_are_named_on_the_list_from_the_database(
    server: RunningServer, desktop: Callable[..., Desktop], staff: None
) -> None:
    add_customer(server.engine, phone=AMELIA)
    store(server)
    alice = ServerAbandoned(desktop("alice", fill=False).api)
    stranger, amelia = alice.worklist(DAY, DAY + dt.timedelta(days=1)).rows
    assert (stranger.task, amelia.task) == (None, None)
    made = alice.callback(amelia, agent_id=REF.bob)
    alice.callback(stranger, team_id=REF.team_a)
    # The team's ticket went to bob by the team's assignment mode.
    # Asked again (a new window, or after a restart): the tasks are read back, not remembered.
    again = ServerAbandoned(desktop("alice", fill=False).api)
    rows = again.worklist(DAY, DAY + dt.timedelta(days=1)).rows
    assert [(r.number, r.task) for r in rows] == [(STRANGER, "Cards (Bob)"), (AMELIA, "Bob")]
    # A task dealt with is no longer open: bob cancels his (she is not settled by that).
    server.ctx.store.write(
        "reminder.close", {"id": str(made.reminder_id), "outcome": "cancelled"}, "bob"
    )
    rows = again.worklist(DAY, DAY + dt.timedelta(days=1)).rows
    assert [(r.number, r.task) for r in rows] == [(STRANGER, "Cards (Bob)"), (AMELIA, None)]


def test_a_teams_callback_ticket_resolved_takes_the_caller_off_the_list(
    server: RunningServer, desktop: Callable[..., Desktop], staff: None
) -> None:
    store(server)
    alice = ServerAbandoned(desktop("alice", fill=False).api)
    stranger = alice.worklist(DAY, DAY + dt.timedelta(days=1)).rows[0]
    made = alice.callback(stranger, team_id=REF.team_a)
    assert made.ticket_id is not None
    server.ctx.store.write(
        "ticket.update", {"id": str(made.ticket_id), "changes": {"status": "open"}}, "bob"
    )
    assert [r.number for r in alice.worklist(DAY, DAY + dt.timedelta(days=1)).rows] == [
        STRANGER, AMELIA,
    ]  # fmt: skip
    server.ctx.store.write(
        "ticket.update", {"id": str(made.ticket_id), "changes": {"status": "resolved"}}, "bob"
    )
    work = alice.worklist(DAY, DAY + dt.timedelta(days=1))
    assert [r.number for r in work.rows] == [AMELIA] and work.settled == 2


def test_an_agent_may_bring_in_the_customer_of_their_open_callback_task_only(
    server: RunningServer, desktop: Callable[..., Desktop], staff: None
) -> None:
    amelia = add_customer(server.engine, phone=AMELIA)
    store(server)
    bob = desktop("bob", fill=False)
    with pytest.raises(ServerRefused) as err:  # need-to-know: never handed to bob
        bob.syncer.cache_customers([amelia])
    assert err.value.status == 403
    alice = ServerAbandoned(desktop("alice", fill=False).api)
    made = alice.callback(alice.worklist(DAY, DAY + dt.timedelta(days=1)).rows[1], agent_id=REF.bob)
    assert bob.syncer.cache_customers([amelia]) >= 1  # his task is about her
    with pytest.raises(ServerRefused):  # carol holds no task about her
        desktop("carol", fill=False).syncer.cache_customers([amelia])
    server.ctx.store.write("reminder.close", {"id": str(made.reminder_id)}, "bob")
    with pytest.raises(ServerRefused):  # a fresh desk of bob's, the task done: no longer
        desktop("bob", fill=False).syncer.cache_customers([amelia])
