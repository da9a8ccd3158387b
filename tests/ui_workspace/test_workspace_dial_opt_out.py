"""The workspace's Call button and double-click honour the customer's "do not phone" (issue 15)."""

from __future__ import annotations

from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from agentdesk.ui.workspace.context import WorkspaceContext
from agentdesk.ui.workspace.view import CustomerWorkspace
from tests.ui_workspace.builders import add_customer

WAIT_MS = 10_000


def _open(qtbot: QtBot, context: WorkspaceContext, cid: object) -> CustomerWorkspace:
    ws = CustomerWorkspace(context, cid, caller=False)  # type: ignore[arg-type]
    qtbot.addWidget(ws)
    ws.resize(1366, 700)
    ws.show()
    qtbot.wait_until(lambda: ws.card is not None and ws.contacts.rowCount() > 0, timeout=WAIT_MS)
    return ws


def test_call_refused_in_words_for_a_customer_who_asked_not_to_be_phoned(
    qtbot: QtBot, engine: Engine, context: WorkspaceContext
) -> None:
    cid = add_customer(engine, phone_opt_out=True)
    ws = _open(qtbot, context, cid)
    dialled: list[str] = []
    ws.dial_requested.connect(dialled.append)
    ws.contacts_view.setCurrentIndex(ws.contacts.index(0, 0))
    with qtbot.wait_signal(ws.message_shown, timeout=WAIT_MS) as message:
        ws.call_button.click()
    assert message.args == [
        "Not called: Amelia Okafor asked not to be phoned (Do not phone is on their record)."
    ]
    with qtbot.wait_signal(ws.message_shown, timeout=WAIT_MS):
        ws.contacts_view.doubleClicked.emit(ws.contacts.index(0, 0))
    assert dialled == []
    assert "asked not to be phoned" in ws.call_button.toolTip()


def test_call_dials_a_customer_without_the_opt_out(
    qtbot: QtBot, engine: Engine, context: WorkspaceContext
) -> None:
    ws = _open(qtbot, context, add_customer(engine))
    ws.contacts_view.setCurrentIndex(ws.contacts.index(0, 0))
    with qtbot.wait_signal(ws.dial_requested, timeout=WAIT_MS) as dialled:
        ws.call_button.click()
    assert dialled.args == ["+447700900123"]
    assert ws.call_button.toolTip() == "Call the selected number"
