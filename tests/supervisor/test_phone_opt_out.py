"""The customer's "do not phone" flag (``phone_opt_out``) on the workspace, and on the worklist.

An agent sees it as a chip on the customer's tab and changes it in Edit…; the
change is a ``customer.patch`` like every customer edit (history on the tab,
outbox for the server). At the server the same mutation makes the abandoned-call
worklist mark the caller, and refuse a callback, with the reason in words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine, select

from agentdesk.client.abandoned import ServerAbandoned
from agentdesk.client.api import ServerRefused
from agentdesk.models import Customer, OutboxEntry
from agentdesk.store.engine import read_session
from agentdesk.ui.workspace.context import WorkspaceContext
from agentdesk.ui.workspace.dialogs import EditCustomerDialog
from agentdesk.ui.workspace.view import CustomerWorkspace
from tests.server.conftest import Desktop, RunningServer, desktop, server  # noqa: F401
from tests.server.test_abandoned_api import AMELIA, DAY, staff, store  # noqa: F401
from tests.sync.factories import REF
from tests.ui_workspace.builders import add_customer
from tests.ui_workspace.conftest import bridge, context, engine, org  # noqa: F401

pytestmark = pytest.mark.gui
WAIT_MS = 10_000


def _chips(ws: CustomerWorkspace) -> list[str]:
    return [ws.chips.itemAt(i).widget().text() for i in range(ws.chips.count())]


def test_an_agent_sees_and_changes_do_not_phone_on_the_customer_tab(
    qtbot: QtBot,
    engine: Engine,  # noqa: F811
    context: WorkspaceContext,  # noqa: F811
) -> None:
    cid = add_customer(engine)
    ws = CustomerWorkspace(context, cid)
    qtbot.addWidget(ws)
    ws.show()
    qtbot.wait_until(lambda: ws.card is not None, timeout=WAIT_MS)
    assert ws.card is not None and not ws.card.phone_opt_out
    assert "Do not phone" not in _chips(ws)
    dialog = EditCustomerDialog(ws.card, ws)
    qtbot.addWidget(dialog)
    assert not dialog.no_calls.isChecked()
    assert dialog.no_calls.accessibleName() == "Do not phone"
    dialog.no_calls.setChecked(True)
    assert dialog.changes()["phone_opt_out"] is True
    with qtbot.wait_signal(ws.card_loaded, timeout=WAIT_MS):
        ws.save_changes(dialog.changes())
    assert ws.card.phone_opt_out and "Do not phone" in _chips(ws)
    change = next(h for h in ws.history.rows if h.field == "phone_opt_out")
    assert (change.old_value, change.new_value) in (("False", "True"), ("false", "true"))
    with read_session(engine) as s:
        assert s.get(Customer, cid).phone_opt_out
        patches = [e.args for e in s.scalars(select(OutboxEntry)) if e.name == "customer.patch"]
    assert patches and patches[-1]["changes"] == {"phone_opt_out": True}  # synced like any edit
    # Only what changed is sent: re-opening the dialog and saving sends nothing more.
    again = EditCustomerDialog(ws.card, ws)
    qtbot.addWidget(again)
    assert again.no_calls.isChecked()
    assert context.customers.update(ws.card, again.changes()).applied == ()


@pytest.mark.parametrize("central", ["sqlite"], indirect=True)
def test_the_flag_set_by_an_agent_marks_the_caller_on_the_worklist(
    server: RunningServer,  # noqa: F811
    desktop: Callable[..., Desktop],  # noqa: F811
    staff: None,  # noqa: F811
) -> None:
    amelia = add_customer(server.engine, phone=AMELIA)
    store(server)
    alice = ServerAbandoned(desktop("alice", fill=False).api)
    assert not alice.worklist(DAY, DAY + dt.timedelta(days=1)).rows[1].opted_out
    # The mutation a desk pushes when the agent ticks "Do not phone".
    server.ctx.store.write(
        "customer.patch",
        {"id": str(amelia), "changes": {"phone_opt_out": True}, "base": {"phone_opt_out": False}},
        "bob",
    )
    row = alice.worklist(DAY, DAY + dt.timedelta(days=1)).rows[1]
    assert row.number == AMELIA and row.opted_out
    with pytest.raises(ServerRefused) as err:
        alice.callback(row, agent_id=REF.bob)
    assert "asked not to be phoned" in str(err.value)
