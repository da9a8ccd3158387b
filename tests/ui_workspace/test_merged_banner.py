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


def test_order_is_off_on_a_merged_record_and_says_why(
    qtbot: QtBot, engine: Engine, context: WorkspaceContext
) -> None:
    """The "Order…" button stayed enabled on the tombstone: an order could be placed on a
    record that no longer exists for the bank."""
    keep = add_customer(engine, "Margaret", "Holloway")
    dupe = add_customer(engine, "Maggie", "Holloway", phone="+447700900998", email="g@h.org")
    ws = CustomerWorkspace(context, dupe)
    qtbot.addWidget(ws)
    ws.show()
    qtbot.wait_until(lambda: ws.card is not None, timeout=WAIT_MS)
    assert ws.order_button.isEnabled() and ws.order_button.toolTip() == ""
    with write_session(engine) as s:
        s.execute(
            update(Customer)
            .where(Customer.id == dupe)
            .values(merged_into=keep, deleted_at=utcnow(), version=Customer.version + 1)
        )
    with qtbot.wait_signal(ws.card_loaded, timeout=WAIT_MS):
        ws.refresh()
    assert not ws.order_button.isEnabled()
    tip = ws.order_button.toolTip()
    assert "merged into Margaret Holloway" in tip and "Open Margaret Holloway" in tip
    with qtbot.wait_signal(ws.message_shown, timeout=WAIT_MS) as shown:
        assert ws.open_order_dialog() is None  # the cross-sell strip's late Accept too
    assert shown.args == [tip]
