"""Who changed a ticket, in words: the timeline and the ticket's History tab showed the set-up
data's raw "seed" (and would show "escalation", "routing", a login) as the agent. A system job
reads as "System (…)", an agent as their display name."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from agentdesk.ids import uuid7
from agentdesk.models import TicketHistory
from agentdesk.services.labels import shipped_labels
from agentdesk.services.notifications import outbox
from agentdesk.services.tickets import escalation
from agentdesk.store.engine import write_session
from agentdesk.store.mutators.tickets import ROUTING_ACTOR
from agentdesk.ui.tickets.detail import TicketDetailPanel
from agentdesk.ui.timeline.delegate import meta_line
from agentdesk.ui.timeline.model import accessible_text
from agentdesk.ui.timeline.view import TimelineView
from agentdesk.ui.workspace.context import WorkspaceContext
from tests.ui_workspace.builders import Org, add_customer

WAIT_MS = 10_000
HORIZONTAL = Qt.Orientation.Horizontal
SEED = "seed"  # what the seed data generator writes as changed_by
SYSTEM_ACTORS = (SEED, ROUTING_ACTOR, escalation.ACTOR, outbox.ACTOR, "system", "scheduler")


def _change(engine: Engine, ticket_id: object, by: str, minutes: int) -> None:
    with write_session(engine) as s:
        s.add(
            TicketHistory(
                id=uuid7(), ticket_id=ticket_id, field="status", old_value="new",
                new_value="open", changed_by=by,
                changed_at=dt.datetime(2025, 11, 17, 3, minutes, tzinfo=dt.UTC),
            )
        )  # fmt: skip


@pytest.fixture
def ticket(engine: Engine, context: WorkspaceContext) -> tuple[object, object]:
    cid = add_customer(engine)
    row = context.tickets.create(reason="card_lost", title="Card lost", customer_id=cid)
    _change(engine, row.id, SEED, 54)
    _change(engine, row.id, escalation.ACTOR, 55)
    return cid, row.id


def test_every_system_actor_has_words() -> None:
    labels = shipped_labels()
    for code in SYSTEM_ACTORS:
        words = labels.actor(code)
        assert words.startswith("System") and code not in words.split(), (code, words)
    assert labels.actor(SEED) == "System (set-up data)"
    assert labels.actor("Alice Agent") == "Alice Agent"  # a person's name stays as it is


def test_the_timeline_names_the_system_and_the_agent(
    qtbot: QtBot, context: WorkspaceContext, org: Org, ticket: tuple[object, object]
) -> None:
    cid, _tid = ticket
    view = TimelineView(context.bridge, context.timeline, context.agent_id, 200)
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    with qtbot.wait_signal(view.model.counted, timeout=WAIT_MS):
        view.show_customer(cid)  # type: ignore[arg-type]
    qtbot.wait_until(
        lambda: all(view.model.entry_at(r) for r in range(view.model.entry_count())),
        timeout=WAIT_MS,
    )
    entries = [view.model.entry_at(r) for r in range(view.model.entry_count())]
    agents = {e.agent for e in entries if e is not None and e.kind == "ticket_event"}
    assert agents == {
        "System (set-up data)", "System (SLA escalation)", "System (ticket routing)", "Alice Agent"
    }  # fmt: skip
    for entry in entries:
        assert entry is not None
        for text in (meta_line(entry), accessible_text(entry)):
            assert SEED not in text.split() and "alice" not in text.split(), text


def test_the_ticket_history_tab_names_the_system_and_the_agent(
    qtbot: QtBot, context: WorkspaceContext, org: Org, ticket: tuple[object, object]
) -> None:
    _cid, tid = ticket
    panel = TicketDetailPanel(context.bridge, context.tickets)
    qtbot.addWidget(panel)
    panel.show()
    panel.show_ticket(tid)  # type: ignore[arg-type]
    qtbot.wait_until(lambda: panel.loaded is not None, timeout=WAIT_MS)
    model = panel.history_model
    by = next(c for c in range(model.columnCount()) if model.headerData(c, HORIZONTAL) == "By")
    shown = {model.index(r, by).data() for r in range(model.rowCount())}
    assert shown == {
        "System (set-up data)", "System (SLA escalation)", "System (ticket routing)", "Alice Agent"
    }  # fmt: skip
