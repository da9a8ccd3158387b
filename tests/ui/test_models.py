"""Every item model the desktop shows passes Qt's model tester, and shortcuts are discoverable."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from PySide6.QtCore import Qt

from agentdesk.services.crm.caller_match import CustomerSummary, InteractionLine, TicketLine
from agentdesk.services.desk.agent_state import load_policy
from agentdesk.services.desk.wrapup import load_dispositions
from agentdesk.ui.row_model import ROW_ROLE, Column, RowTableModel
from agentdesk.ui.shortcuts import SHORTCUTS, ShortcutsDialog

pytestmark = pytest.mark.gui


def summary(name: str) -> CustomerSummary:
    return CustomerSummary(
        uuid.uuid4(), name, "person", "retail", "en", False, "mobile", dt.date(1980, 1, 1)
    )


def test_row_model_passes_the_model_tester(qtmodeltester: Any) -> None:
    model = RowTableModel[CustomerSummary](
        [
            Column("Name", lambda c: c.display_name),
            Column("Segment", lambda c: c.segment, align_right=True),
        ],
        [summary("Ada"), summary("Grace")],
    )
    qtmodeltester.check(model)
    model.set_rows([summary(f"n{i}") for i in range(50)])
    qtmodeltester.check(model)
    model.set_rows([])
    qtmodeltester.check(model)
    model.set_rows([summary("Zoë")])
    assert model.data(model.index(0, 0)) == "Zoë" and isinstance(
        model.data(model.index(0, 0), ROW_ROLE), CustomerSummary
    )
    assert (
        model.headerData(1, Qt.Orientation.Horizontal) == "Segment"
        and model.data(model.index(5, 0)) is None
    )


def test_window_models_pass_the_model_tester(qtmodeltester: Any, desk: Any) -> None:
    window = desk.window
    now = dt.datetime.now(dt.UTC)
    window.pop.candidates.set_rows([summary("A"), summary("B")])
    window.pop.tickets.set_rows([TicketLine(uuid.uuid4(), "T-1", "Card", "open", "high", now)])
    window.pop.recent.set_rows(
        [InteractionLine(uuid.uuid4(), now, "phone", "inbound", "info", "Hi")]
    )
    for model in (
        window.pop.candidates,
        window.pop.tickets,
        window.pop.recent,
        window.wrapup.dispositions,
        window.wrapup.next_states,
    ):
        qtmodeltester.check(model)
    assert window.wrapup.dispositions.rowCount() == len(load_dispositions())
    reasons = [r for r in load_policy().reasons if r.code != "Auto-Pause"]
    assert window.wrapup.next_states.rowCount() == 1 + len(reasons)


def test_shortcuts_have_tooltips_and_a_dialog(qtmodeltester: Any, desk: Any, qtbot: Any) -> None:
    actions = desk.window.actions_by_id
    for spec in SHORTCUTS:
        action = actions[spec.id]
        assert action.shortcut().toString() == spec.key and f"({spec.key})" in action.toolTip()
    keys = [s.key for s in SHORTCUTS]
    assert len(keys) == len(set(keys))
    dialog = ShortcutsDialog(desk.window)
    qtbot.addWidget(dialog)
    qtmodeltester.check(dialog.model)
    assert dialog.model.rowCount() == len(SHORTCUTS)
