"""Ticket detail fixes (issue 12 item 7): a save sends only changed fields, the form shows the
ticket's real team and assignee, due dates carry the year when not this year, overdue badge."""

from __future__ import annotations

import datetime as dt

from pytestqt.qtbot import QtBot
from sqlalchemy import Engine, update

from agentdesk.models import Agent
from agentdesk.ui.tickets.detail import TicketDetailPanel
from agentdesk.ui.tickets.pane import TicketPane
from agentdesk.ui.workspace.context import WorkspaceContext
from tests.ui_workspace.builders import Org

WAIT_MS = 10_000


def _panel(qtbot: QtBot, context: WorkspaceContext) -> TicketDetailPanel:
    panel = TicketDetailPanel(context.bridge, context.tickets)
    qtbot.addWidget(panel)
    panel.show()
    return panel


def _load(qtbot: QtBot, panel: TicketDetailPanel, ticket_id: object) -> None:
    panel._loaded = None
    panel.show_ticket(ticket_id)  # type: ignore[arg-type]
    qtbot.wait_until(lambda: panel.loaded is not None, timeout=WAIT_MS)


def test_save_without_edits_keeps_team_and_assignee(
    qtbot: QtBot, context: WorkspaceContext, org: Org
) -> None:
    tickets = context.tickets
    row = tickets.create(reason="card_lost", title="Card lost", assignee_id=org.other_agent_id)
    history = tickets.detail(row.id).history
    panel = _panel(qtbot, context)  # the team and agent choices have not arrived yet
    _load(qtbot, panel, row.id)
    with qtbot.wait_signal(panel.ticket_saved, timeout=WAIT_MS):
        panel.save.click()
    after = tickets.get(row.id)
    assert (after.team_id, after.assignee_id) == (org.team_id, org.other_agent_id)
    assert tickets.detail(row.id).history == history  # nothing written in the agent's name


def test_the_form_shows_the_real_team_and_assignee_when_choices_arrive_late(
    qtbot: QtBot, engine: Engine, context: WorkspaceContext, org: Org
) -> None:
    tickets = context.tickets
    row = tickets.create(reason="card_lost", title="Card lost", assignee_id=org.other_agent_id)
    with engine.begin() as conn:  # bob left: he is no longer among the active agents offered
        conn.execute(update(Agent).where(Agent.id == org.other_agent_id).values(active=False))
    panel = _panel(qtbot, context)
    _load(qtbot, panel, row.id)
    assert (panel.team.currentText(), panel.assignee.currentText()) == ("Cards", "Bob Agent")
    panel.set_choices(tickets.teams(), tickets.agents())  # the choices arrive after the ticket
    assert (panel.team.currentText(), panel.assignee.currentText()) == ("Cards", "Bob Agent")
    panel.title.setText("Card lost abroad")
    with qtbot.wait_signal(panel.ticket_saved, timeout=WAIT_MS):
        panel.save.click()
    after = tickets.get(row.id)
    assert after.title == "Card lost abroad" and after.assignee_id == org.other_agent_id
    changed = {h.field for h in tickets.detail(row.id).history if h.changed_by == "alice"}
    assert "assignee_id" not in changed and "team_id" not in changed


def test_due_dates_show_the_year_when_not_this_year_and_overdue_is_a_badge(
    qtbot: QtBot, context: WorkspaceContext
) -> None:
    tickets = context.tickets
    now = dt.datetime.now(dt.UTC)
    old = tickets.create(reason="card_lost", title="Old", now=now - dt.timedelta(days=800))
    panel = _panel(qtbot, context)
    _load(qtbot, panel, old.id)
    due = old.sla_due
    assert due is not None and due.year != now.year
    assert f"{due.astimezone():%d %b %Y}" in panel.heading.text()
    assert panel.overdue.isVisible() and "Overdue" in panel.overdue.text()
    fresh = tickets.create(reason="payment_failed", title="Fresh")
    _load(qtbot, panel, fresh.id)
    due = fresh.sla_due
    assert due is not None
    stamp = f"{due.astimezone():%d %b}"
    assert stamp in panel.heading.text()
    if due.astimezone().year == now.astimezone().year:
        assert f"{due.astimezone():%Y}" not in panel.heading.text().split("SLA due")[1]
    assert not panel.overdue.isVisible()


def test_the_pane_badge_counts_overdue_tickets(qtbot: QtBot, context: WorkspaceContext) -> None:
    now = dt.datetime.now(dt.UTC)
    context.tickets.create(reason="card_lost", title="Late", now=now - dt.timedelta(days=30))
    pane = TicketPane(context.bridge, context.tickets, "team")
    qtbot.addWidget(pane)
    pane.show()
    with qtbot.wait_signal(pane.status_changed, timeout=WAIT_MS):
        pane.refresh()
    assert "1 overdue" in pane.status.text()
