"""The supervisor's escalation list over HTTP, and marking an alert read (authorised, audited).

A real server on loopback over SQLite and PostgreSQL (``central``): alice is a
supervisor in Mortgages, bob an agent in Cards. The alerts are the rows the
escalation handler writes; here they are inserted as it would.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import insert, select, update

from agentdesk.client.api import ServerRefused
from agentdesk.ids import uuid7
from agentdesk.models import Agent, AuditEntry, Role, TicketAlert
from agentdesk.services.tickets.escalation import alerts_for
from agentdesk.store.engine import read_session, write_session
from agentdesk.store.sync.protocol import PushEntry
from tests.server.conftest import Desktop, RunningServer
from tests.sync.factories import REF, ticket

NOW = dt.datetime(2026, 12, 11, 14, 0, tzinfo=dt.UTC)


def escalate(server: RunningServer, team: uuid.UUID) -> tuple[uuid.UUID, dict[str, uuid.UUID]]:
    """A ticket of ``team`` at level 2 with a breach alert for bob and one for alice."""
    args = ticket(team_id=team, assignee_id=REF.bob if team == REF.team_a else None)
    server.ctx.store.write("ticket.create", args, "bob")
    ticket_id = uuid.UUID(str(args["id"]))
    server.ctx.store.write(
        "ticket.update", {"id": str(ticket_id), "changes": {"escalation_level": 2}}, "escalation"
    )
    ids = {"bob": uuid7(), "alice": uuid7()}
    with write_session(server.engine) as s:
        s.execute(update(Agent).where(Agent.id == REF.alice).values(role=Role.SUPERVISOR))
        for login, recipient, role in (
            ("bob", REF.bob, "assignee"),
            ("alice", REF.alice, "supervisor"),
        ):
            s.execute(
                insert(TicketAlert).values(
                    id=ids[login], ticket_id=ticket_id, level=2, level_name="breach",
                    clock="first_response", episode=NOW.isoformat(), recipient_id=recipient,
                    recipient_role=role, created_at=NOW,
                )
            )  # fmt: skip
    return ticket_id, ids


def test_the_list_shows_escalated_tickets_and_the_supervisors_unread_alerts(
    server: RunningServer, desktop: Callable[..., Desktop]
) -> None:
    ticket_id, alerts = escalate(server, REF.team_b)
    _other, other_alerts = escalate(server, REF.team_a)  # Cards: not alice's team
    alice, bob = desktop("alice", fill=False), desktop("bob", fill=False)
    with pytest.raises(ServerRefused) as refused:
        bob.api.request("GET", "/supervisor/escalations")
    assert refused.value.status == 403
    listed = alice.api.request("GET", "/supervisor/escalations", params={"limit": 50})
    assert [t["ticket_id"] for t in listed["tickets"]] == [str(ticket_id)]
    [row] = listed["tickets"]
    assert (row["escalation_level"], row["team"], row["status"]) == (2, "Mortgages", "new")
    # Alerts are per person: both of alice's, whichever team the ticket is in; none of bob's.
    assert {a["id"] for a in listed["alerts"]} == {str(alerts["alice"]), str(other_alerts["alice"])}
    assert all(a["level_name"] == "breach" for a in listed["alerts"])
    with pytest.raises(ServerRefused) as bad:
        alice.api.request("GET", "/supervisor/escalations", params={"limit": 0})
    assert bad.value.status == 400 and "limit" in str(bad.value)


def test_marking_read_is_the_recipients_only_and_audited(
    server: RunningServer, desktop: Callable[..., Desktop]
) -> None:
    _, alerts = escalate(server, REF.team_b)
    alice, bob = desktop("alice", fill=False), desktop("bob")
    path = "/supervisor/alerts/{}/read"
    with pytest.raises(ServerRefused) as foreign:
        alice.api.request("POST", path.format(alerts["bob"]))
    assert foreign.value.status == 404  # another person's alert is not told apart from none
    with pytest.raises(ServerRefused) as missing:
        alice.api.request("POST", path.format(uuid7()))
    assert missing.value.status == 404
    assert alice.api.request("POST", path.format(alerts["alice"]))["status"] == "read"
    assert alice.api.request("POST", path.format(alerts["alice"]))["status"] == "unchanged"
    assert alerts_for(server.engine, REF.alice) == []
    # A desk that pushes a read of someone else's alert (its cache never holds one; this one
    # is forged) is refused by the server; its own goes through the outbox and is read.
    forged = PushEntry(1, uuid7(), "ticket_alert.read", {"id": str(alerts["alice"])})
    forger = desktop("bob", fill=False)  # another cache of bob's, with its own counter
    reply = forger.central.apply_batch(forger.syncer.client_id, [forged], frozenset())
    [refused] = reply.results
    assert refused.state == "rejected" and "recipient" in (refused.error or "")
    bob.writer.write("ticket_alert.read", {"id": str(alerts["bob"])})
    bob.syncer.cycle()
    assert bob.syncer.local.rejected() == []
    assert alerts_for(server.engine, REF.bob) == []
    with read_session(server.engine) as s:
        audit = s.execute(
            select(AuditEntry.actor, AuditEntry.entity_id)
            .where(AuditEntry.action == "ticket_alert.read")
            .order_by(AuditEntry.seq)
        ).all()
    assert [tuple(a) for a in audit] == [
        ("alice", str(alerts["alice"])),
        ("bob", str(alerts["bob"])),
    ]
    # The read travelled back to bob's cache on the feed.
    with read_session(bob.engine) as s:
        row = s.get(TicketAlert, alerts["bob"])
        assert row is not None and row.read_at is not None
