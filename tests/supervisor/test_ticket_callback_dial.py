"""A team's callback ticket is called back with one click from the ticket pane's detail.

alice (supervisor) gives Amelia, who hung up waiting, to the Cards team from the
worklist: a ticket titled ``Call back +44 7700 900123 (…)``. bob (in Cards) sees
it under "My team"; the detail offers "Call back", which files the callback on
Amelia's timeline (linked to the ticket), asks the PBX to dial her, and, once
his desk has pushed, takes her off alice's worklist. A customer who asked not to
be phoned is not dialled; an ordinary ticket has no "Call back".
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import select, update

from agentdesk.client.abandoned import ServerAbandoned
from agentdesk.models import Customer, Interaction, Ticket
from agentdesk.services.desk.callback_tasks import CallbackTasks
from agentdesk.services.tickets.service import TicketService
from agentdesk.services.tickets.sla import load_policy
from agentdesk.store.engine import read_session, write_session
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.callback_dial import TicketCallbackDial, install_ticket_callbacks
from agentdesk.ui.tickets.pane import TicketPane
from tests.server.conftest import Desktop, RunningServer, desktop, server  # noqa: F401
from tests.server.test_abandoned_api import AMELIA, DAY, STRANGER, staff, store  # noqa: F401
from tests.sync.factories import REF
from tests.ui_workspace.builders import add_customer

pytestmark = pytest.mark.gui
WAIT_MS = 20_000  # a loaded 2-core box: the sync round trips take a while


@pytest.fixture
def bridge(qapp: object) -> Iterator[Bridge]:
    bridge = Bridge()
    yield bridge
    bridge.shutdown(wait=True)


def _team_ticket_on_bobs_desk(
    server: RunningServer,  # noqa: F811
    desktop: Callable[..., Desktop],  # noqa: F811
) -> tuple[ServerAbandoned, Desktop, uuid.UUID]:
    """alice gives Amelia's abandoned call to the Cards team; bob's desk pulls the ticket."""
    store(server)
    alice = ServerAbandoned(desktop("alice", fill=False).api)
    row = alice.worklist(DAY, DAY + dt.timedelta(days=1)).rows[1]
    made = alice.callback(row, team_id=REF.team_a)
    assert made.ticket_id is not None
    bob = desktop("bob")
    bob.syncer.pull_all()
    return alice, bob, made.ticket_id


def _pane(
    qtbot: QtBot, bridge: Bridge, bob: Desktop, ticket_id: uuid.UUID, dialled: list[str]
) -> tuple[TicketPane, TicketCallbackDial]:
    service = TicketService(bob.engine, bob.writer, load_policy(), REF.bob)
    pane = TicketPane(bridge, service, "team")
    qtbot.addWidget(pane)
    pane.resize(1200, 600)

    def ensure_cached(customer_id: uuid.UUID) -> None:
        bob.syncer.cache_customers([customer_id])  # as the desk's cache keeper does

    tasks = CallbackTasks(bob.engine, bob.writer, REF.bob, ensure_cached=ensure_cached)
    (dial,) = install_ticket_callbacks([pane], bridge, tasks, dialled.append)
    pane.show()
    pane.refresh()
    qtbot.waitUntil(lambda: pane.model.rowCount() >= 1, timeout=WAIT_MS)
    pane.select_ticket(ticket_id)
    qtbot.waitUntil(
        lambda: pane.detail.loaded is not None and pane.detail.loaded.id == ticket_id,
        timeout=WAIT_MS,
    )
    return pane, dial


@pytest.mark.parametrize("central", ["sqlite"], indirect=True)
def test_call_back_from_a_team_ticket_dials_and_files_the_callback(
    qtbot: QtBot,
    bridge: Bridge,
    server: RunningServer,  # noqa: F811
    desktop: Callable[..., Desktop],  # noqa: F811
    staff: None,  # noqa: F811
) -> None:
    amelia = add_customer(server.engine, phone=AMELIA)
    alice, bob, ticket_id = _team_ticket_on_bobs_desk(server, desktop)
    dialled: list[str] = []
    pane, dial = _pane(qtbot, bridge, bob, ticket_id, dialled)
    assert dial.button.isVisible() and dial.button.isEnabled()
    messages: list[str] = []
    pane.detail.message_shown.connect(messages.append)
    with qtbot.waitSignal(dial.placed, timeout=WAIT_MS) as placed:
        dial.button.click()
    assert dialled == [AMELIA]  # one click: the PBX is asked to dial her
    assert placed.args[0].customer_id == amelia
    assert messages and messages[-1].startswith("Calling +44 7700 900123: the callback is on")
    bob.syncer.push_all()
    with read_session(server.engine) as s:
        call = s.get(Interaction, placed.args[0].interaction_id)
        assert call is not None and call.customer_id == amelia and call.ticket_id == ticket_id
        assert (call.direction, call.caller_id, call.agent_id) == ("outbound", AMELIA, REF.bob)
        ticket = s.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status in ("new", "open")  # left for the outcome
    work = alice.worklist(DAY, DAY + dt.timedelta(days=1))
    assert [r.number for r in work.rows] == [STRANGER]  # she was called back


@pytest.mark.parametrize("central", ["sqlite"], indirect=True)
def test_no_call_back_for_a_customer_who_asked_not_to_be_phoned_since(
    qtbot: QtBot,
    bridge: Bridge,
    server: RunningServer,  # noqa: F811
    desktop: Callable[..., Desktop],  # noqa: F811
    staff: None,  # noqa: F811
) -> None:
    amelia = add_customer(server.engine, phone=AMELIA)
    _alice, bob, ticket_id = _team_ticket_on_bobs_desk(server, desktop)
    dialled: list[str] = []
    pane, dial = _pane(qtbot, bridge, bob, ticket_id, dialled)
    # A colleague's edit after the task was set, as bob's desk has it once synced (Amelia is
    # in his working set through the team's ticket, so the check reads his cache).
    for engine in (server.engine, bob.engine):
        with write_session(engine) as s:
            s.execute(update(Customer).where(Customer.id == amelia).values(phone_opt_out=True))
    messages: list[str] = []
    pane.detail.message_shown.connect(messages.append)
    qtbot.waitUntil(lambda: dial.button.isEnabled(), timeout=WAIT_MS)
    with qtbot.waitSignal(dial.refused, timeout=WAIT_MS) as refused:
        dial.button.click()
    assert "Amelia Okafor asked not to be phoned" in refused.args[0]
    assert messages[-1].startswith("Not called: Amelia Okafor asked not to be phoned")
    assert dialled == [] and dial.button.isEnabled()
    with read_session(bob.engine) as s:
        assert s.scalar(select(Interaction).where(Interaction.direction == "outbound")) is None


@pytest.mark.parametrize("central", ["sqlite"], indirect=True)
def test_an_ordinary_ticket_has_no_call_back(
    qtbot: QtBot,
    bridge: Bridge,
    server: RunningServer,  # noqa: F811
    desktop: Callable[..., Desktop],  # noqa: F811
    staff: None,  # noqa: F811
) -> None:
    add_customer(server.engine, phone=AMELIA)
    _alice, bob, ticket_id = _team_ticket_on_bobs_desk(server, desktop)
    with write_session(bob.engine) as s:  # the same ticket, retitled by hand in bob's cache
        s.execute(update(Ticket).where(Ticket.id == ticket_id).values(title="Send the form"))
    dialled: list[str] = []
    _, dial = _pane(qtbot, bridge, bob, ticket_id, dialled)
    assert not dial.button.isVisible()
    dial.call_back()
    assert dialled == []
