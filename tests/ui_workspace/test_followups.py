"""Reminders and escalation alerts on the desk: the list, the tray, Done, Snooze, Mark read.

The real widgets over a migrated cache, the real bridge, change bus and writer. What the
server does (making a reminder due, writing an alert) arrives as rows in the cache plus
the sync engine's "pulled" publication on the change bus, exactly as a pull delivers it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtWidgets import QMainWindow, QTabWidget, QToolBar, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine, insert, select, update

from agentdesk.ids import uuid7
from agentdesk.models import OutboxEntry, Reminder, Ticket, TicketAlert
from agentdesk.services.tickets.reminders import DeskFollowUps
from agentdesk.services.tickets.service import TicketService
from agentdesk.services.tickets.sla import load_policy
from agentdesk.store.engine import read_session, write_session
from agentdesk.store.writer import LocalWriter
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.change_bus import ChangeBus
from agentdesk.ui.followups import FollowUpsDesk, install_followups
from agentdesk.ui.tray import TrayNotifier
from tests.ui_workspace.builders import Org, add_customer

WAIT_MS = 10_000


class Host(QMainWindow):
    """What the follow-ups need of the main window: toolbar, tray, customer tabs."""

    def __init__(self) -> None:
        super().__init__()
        self.toolbar = QToolBar("Agent", self)
        self.addToolBar(self.toolbar)
        self.workspace_tabs = QTabWidget(self)
        self.setCentralWidget(self.workspace_tabs)
        self.tray = TrayNotifier(self, self)
        self.opened: list[uuid.UUID] = []

    def open_customer(self, customer_id: uuid.UUID) -> QWidget:
        self.opened.append(customer_id)
        tab = QWidget(self)
        tab.customer_id = customer_id  # type: ignore[attr-defined]
        self.workspace_tabs.addTab(tab, "Amelia Okafor")
        self.workspace_tabs.setCurrentWidget(tab)
        return tab


@pytest.fixture
def host(qtbot: QtBot) -> Iterator[Host]:
    window = Host()
    qtbot.addWidget(window)
    window.resize(1366, 768)
    yield window
    window.tray.hide()


def _due_row(engine: Engine, agent_id: uuid.UUID, customer_id: uuid.UUID, note: str) -> uuid.UUID:
    """A reminder the server made due while the desk was signed out (as synced)."""
    rid = uuid7()
    at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    with write_session(engine) as s:
        s.execute(
            insert(Reminder).values(
                id=rid, agent_id=agent_id, customer_id=customer_id, due_at=at, note=note,
                source="agent", state="due", fired_at=at, version=2, created_at=at, updated_at=at,
            )
        )  # fmt: skip
    return rid


def _state(engine: Engine, rid: uuid.UUID) -> str:
    with read_session(engine) as s:
        row = s.get(Reminder, rid)
        assert row is not None
        return row.state


def _install(
    host: Host, bridge: Bridge, engine: Engine, org: Org, **kw: Any
) -> tuple[FollowUpsDesk, ChangeBus, DeskFollowUps]:
    writer = LocalWriter(engine, actor="alice")
    bus = ChangeBus(bridge, parent=host)
    writer.add_listener(bus.on_local_write)
    service = DeskFollowUps(engine, writer, org.agent_id, **kw)
    return install_followups(host, bridge, service, bus), bus, service


def test_missed_reminders_open_at_sign_in_and_new_ones_arrive_live(
    qtbot: QtBot, host: Host, bridge: Bridge, engine: Engine, org: Org
) -> None:
    customer = add_customer(engine)
    missed = _due_row(engine, org.agent_id, customer, "Call back about the card")
    announced: list[tuple[str, str]] = []
    desk, bus, service = _install(host, bridge, engine, org)
    desk.announced.connect(lambda title, text: announced.append((title, text)))
    qtbot.waitUntil(
        lambda: desk.view.isVisible() and desk.view.due.rowCount() == 1, timeout=WAIT_MS
    )
    assert announced[0] == ("Reminders", "1 reminder came due while you were away.")
    assert desk.open_action.text() == "Reminders (1)"
    assert desk.view.tabs.tabText(0) == "Due (1)"
    assert desk.view.due.data(desk.view.due.index(0, 2)) == "Amelia Okafor"
    # A new follow-up, then the server makes it due: it arrives through the bus, announced.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)
    fresh = service.set(later, customer_id=customer, note="Send the form")
    qtbot.waitUntil(lambda: desk.view.upcoming.rowCount() == 1, timeout=WAIT_MS)
    with write_session(engine) as s:
        s.execute(update(Reminder).where(Reminder.id == fresh).values(state="due", version=2))
    with qtbot.waitSignal(desk.announced, timeout=WAIT_MS) as signal:
        bus.on_pulled([("reminder", fresh)])
    assert signal.args == ["Reminder due", "Send the form"]
    qtbot.waitUntil(lambda: desk.view.due.rowCount() == 2, timeout=WAIT_MS)
    assert host.statusBar().currentMessage() == "Reminder due: Send the form"
    # Done on the missed one; Snooze 15 min on the other (pending again, upcoming).
    desk.view.due_table.selectRow(0)
    desk.view.done_button.click()
    qtbot.waitUntil(lambda: _state(engine, missed) == "done", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: desk.view.due.rowCount() == 1, timeout=WAIT_MS)
    desk.view.due_table.selectRow(0)
    desk.view.snooze_15.click()
    qtbot.waitUntil(
        lambda: desk.view.due.rowCount() == 0 and desk.view.upcoming.rowCount() == 1,
        timeout=WAIT_MS,
    )
    assert _state(engine, fresh) == "pending"
    assert desk.view.status.text().startswith("Snoozed to ")  # the reload keeps the message
    assert desk.open_action.text() == "Reminders"
    assert desk.view.tabs.tabText(0) == "Due"
    # Open customer from the upcoming list goes to the customer's tab.
    desk.view.upcoming_table.selectRow(0)
    desk.view.upcoming_open.click()
    assert host.opened == [customer]
    with read_session(engine) as s:
        names = list(s.scalars(select(OutboxEntry.name).order_by(OutboxEntry.client_seq)))
    assert names == ["reminder.set", "reminder.close", "reminder.set"]


def test_an_escalation_alert_is_listed_announced_and_marked_read(
    qtbot: QtBot, host: Host, bridge: Bridge, engine: Engine, org: Org
) -> None:
    customer = add_customer(engine)
    tickets = TicketService(engine, LocalWriter(engine, actor="alice"), load_policy(), org.agent_id)
    ticket = tickets.create(reason="card_lost", title="Card lost abroad", customer_id=customer)
    desk, bus, _service = _install(host, bridge, engine, org)
    with qtbot.waitSignal(desk.loaded, timeout=WAIT_MS):
        pass
    assert desk.view.alerts.rowCount() == 0 and not desk.view.isVisible()  # nothing missed
    alert = uuid7()
    with write_session(engine) as s:
        s.execute(
            insert(TicketAlert).values(
                id=alert, ticket_id=ticket.id, level=2, level_name="breach",
                clock="first_response", episode="x", recipient_id=org.agent_id,
                recipient_role="assignee", created_at=dt.datetime.now(dt.UTC),
            )
        )  # fmt: skip
    with qtbot.waitSignal(desk.announced, timeout=WAIT_MS) as signal:
        bus.on_pulled([("ticket_alert", alert)])
    assert signal.args == ["Escalation", f"{ticket.number}: Breach — Card lost abroad"]
    assert desk.view.tabs.tabText(2) == "Escalation alerts (1)"
    desk.view.tabs.setCurrentIndex(2)
    desk.view.read_button.click()
    qtbot.waitUntil(lambda: desk.view.alerts.rowCount() == 0, timeout=WAIT_MS)
    with read_session(engine) as s:
        row = s.get(TicketAlert, alert)
        assert row is not None and row.read_at is not None
        assert "ticket_alert.read" in list(s.scalars(select(OutboxEntry.name)))


def test_remind_me_sets_a_follow_up_on_the_customer_in_front_and_explains_a_refusal(
    qtbot: QtBot, host: Host, bridge: Bridge, engine: Engine, org: Org
) -> None:
    customer = add_customer(engine)
    skew = dt.timedelta(hours=2)  # the service's clock runs ahead: "in 1 hour" is past for it
    desk, _bus, _service = _install(
        host, bridge, engine, org, clock=lambda: dt.datetime.now(dt.UTC) + skew
    )
    assert desk.remind_me() is None
    assert "Open a customer" in host.statusBar().currentMessage()
    host.open_customer(customer)
    dialog = desk.remind_me()
    assert dialog is not None and "Amelia Okafor" in dialog.about.text()
    dialog.note.setText("Call back Thursday")
    dialog.in_hour.click()
    dialog.save_button.click()
    qtbot.waitUntil(lambda: dialog.when_error.isVisible(), timeout=WAIT_MS)
    assert dialog.when_error.text() == "The reminder time is in the past."
    assert dialog.isVisible() and dialog.note.text() == "Call back Thursday"  # nothing lost
    dialog.tomorrow.click()
    assert dialog.due_at().astimezone().hour == 9
    dialog.save_button.click()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=WAIT_MS)
    with read_session(engine) as s:
        row = s.scalars(select(Reminder)).one()
    assert (row.customer_id, row.note, row.state) == (customer, "Call back Thursday", "pending")
    qtbot.waitUntil(lambda: desk.view.upcoming.rowCount() == 1, timeout=WAIT_MS)


def test_a_supervisor_sees_the_escalated_tickets_live(
    qtbot: QtBot, host: Host, bridge: Bridge, engine: Engine, org: Org
) -> None:
    customer = add_customer(engine)
    tickets = TicketService(engine, LocalWriter(engine, actor="alice"), load_policy(), org.agent_id)
    ticket = tickets.create(reason="card_lost", title="Card lost abroad", customer_id=customer)
    desk, bus, _service = _install(host, bridge, engine, org, supervisor=True)
    assert desk.view.tabs.count() == 4
    qtbot.waitUntil(lambda: desk.view.tabs.tabText(3) == "Escalated tickets", timeout=WAIT_MS)
    assert not desk.view.escalated_open.isEnabled()
    with write_session(engine) as s:  # the escalation the server made, as a pull brings it
        s.execute(update(Ticket).where(Ticket.id == ticket.id).values(escalation_level=2))
    bus.on_pulled([("ticket", ticket.id)])
    qtbot.waitUntil(lambda: desk.view.escalated.rowCount() == 1, timeout=WAIT_MS)
    assert desk.view.tabs.tabText(3) == "Escalated tickets (1)"
    assert desk.view.escalated.data(desk.view.escalated.index(0, 1)) == ticket.number
    assert desk.view.escalated.data(desk.view.escalated.index(0, 2)) == "Cards"


def test_an_agent_has_no_escalated_tickets_tab(
    qtbot: QtBot, host: Host, bridge: Bridge, engine: Engine, org: Org
) -> None:
    desk, _bus, _service = _install(host, bridge, engine, org)
    with qtbot.waitSignal(desk.loaded, timeout=WAIT_MS):
        pass
    assert desk.view.tabs.count() == 3
    assert desk.view.status.text().startswith("Nothing to follow up. Set a reminder from a")


def test_reminders_missed_while_away_open_the_list_when_the_first_fill_brings_them(
    qtbot: QtBot, host: Host, bridge: Bridge, engine: Engine, org: Org
) -> None:
    """A fresh cache is empty at sign-in; its fill (a 'cache' change) brings the due ones."""
    desk, bus, _service = _install(host, bridge, engine, org)
    with qtbot.waitSignal(desk.loaded, timeout=WAIT_MS):
        pass
    assert not desk.view.isVisible()
    _due_row(engine, org.agent_id, add_customer(engine), "Send the form")
    with qtbot.waitSignal(desk.announced, timeout=WAIT_MS) as signal:
        bus.on_pulled([("cache", uuid7())])
    assert signal.args == ["Reminders", "1 reminder came due while you were away."]
    assert desk.view.isVisible() and desk.view.due.rowCount() == 1
