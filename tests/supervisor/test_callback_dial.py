"""An agent calls back an abandoned caller with one click from the callback task.

alice (supervisor) gives Amelia, who hung up waiting, to bob from the worklist.
The task reaches bob's desk by sync as a reminder; "Call back" on his Reminders
list files the callback on Amelia's timeline, closes the task and asks the PBX
to dial her (the desk's click-to-dial); once his desk has pushed, the caller is
off alice's worklist. A customer who asked not to be phoned is not dialled.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import select, update

from agentdesk.client.abandoned import ServerAbandoned
from agentdesk.models import Customer, Interaction, Reminder
from agentdesk.services.desk.callback_tasks import CallbackTasks, callback_number
from agentdesk.services.tickets.reminders import DeskFollowUps
from agentdesk.store.engine import read_session, write_session
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.callback_dial import CallbackDial, install_callback_dial
from agentdesk.ui.followups import install_followups
from tests.server.conftest import Desktop, RunningServer, desktop, server  # noqa: F401
from tests.server.test_abandoned_api import AMELIA, DAY, STRANGER, staff, store  # noqa: F401
from tests.sync.factories import REF
from tests.ui_workspace.builders import add_customer
from tests.ui_workspace.test_followups import Host, host  # noqa: F401 - the fixture

pytestmark = pytest.mark.gui
WAIT_MS = 20_000  # a loaded 2-core box: the sync round trips take a while


@pytest.fixture
def bridge(qapp: object) -> Iterator[Bridge]:
    bridge = Bridge()
    yield bridge
    bridge.shutdown(wait=True)


def test_the_number_is_read_from_a_callback_tasks_words_only() -> None:
    assert callback_number("Call back +44 7700 900123 (abandoned in cards after 0:10)") == AMELIA
    assert callback_number("Call back about the replacement card") is None
    assert callback_number("Send the form") is None
    assert callback_number(None) is None


def _task_on_bobs_desk(
    server: RunningServer,  # noqa: F811
    desktop: Callable[..., Desktop],  # noqa: F811
    amelia: uuid.UUID,
) -> tuple[ServerAbandoned, Desktop]:
    """alice gives Amelia to bob; the reminder reaches his cache and comes due there."""
    store(server)
    alice = ServerAbandoned(desktop("alice", fill=False).api)
    row = alice.worklist(DAY, DAY + dt.timedelta(days=1)).rows[1]
    made = alice.callback(row, agent_id=REF.bob)
    bob = desktop("bob")
    bob.syncer.pull_all()
    # The server's scheduler makes it due a minute later; the pull brings that state.
    with write_session(bob.engine) as s:
        s.execute(update(Reminder).where(Reminder.id == made.reminder_id).values(state="due"))
    return alice, bob


def _install(
    qtbot: QtBot, window: Host, bridge: Bridge, bob: Desktop, dialled: list[str]
) -> CallbackDial:
    followups = install_followups(
        window, bridge, DeskFollowUps(bob.engine, bob.writer, REF.bob), None
    )

    def ensure_cached(customer_id: uuid.UUID) -> None:
        bob.syncer.cache_customers([customer_id])  # as the desk's cache keeper does

    tasks = CallbackTasks(bob.engine, bob.writer, REF.bob, ensure_cached=ensure_cached)
    dial = install_callback_dial(followups, bridge, tasks, dialled.append)
    qtbot.waitUntil(lambda: followups.view.due.rowCount() == 1, timeout=WAIT_MS)
    return dial


@pytest.mark.parametrize("central", ["sqlite"], indirect=True)
def test_one_click_dials_files_the_callback_and_takes_the_caller_off_the_worklist(
    qtbot: QtBot,
    host: Host,  # noqa: F811
    bridge: Bridge,
    server: RunningServer,  # noqa: F811
    desktop: Callable[..., Desktop],  # noqa: F811
    staff: None,  # noqa: F811
) -> None:
    amelia = add_customer(server.engine, phone=AMELIA)
    alice, bob = _task_on_bobs_desk(server, desktop, amelia)
    dialled: list[str] = []
    dial = _install(qtbot, host, bridge, bob, dialled)
    assert dial.button.isEnabled() and dial.button.text() == "Call &back"
    with qtbot.waitSignal(dial.placed, timeout=WAIT_MS) as placed:
        dial.button.click()
    assert dialled == [AMELIA]  # one click: the PBX is asked to dial her
    assert placed.args[0].customer_id == amelia
    assert "Calling +44 7700 900123" in dial._view.status.text()
    bob.syncer.push_all()
    with read_session(server.engine) as s:
        call = s.get(Interaction, placed.args[0].interaction_id)
        assert call is not None and call.customer_id == amelia  # on her timeline
        assert (call.direction, call.caller_id, call.agent_id) == ("outbound", AMELIA, REF.bob)
        assert call.subject is not None and call.subject.startswith("Callback to +44 7700 900123")
        reminder = s.scalars(select(Reminder)).one()
        assert reminder.state == "done"
    work = alice.worklist(DAY, DAY + dt.timedelta(days=1))
    assert [r.number for r in work.rows] == [STRANGER]  # she was called back


@pytest.mark.parametrize("central", ["sqlite"], indirect=True)
def test_a_customer_who_asked_not_to_be_phoned_since_is_not_dialled(
    qtbot: QtBot,
    host: Host,  # noqa: F811
    bridge: Bridge,
    server: RunningServer,  # noqa: F811
    desktop: Callable[..., Desktop],  # noqa: F811
    staff: None,  # noqa: F811
) -> None:
    amelia = add_customer(server.engine, phone=AMELIA)
    _alice, bob = _task_on_bobs_desk(server, desktop, amelia)
    with write_session(server.engine) as s:  # a colleague's edit, after the task was set
        s.execute(update(Customer).where(Customer.id == amelia).values(phone_opt_out=True))
    dialled: list[str] = []
    dial = _install(qtbot, host, bridge, bob, dialled)
    with qtbot.waitSignal(dial.refused, timeout=WAIT_MS) as refused:
        dial.button.click()
    assert "Amelia Okafor asked not to be phoned" in refused.args[0]
    assert dialled == []
    with read_session(bob.engine) as s:
        assert s.scalars(select(Reminder)).one().state == "due"
        assert s.scalar(select(Interaction).where(Interaction.direction == "outbound")) is None
