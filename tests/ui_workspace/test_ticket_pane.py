"""Ticket panes: model contract, SLA colours and countdown, create/update, conflict banner."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from agentdesk.services.tickets.routing import load_rules
from agentdesk.services.tickets.service import TicketService
from agentdesk.services.tickets.sla import load_policy
from agentdesk.store.writer import LocalWriter
from agentdesk.ui.shell_widgets import fit_columns
from agentdesk.ui.tickets.model import SLA_COLUMN, TicketTableModel
from agentdesk.ui.tickets.pane import TicketPane
from agentdesk.ui.workspace.context import WorkspaceContext
from tests.ui_workspace.builders import Org, add_customer

WAIT_MS = 10_000


def _pane(qtbot: QtBot, context: WorkspaceContext, scope: str) -> TicketPane:
    pane = TicketPane(context.bridge, context.tickets, scope)  # type: ignore[arg-type]
    qtbot.addWidget(pane)
    pane.resize(1200, 600)
    pane.show()
    return pane


# Round the clock, so the colours do not depend on the hour the test runs at.
ROUND_THE_CLOCK = """
[reasons.card_lost]
label = "Lost or stolen card"
[calendars.always]
hours = "24x7"
[teams.default]
calendar = "always"
normal = { first_response = "30m", next_update = "1h", resolution = "4h" }
urgent = { first_response = "5m", next_update = "30m", resolution = "1h" }
[priority]
low = 2.0
high = 0.5
"""


def test_models_pass_the_model_tester_and_colour_sla(
    qtbot: QtBot,
    qtmodeltester: ModelTester,
    context: WorkspaceContext,
    engine: Engine,
    org: Org,
    tmp_path: Path,
) -> None:
    (tmp_path / "sla.toml").write_text(ROUND_THE_CLOCK, "utf-8")
    policy = load_policy(tmp_path / "sla.toml")
    writer = LocalWriter(engine, "alice")
    tickets = TicketService(engine, writer, policy, org.agent_id, rules=load_rules())
    opened = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=50)
    for priority in ("low", "high", "urgent"):
        tickets.create(reason="card_lost", title=f"{priority} one", priority=priority, now=opened)
    pane = TicketPane(context.bridge, tickets, "team")
    qtbot.addWidget(pane)
    pane.resize(1200, 600)
    pane.show()
    with qtbot.wait_signal(pane.status_changed, timeout=WAIT_MS):
        pane.refresh()
    qtmodeltester.check(pane.model)
    qtmodeltester.check(pane.proxy)
    model: TicketTableModel = pane.model
    first = pane.proxy.index(0, SLA_COLUMN)  # sorted by due time: urgent first, already overdue
    assert "overdue" in first.data()
    assert first.data(Qt.ItemDataRole.BackgroundRole).color().name() == "#c62828"
    rows = {model.row_at(r).priority: r for r in range(model.rowCount())}
    low = model.index(rows["low"], SLA_COLUMN)
    assert model.data(low, Qt.ItemDataRole.BackgroundRole) is None  # 1h first response: 10 min left
    model.tick(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=8))  # 2 of 10 minutes left
    assert low.data(Qt.ItemDataRole.BackgroundRole).color().name() == "#f9a825"  # near breach
    pane.filter.setText("urgent")
    assert pane.proxy.rowCount() == 1


def test_create_from_workspace_then_update_status_and_comment(
    qtbot: QtBot, engine: Engine, context: WorkspaceContext, org: Org
) -> None:
    cid = add_customer(engine)
    pane = _pane(qtbot, context, "customer")
    with qtbot.wait_signal(pane.status_changed, timeout=WAIT_MS):
        pane.show_customer(cid)
    with qtbot.wait_signal(pane.ticket_saved, timeout=WAIT_MS):
        pane.create_ticket(
            {
                "reason": "card_dispute",
                "title": "Disputed £42.10 at Café Zürich",
                "description": "Customer did not make this payment",
                "priority": "high",
                "severity": "major",
                "team_id": org.team_id,
            }
        )
    qtbot.wait_until(lambda: pane.detail.loaded is not None, timeout=WAIT_MS)
    assert pane.model.rowCount() == 1 and pane.detail.loaded.title.startswith("Disputed")
    pane.detail.status.setCurrentIndex(pane.detail.status.findData("open"))
    pane.detail.assignee.setCurrentIndex(pane.detail.assignee.findData(str(org.agent_id)))
    with qtbot.wait_signal(pane.ticket_saved, timeout=WAIT_MS):
        pane.detail.save.click()
    qtbot.wait_until(lambda: pane.detail.loaded.status == "open", timeout=WAIT_MS)
    assert pane.detail.loaded.assignee == "Alice Agent"
    pane.detail.new_comment.setPlainText("Merchant contacted; refund expected ✓")
    with qtbot.wait_signal(pane.ticket_saved, timeout=WAIT_MS):
        pane.detail.add_comment.click()
    qtbot.wait_until(lambda: pane.detail.comments_model.rowCount() == 1, timeout=WAIT_MS)
    fields = {h.field for h in pane.detail.history_model.rows}
    assert {"created", "status", "assignee_id"} <= fields


def test_second_agent_sees_a_conflict_banner(
    qtbot: QtBot, engine: Engine, context: WorkspaceContext, org: Org
) -> None:
    cid = add_customer(engine)
    created = context.tickets.create(
        reason="payment_failed", title="Salary missing", customer_id=cid
    )
    pane = _pane(qtbot, context, "customer")
    with qtbot.wait_signal(pane.status_changed, timeout=WAIT_MS):
        pane.show_customer(cid)
    pane.select_ticket(created.id)
    qtbot.wait_until(lambda: pane.detail.loaded is not None, timeout=WAIT_MS)
    bob = TicketService(engine, LocalWriter(engine, "bob"), load_policy(), org.other_agent_id)
    bob.update(bob.get(created.id), {"priority": "urgent"})  # saved elsewhere meanwhile
    pane.detail.priority.setCurrentIndex(pane.detail.priority.findData("low"))
    pane.detail.save.click()
    qtbot.wait_until(lambda: pane.detail.conflict.isVisible(), timeout=WAIT_MS)
    assert "they saved “urgent”" in pane.detail.conflict.text()
    assert context.tickets.get(created.id).priority == "urgent"  # nothing overwritten
    with qtbot.wait_signal(pane.ticket_saved, timeout=WAIT_MS):
        pane.detail.apply_mine.click()
    assert context.tickets.get(created.id).priority == "low"


def test_a_narrow_pane_puts_the_detail_under_the_list_so_headings_fit(
    qtbot: QtBot, context: WorkspaceContext
) -> None:
    """Seen docked at 1366×768 (~470 px): side by side the list got ~190 px and every
    column heading was cut ("umbe", "ustom", "easor")."""
    pane = _pane(qtbot, context, "mine")
    fit_columns(pane.table)  # as the desk docks it
    assert pane.splitter.orientation() == Qt.Orientation.Horizontal  # 1200 px: side by side
    pane.resize(470, 640)
    qtbot.wait_until(lambda: pane.splitter.orientation() == Qt.Orientation.Vertical)
    header = pane.table.horizontalHeader()
    qtbot.wait_until(lambda: pane.table.viewport().width() > 400)
    shown = [c for c in range(header.count()) if not header.isSectionHidden(c)]
    titles = [pane.model.headerData(c, Qt.Orientation.Horizontal) for c in shown]
    assert titles == ["Number", "Customer", "Reason", "Priority", "SLA due"]  # the rest below

    def cut() -> list[str]:
        return [
            str(pane.model.headerData(c, Qt.Orientation.Horizontal))
            for c in shown
            if header.sectionSize(c) < header.sectionSizeHint(c)
        ]

    qtbot.wait_until(lambda: cut() == [])  # the columns refit once the others are hidden
    pane.resize(1200, 600)
    qtbot.wait_until(lambda: pane.splitter.orientation() == Qt.Orientation.Horizontal)
    assert not any(header.isSectionHidden(c) for c in range(header.count()))
