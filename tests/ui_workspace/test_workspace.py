"""Workspace and search: open a customer, audited reveal, edit, deleted banner, Ctrl+K."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine, select

from agentdesk.models import AuditEntry
from agentdesk.services.crm.search import SearchResults
from agentdesk.store.engine import read_session
from agentdesk.store.writer import LocalWriter
from agentdesk.ui.search.popup import SearchPopup
from agentdesk.ui.workspace.context import WorkspaceContext
from agentdesk.ui.workspace.view import CustomerWorkspace
from tests.ui_workspace.builders import add_customer, add_interactions, add_many_customers

WAIT_MS = 10_000


def _open(qtbot: QtBot, context: WorkspaceContext, cid: object) -> CustomerWorkspace:
    ws = CustomerWorkspace(context, cid, caller=True)  # type: ignore[arg-type]
    qtbot.addWidget(ws)
    ws.resize(1366, 700)
    ws.show()
    qtbot.wait_until(lambda: ws.card is not None, timeout=WAIT_MS)
    return ws


def test_open_customer_shows_header_contacts_and_masked_pii(
    qtbot: QtBot, qtmodeltester: ModelTester, engine: Engine, context: WorkspaceContext
) -> None:
    cid = add_customer(engine, vulnerable=True, marketing_opt_out=True)
    add_interactions(engine, cid, 30)
    ws = _open(qtbot, context, cid)
    assert ws.name.text() == "Amelia Okafor"
    chips = [ws.chips.itemAt(i).widget().text() for i in range(ws.chips.count())]
    assert {"On call", "Retail", "EN", "ID document on file", "Vulnerable", "No marketing"} <= set(
        chips
    )
    for model in (ws.contacts, ws.products, ws.documents, ws.history):
        qtmodeltester.check(model)
    numbers = [ws.products.index(r, 1).data() for r in range(ws.products.rowCount())]
    # Cards as "Visa •••• 1234", accounts as "••••5678": never more than four digits shown.
    assert all("••••" in n and not re.search(r"\d{5,}", n) for n in numbers), numbers
    qtbot.wait_until(lambda: ws.timeline.model.entry_count() == 30, timeout=WAIT_MS)
    ws.contacts_view.setCurrentIndex(ws.contacts.index(0, 0))
    with qtbot.wait_signal(ws.dial_requested, timeout=WAIT_MS) as dialled:
        ws.call_button.click()
    assert dialled.args == ["+447700900123"]
    for widget in ws.findChildren(type(ws.call_button)):
        assert widget.accessibleName(), widget.text()


def test_reveal_masked_number_writes_audit_entry(
    qtbot: QtBot, engine: Engine, context: WorkspaceContext
) -> None:
    cid = add_customer(engine)
    ws = _open(qtbot, context, cid)
    product = next(p for p in ws.products.rows if p.kind == "current")
    with qtbot.wait_signal(ws.revealed, timeout=WAIT_MS) as revealed:
        ws.reveal("product", product.id, "Confirming account for a payment")
    assert revealed.args == ["40031299887766"]
    assert "40031299887766" in ws.revealed_value.text()
    with read_session(engine) as s:
        entry = s.scalars(select(AuditEntry)).one()
    assert (entry.action, entry.actor, entry.entity_id) == ("pii.reveal", "alice", str(product.id))
    assert entry.reason == "Confirming account for a payment"


def test_edit_with_validation_and_visible_history(
    qtbot: QtBot, engine: Engine, context: WorkspaceContext
) -> None:
    cid = add_customer(engine)
    ws = _open(qtbot, context, cid)
    with qtbot.wait_signal(ws.message_shown, timeout=WAIT_MS) as message:
        ws.add_contact("phone", "0800 FLOWERS", "mobile")
    assert "letters" in message.args[0]
    with qtbot.wait_signal(ws.card_loaded, timeout=WAIT_MS):
        ws.save_changes({"family_name": "Mensah-Ωμέγα", "segment": "premier"})
    assert ws.name.text() == "Amelia Mensah-Ωμέγα"
    fields = {h.field: h for h in ws.history.rows}
    assert fields["family_name"].old_value == "Okafor"


def test_customer_deleted_elsewhere_shows_a_banner(
    qtbot: QtBot, engine: Engine, context: WorkspaceContext
) -> None:
    cid = add_customer(engine)
    ws = _open(qtbot, context, cid)
    LocalWriter(engine, "bob").write("customer.delete", {"id": cid})
    with qtbot.wait_signal(ws.card_loaded, timeout=WAIT_MS):
        ws.refresh()
    assert ws.banner.isVisible() and "deleted" in ws.banner.text()
    assert not ws.edit_button.isEnabled() and not ws.timeline.add_note.isEnabled()


def test_search_by_phone_in_another_format_with_keyboard(
    qtbot: QtBot, qtmodeltester: ModelTester, engine: Engine, context: WorkspaceContext
) -> None:
    add_many_customers(engine, 200)
    cid = add_customer(engine)
    popup = SearchPopup(context.bridge, context.search)
    qtbot.addWidget(popup)
    popup.open_search()
    with qtbot.wait_signal(popup.results_shown, timeout=WAIT_MS) as shown:
        qtbot.keyClicks(popup.box, "0044 (0)7700-900 123")
    results: SearchResults = shown.args[0]
    assert results.hits[0].id == cid
    qtmodeltester.check(popup.model)
    with qtbot.wait_signal(popup.customer_chosen, timeout=WAIT_MS) as chosen:
        qtbot.keyClick(popup.box, Qt.Key.Key_Down)
        qtbot.keyClick(popup.box, Qt.Key.Key_Up)
        qtbot.keyClick(popup.box, Qt.Key.Key_Return)
    assert chosen.args == [cid]
