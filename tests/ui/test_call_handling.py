"""Answer → hold → end → wrap-up on the real window: exactly one interaction, then Available."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtGui import QCloseEvent
from sqlalchemy import func, select

from agentdesk.models import Interaction, Ticket
from agentdesk.services.desk.agent_state import AgentState
from agentdesk.services.desk.screen_pop import CallPhase
from agentdesk.store.engine import read_session
from tests.ui.data import add_customer

pytestmark = pytest.mark.gui


def _phase(desk: Any, phase: CallPhase) -> None:
    desk.qtbot.waitUntil(
        lambda: (c := desk.controller.current_call()) is not None and c.phase is phase,
        timeout=10_000,
    )


def test_answer_hold_end_wrap_up_writes_exactly_one_interaction(desk_factory: Any) -> None:
    ids: dict[str, Any] = {}

    def seed(central: Any) -> None:
        ids["ada"] = add_customer(central, "Ada Lovelace", "+447700900123")

    desk = desk_factory(seed=seed)
    window, actions = desk.window, desk.window.actions_by_id
    placed = desk.call("+447700900123", intent="balance")
    desk.wait_pop(placed)
    assert actions["answer"].isEnabled() and not actions["hold"].isEnabled()
    actions["answer"].trigger()  # F2: PJSIPNotify Event=talk to the agent's endpoint
    _phase(desk, CallPhase.CONNECTED)
    desk.wait_state(AgentState.ON_CALL)
    assert window.workspace_tabs.count() == 1 and "Ada Lovelace" in window.workspace_tabs.tabText(0)
    actions["hold"].trigger()
    _phase(desk, CallPhase.ON_HOLD)
    desk.wait_state(AgentState.ON_HOLD)
    assert actions["hold"].text() == "Resume"
    assert window.pop.banner.text().startswith("On hold")
    actions["hold"].trigger()
    _phase(desk, CallPhase.CONNECTED)
    actions["hangup"].trigger()
    desk.wait_state(AgentState.WRAP_UP)
    form = window.wrapup
    desk.qtbot.waitUntil(lambda: form.context is not None and form.isEnabled())
    assert window.call_tabs.currentIndex() == 1  # the wrap-up tab
    assert form.context.customer_id == ids["ada"]
    form.set_disposition("resolved")
    form.notes.setPlainText("Balance read out. " * 1000)
    with desk.qtbot.waitSignal(desk.controller.wrapups.saved, timeout=10_000) as saved:
        actions["wrapup"].trigger()  # F9
    desk.wait_state(AgentState.AVAILABLE)
    with read_session(desk.stores.local) as s:
        rows = s.scalars(select(Interaction).where(Interaction.linkedid == placed.linkedid)).all()
        total = s.scalar(
            select(func.count())
            .select_from(Interaction)
            .where(Interaction.customer_id == ids["ada"])
        )
    assert len(rows) == 1 and rows[0].id == saved.args[0].interaction_id
    row = rows[0]
    assert row.customer_id == ids["ada"] and row.disposition_code == "resolved"
    assert row.ivr_intent == "balance" and row.queue == "general" and row.hold_seconds is not None
    assert row.notes.startswith("Balance read out.") and total == 3  # two seeded + this call

    # The sync engine carries it to the central store exactly once.
    def central_ids(_status: object = None) -> list[Any]:
        with read_session(desk.central) as s:
            query = select(Interaction.id).where(Interaction.linkedid == placed.linkedid)
            return list(s.scalars(query))

    # Re-checked on every sync status change until the push has landed.
    assert desk.desktop.sync.wait_for(lambda st: bool(central_ids(st)), 20)
    assert central_ids() == [row.id]


def test_wrap_up_needs_a_disposition_and_the_acw_limit_saves_anyway(desk_factory: Any) -> None:
    desk = desk_factory(auto_answer=True, acw_limit=2)
    placed = desk.call("+447700900444")
    _phase(desk, CallPhase.CONNECTED)  # auto-answer
    desk.controller.hangup()
    form = desk.window.wrapup
    desk.qtbot.waitUntil(lambda: form.context is not None)
    form.save()  # no disposition picked
    desk.qtbot.waitUntil(lambda: "disposition" in form.errors.text().lower())
    with desk.qtbot.waitSignal(desk.controller.wrapups.saved, timeout=10_000):
        pass  # the 2 s ACW limit saves it as it stands
    desk.wait_state(AgentState.AVAILABLE)
    with read_session(desk.stores.local) as s:
        row = s.scalars(select(Interaction).where(Interaction.linkedid == placed.linkedid)).one()
    assert row.disposition_code == "acw_timeout" and row.customer_id is None


def test_wrap_up_with_a_follow_up_ticket_links_it_to_the_interaction(desk_factory: Any) -> None:
    ids: dict[str, Any] = {}

    def seed(central: Any) -> None:
        ids["cid"] = add_customer(central, "Olga Nowak", "+447700900131", open_tickets=0)

    desk = desk_factory(auto_answer=True)
    seed(desk.central)
    placed = desk.call("+447700900131", intent="card_lost")
    desk.wait_pop(placed)  # the card the server found is on screen before the wrap-up
    _phase(desk, CallPhase.CONNECTED)
    desk.controller.hangup()
    form = desk.window.wrapup
    desk.qtbot.waitUntil(lambda: form.context is not None)
    assert form.follow_up.isVisible()
    form.set_disposition("ticket")  # suggests a ticket: the box ticks itself
    assert form.follow_up.isChecked()
    form.follow_up_title.setText("Send replacement card")
    form.notes.setPlainText("Card lost abroad.")
    with desk.qtbot.waitSignal(desk.controller.wrapups.saved, timeout=15_000) as saved:
        form.save()
    ticket_id = saved.args[0].ticket_id
    with read_session(desk.stores.local) as s:
        row = s.scalars(select(Interaction).where(Interaction.linkedid == placed.linkedid)).one()
        ticket = s.get(Ticket, ticket_id)
    assert row.ticket_id == ticket_id and row.customer_id == ids["cid"]
    assert ticket.title == "Send replacement card" and ticket.reason == "card_lost"

    # The wrap-up commits with no round trip: a customer the cache did not hold yet is kept
    # in the queued ticket.create and checked by the server, whose row then comes back.
    def ticket_customer() -> Any:
        with read_session(desk.stores.local) as s:
            return s.scalar(select(Ticket.customer_id).where(Ticket.id == ticket_id))

    desk.qtbot.waitUntil(lambda: ticket_customer() == ids["cid"], timeout=15_000)


def test_blind_transfer_from_the_dialog_ends_the_call_as_transferred(desk: Any) -> None:
    placed = desk.call("+447700900132")
    desk.wait_pop(placed)
    desk.controller.answer()
    _phase(desk, CallPhase.CONNECTED)
    desk.window.actions_by_id["transfer"].trigger()  # F6
    dialog = desk.window.dialog
    dialog.search.setText("21 00")  # no entry matches: the typed number is dialled
    dialog._on_accept()
    assert dialog.target == "2100"
    desk.wait_state(AgentState.WRAP_UP)
    form = desk.window.wrapup
    desk.qtbot.waitUntil(lambda: form.context is not None)
    assert form.context.call.end_reason == "transfer" and "transferred" in form.summary.text()


def test_wrap_up_can_go_to_not_ready_and_click_to_dial_reaches_the_pbx(desk: Any) -> None:
    placed = desk.call("+447700900133")
    desk.wait_pop(placed)
    desk.controller.answer()
    _phase(desk, CallPhase.CONNECTED)
    desk.controller.hangup()
    form = desk.window.wrapup
    desk.qtbot.waitUntil(lambda: form.context is not None)
    form.set_disposition("info")
    codes = [row.code for row in form.next_states.rows]
    form.next_state.setCurrentIndex(codes.index("Break"))
    form.save()
    desk.wait_state(AgentState.NOT_READY)
    assert desk.controller.state.label == "Not ready: Break"
    with desk.qtbot.waitSignal(desk.controller.notice, timeout=10_000) as notice:
        desk.window.request_dial("+44 20 7946 0000")  # F8, or a number link in any pane
        desk.window.dialog._on_accept()
    assert notice.args == ["info", "Calling +442079460000: pick up your phone when it rings."]


def test_wrap_up_saved_while_the_centre_is_unreachable_arrives_once_it_is_back(desk: Any) -> None:
    from agentdesk.client.central import HttpCentral
    from agentdesk.models import OutboxEntry, OutboxState
    from agentdesk.store.sync.engine import SyncEngine

    desk.desktop.sync.stop()  # the centre is gone: nothing leaves this workstation
    placed = desk.call("+447700900134")
    desk.wait_pop(placed)
    desk.controller.answer()
    _phase(desk, CallPhase.CONNECTED)
    desk.controller.hangup()
    form = desk.window.wrapup
    desk.qtbot.waitUntil(lambda: form.context is not None)
    form.set_disposition("info")
    with desk.qtbot.waitSignal(desk.controller.wrapups.saved, timeout=10_000):
        form.save()
    desk.wait_state(AgentState.AVAILABLE)
    with read_session(desk.stores.local) as s:
        pending = s.scalars(
            select(OutboxEntry).where(OutboxEntry.state == OutboxState.PENDING)
        ).all()
    assert [e.name for e in pending] == ["interaction.add"]

    def central_rows(_status: object = None) -> int:
        with read_session(desk.central) as s:
            query = (
                select(func.count())
                .select_from(Interaction)
                .where(Interaction.linkedid == placed.linkedid)
            )
            return int(s.scalar(query) or 0)

    assert central_rows() == 0
    # The server is back: a fresh sync engine of this desktop sends the kept wrap-up through it.
    back = SyncEngine(desk.stores.local, HttpCentral(desk.desktop.server.api), agent_login="alice")
    back.start()
    try:
        assert back.wait_for(lambda st: central_rows(st) == 1 and st.pending == 0, 20)
    finally:
        back.stop()


def test_closing_with_an_open_wrap_up_saves_it_and_pauses_the_agent(desk: Any) -> None:
    placed = desk.call("+447700900135")
    desk.wait_pop(placed)
    desk.controller.answer()
    _phase(desk, CallPhase.CONNECTED)
    desk.controller.hangup()
    form = desk.window.wrapup
    desk.qtbot.waitUntil(lambda: form.context is not None)
    form.notes.setPlainText("closing the desktop mid wrap-up")
    form._push_draft()
    with desk.qtbot.waitSignal(desk.controller.wrapups.saved, timeout=10_000):
        assert not desk.window.close()  # refused until the wrap-up is stored
    desk.qtbot.waitUntil(lambda: not desk.window.isVisible())
    with read_session(desk.stores.local) as s:
        row = s.scalars(select(Interaction).where(Interaction.linkedid == placed.linkedid)).one()
    assert row.notes == "closing the desktop mid wrap-up" and row.disposition_code == "acw_timeout"
    desk.qtbot.waitUntil(
        lambda: all(m.paused and m.reason == "Desktop closed" for m in desk.controller.state.queues)
    )


def _in_wrap_up(desk: Any, number: str) -> Any:
    placed = desk.call(number)
    desk.wait_pop(placed)
    desk.controller.answer()
    _phase(desk, CallPhase.CONNECTED)
    desk.controller.hangup()
    form = desk.window.wrapup
    desk.qtbot.waitUntil(lambda: form.context is not None)
    form.notes.setPlainText("half written")
    return placed


class _TitleBarClose(QCloseEvent):
    """What the window manager's close button (or Alt+F4) sends: a spontaneous close event
    (seen under openbox; the offscreen platform has no window manager to send one)."""

    def spontaneous(self) -> bool:
        return True


def _close_from_the_title_bar(window: Any) -> bool:
    event = _TitleBarClose()
    window.closeEvent(event)
    return event.isAccepted()


def test_closing_the_window_mid_wrap_up_asks_and_keep_working_files_nothing(desk: Any) -> None:
    """It silently filed the wrap-up as "acw_timeout" when the agent closed the window."""
    placed = _in_wrap_up(desk, "+447700900136")
    window = desk.window
    assert not _close_from_the_title_bar(window)
    desk.qtbot.waitUntil(
        lambda: window.close_question is not None and window.close_question.isVisible()
    )
    box = window.close_question
    assert "wrap-up is still open" in box.text()
    keep = next(b for b in box.buttons() if "Keep working" in b.text())
    assert box.defaultButton() is keep
    keep.click()
    desk.qtbot.waitUntil(lambda: not box.isVisible())
    assert window.isVisible() and desk.controller.wrapups.pending()
    assert window.call_tabs.currentIndex() == 1  # back on the wrap-up
    with read_session(desk.stores.local) as s:
        filed = s.scalars(select(Interaction).where(Interaction.linkedid == placed.linkedid))
        assert filed.first() is None  # nothing filed behind the agent's back
    assert not any(m.paused and m.reason == "Desktop closed" for m in desk.controller.state.queues)


def test_save_and_close_files_the_wrap_up_and_closes(desk: Any) -> None:
    placed = _in_wrap_up(desk, "+447700900137")
    window = desk.window
    assert not _close_from_the_title_bar(window)
    desk.qtbot.waitUntil(
        lambda: window.close_question is not None and window.close_question.isVisible()
    )
    save = next(b for b in window.close_question.buttons() if "Save and close" in b.text())
    with desk.qtbot.waitSignal(window.closed, timeout=10_000):
        save.click()
    with read_session(desk.stores.local) as s:
        row = s.scalars(select(Interaction).where(Interaction.linkedid == placed.linkedid)).one()
    assert row.notes == "half written"
