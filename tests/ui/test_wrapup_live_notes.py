"""Notes during the call: the wrap-up form takes the disposition and notes while the call is
connected, keeps them in the cache as typed (against the live call's Linkedid, with the customer
the pop chose), and carries them into after-call work when the call ends."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from agentdesk.models import Interaction
from agentdesk.services.desk.agent_state import AgentState
from agentdesk.services.desk.drafts import DraftRecord, DraftStore
from agentdesk.services.desk.screen_pop import CallPhase, ChangeKind
from agentdesk.store.engine import read_session
from tests.ui.data import add_customer

pytestmark = pytest.mark.gui


def _kept(desk: Any, linkedid: str) -> DraftRecord | None:
    return next((r for r in DraftStore(desk.stores.local).load() if r.linkedid == linkedid), None)


def _connected(change: Any) -> bool:
    return bool(change.kind is ChangeKind.CONNECTED)


def test_notes_typed_during_the_call_are_kept_and_carried_into_after_call_work(
    desk_factory: Any,
) -> None:
    ids: dict[str, Any] = {}

    def seed(central: Any) -> None:
        ids["ada"] = add_customer(central, "Ada Lovelace", "+447700900123")

    desk = desk_factory(seed=seed)
    window, actions, qtbot = desk.window, desk.window.actions_by_id, desk.qtbot
    form, keeper = window.wrapup, desk.controller.wrapups
    placed = desk.call("+447700900123")
    desk.wait_pop(placed)
    assert not form.isEnabled()  # ringing: nothing to take notes for yet
    with qtbot.waitSignal(keeper.call_changed, check_params_cb=_connected, timeout=10_000):
        actions["answer"].trigger()
    # Connected: the form takes notes for this call, with no wrap-up open.
    assert form.isEnabled() and form.context is None
    assert form.live_linkedid == placed.linkedid
    assert form.title.text() == "Notes for the call in progress"

    form.set_disposition("idv_failed")  # needs notes: the carried notes must satisfy it
    qtbot.keyClicks(form.notes, "Could not answer the security questions")
    # Saved as typed, while the call is still up: in the cache, under the pop's customer.
    qtbot.waitUntil(
        lambda: (
            (r := _kept(desk, placed.linkedid)) is not None
            and r.draft.notes == "Could not answer the security questions"
        ),
        timeout=10_000,
    )
    record = _kept(desk, placed.linkedid)
    assert record is not None and record.ctx is None  # no wrap-up yet: the live call's draft
    assert record.draft.disposition == "idv_failed"
    assert record.customer_id == ids["ada"] and record.agent_id == desk.controller.agent.id
    assert desk.controller.current_call().phase is CallPhase.CONNECTED

    # F9 during the call saves nothing: the wrap-up opens when the call ends.
    actions["wrapup"].trigger()
    assert "in progress" in form.error.text()
    qtbot.keyClicks(form.notes, "; card re-sent")  # typed right before hanging up
    with qtbot.waitSignal(keeper.started, timeout=10_000) as started:
        actions["hangup"].trigger()
    ctx = started.args[0]
    assert ctx.call.linkedid == placed.linkedid and ctx.customer_id == ids["ada"]
    # The same fields carry on as after-call work: nothing cleared, nothing lost.
    assert form.context is ctx and form.live_linkedid is None
    assert form.title.text() == "After-call work"
    assert form.notes.toPlainText() == "Could not answer the security questions; card re-sent"
    assert form.draft().disposition == "idv_failed"
    assert keeper.draft(placed.linkedid) == form.draft()  # pushed at once, not 300 ms later

    with qtbot.waitSignal(keeper.saved, timeout=10_000) as saved:
        actions["wrapup"].trigger()  # F9
    desk.wait_state(AgentState.AVAILABLE)
    assert not form.isEnabled()
    with read_session(desk.stores.local) as s:
        row = s.scalars(select(Interaction).where(Interaction.linkedid == placed.linkedid)).one()
    assert row.id == saved.args[0].interaction_id and row.customer_id == ids["ada"]
    assert row.disposition_code == "idv_failed"
    assert row.notes == "Could not answer the security questions; card re-sent"
    qtbot.waitUntil(lambda: _kept(desk, placed.linkedid) is None, timeout=10_000)
