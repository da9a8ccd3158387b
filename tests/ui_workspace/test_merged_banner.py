"""A customer tab showing a record that was merged away points to the customer it became."""

from __future__ import annotations

from pytestqt.qtbot import QtBot
from sqlalchemy import Engine, update

from agentdesk.models import Customer, utcnow
from agentdesk.store.engine import write_session
from agentdesk.ui.workspace.context import WorkspaceContext
from agentdesk.ui.workspace.view import CustomerWorkspace
from tests.ui_workspace.builders import add_customer

WAIT_MS = 10_000


def test_a_merged_record_names_the_survivor_and_opens_it(
    qtbot: QtBot, engine: Engine, context: WorkspaceContext
) -> None:
    keep = add_customer(engine, "Margaret", "Holloway")
    dupe = add_customer(engine, "Maggie", "Holloway", phone="+447700900999", email="m@h.org")
    ws = CustomerWorkspace(context, dupe)
    qtbot.addWidget(ws)
    ws.resize(1366, 700)
    ws.show()
    qtbot.wait_until(lambda: ws.card is not None, timeout=WAIT_MS)
    assert not ws.banner.isVisible() and not ws.open_survivor.isVisible()
    # What the feed writes into this cache when a supervisor merges the record away.
    with write_session(engine) as s:
        s.execute(
            update(Customer)
            .where(Customer.id == dupe)
            .values(merged_into=keep, deleted_at=utcnow(), version=Customer.version + 1)
        )
    with qtbot.wait_signal(ws.card_loaded, timeout=WAIT_MS):
        ws.refresh()
    assert ws.banner.isVisible() and "merged into Margaret Holloway" in ws.banner.text()
    assert ws.open_survivor.isVisible() and not ws.edit_button.isEnabled()
    with qtbot.wait_signal(ws.customer_requested, timeout=WAIT_MS) as asked:
        ws.open_survivor.click()
    assert asked.args == [keep]
