"""The abandoned-call worklist window, driven with qtbot against a real server on loopback.

alice (supervisor) opens the day's list, gives the known caller to bob as a
reminder and the unknown one to a team as a ticket; a customer who asked not
to be phoned is refused in words and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMainWindow
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select, update

from agentdesk.client.abandoned import ServerAbandoned
from agentdesk.models import Customer, Reminder, Ticket
from agentdesk.store.engine import read_session, write_session
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.supervisor.abandoned import AbandonedWindow, open_abandoned
from agentdesk.ui.supervisor.install import install_supervisor
from tests.server.conftest import Desktop, RunningServer, desktop, server  # noqa: F401
from tests.server.test_abandoned_api import AMELIA, DAY, staff, store  # noqa: F401
from tests.supervisor.conftest import FakeSession
from tests.sync.factories import REF
from tests.ui_workspace.builders import add_customer

pytestmark = pytest.mark.gui


@pytest.fixture
def bridge(qapp: object) -> Iterator[Bridge]:
    bridge = Bridge()
    yield bridge
    bridge.shutdown(wait=True)


def _window(qtbot: QtBot, bridge: Bridge, desk: Desktop) -> AbandonedWindow:
    window = AbandonedWindow(ServerAbandoned(desk.api), bridge, today=lambda: DAY.date())
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.loaded, timeout=10_000):
        window.reload()
    return window


def _call_back(qtbot: QtBot, window: AbandonedWindow, row: int, *, agent: str | None) -> None:
    window.table.selectRow(row)
    qtbot.waitUntil(window.callback_button.isEnabled)
    window.callback_button.click()
    qtbot.waitUntil(lambda: window.dialog is not None and window.dialog.isVisible(), timeout=10_000)
    dialog = window.dialog
    assert dialog is not None
    if agent is not None:
        dialog.to_agent.click()
        dialog.agent.setCurrentIndex(dialog.agent.findText(agent))
    dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()


@pytest.mark.parametrize("central", ["sqlite"], indirect=True)
def test_list_and_call_back_for_an_agent_and_for_the_queues_team(
    qtbot: QtBot,
    qtmodeltester: ModelTester,
    bridge: Bridge,
    server: RunningServer,  # noqa: F811
    desktop: Callable[..., Desktop],  # noqa: F811
    staff: None,  # noqa: F811
) -> None:
    amelia = add_customer(server.engine, phone=AMELIA)
    store(server)
    window = _window(qtbot, bridge, desktop("alice", fill=False))
    qtmodeltester.check(window.model, force_py=True)  # type: ignore[no-untyped-call]
    assert window.model.rowCount() == 2
    assert window.summary.text().startswith("2 callers to call back · 4 abandoned calls")
    assert "1 reached since" in window.summary.text()
    texts = [window.model.index(1, c).data() for c in range(window.model.columnCount())]
    assert texts[:4] == ["+44 7700 900123", "Amelia Okafor", "cards", "0:10"]
    assert texts[4].startswith("2 times, ") and texts[5] == "Not recorded"
    assert not window.callback_button.isEnabled()

    # Amelia to bob: a reminder on his desk.
    with qtbot.waitSignal(window.acted, timeout=10_000):
        _call_back(qtbot, window, 1, agent="Bob")
    assert "Callback task for Bob: Call back +44 7700 900123" in window.message.text()
    assert window.model.index(1, 6).data() == "Task for Bob"
    with read_session(server.engine) as s:
        reminder = s.scalars(select(Reminder)).one()
        assert (reminder.agent_id, reminder.customer_id) == (REF.bob, amelia)

    # The stranger to the queue's own team (Cards is preselected for queue "cards").
    with qtbot.waitSignal(window.acted, timeout=10_000):
        _call_back(qtbot, window, 0, agent=None)
    assert window.model.index(0, 6).data() == "Task for Cards"
    with read_session(server.engine) as s:
        ticket = s.scalars(select(Ticket)).one()
        assert ticket.team_id == REF.team_a and "+44 7700 900777" in ticket.title


@pytest.mark.parametrize("central", ["sqlite"], indirect=True)
def test_a_customer_who_asked_not_to_be_phoned_is_refused_in_words(
    qtbot: QtBot,
    bridge: Bridge,
    server: RunningServer,  # noqa: F811
    desktop: Callable[..., Desktop],  # noqa: F811
    staff: None,  # noqa: F811
) -> None:
    amelia = add_customer(server.engine, phone=AMELIA)
    with write_session(server.engine) as s:
        s.execute(update(Customer).where(Customer.id == amelia).values(phone_opt_out=True))
    store(server)
    window = _window(qtbot, bridge, desktop("alice", fill=False))
    # The list says so before anyone tries, and Call back… is off for her.
    assert window.model.index(1, 6).data() == "Asked not to be phoned"
    window.table.selectRow(1)
    assert not window.callback_button.isEnabled()
    assert window.message.text() == (
        "Amelia Okafor asked not to be phoned: no callback can be made."
    )
    window.table.doubleClicked.emit(window.model.index(1, 0))  # no dialog either
    assert window.dialog is None
    window.table.selectRow(0)  # the stranger may be called back
    qtbot.waitUntil(window.callback_button.isEnabled)
    assert window.message.text() == ""
    # Had the desk not known yet (the flag set after the list loaded): the server refuses.
    with write_session(server.engine) as s:
        s.execute(update(Customer).where(Customer.id == amelia).values(phone_opt_out=False))
    with qtbot.waitSignal(window.loaded, timeout=10_000):
        window.reload()
    with write_session(server.engine) as s:
        s.execute(update(Customer).where(Customer.id == amelia).values(phone_opt_out=True))
    with qtbot.waitSignal(window.failed, timeout=10_000) as refused:
        _call_back(qtbot, window, 1, agent=None)
    assert "Amelia Okafor asked not to be phoned" in refused.args[0]
    assert "asked not to be phoned" in window.message.text()
    assert window.model.index(1, 6).data() == ""
    with read_session(server.engine) as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 0


@pytest.mark.parametrize("central", ["sqlite"], indirect=True)
def test_task_markers_come_back_in_a_new_window(
    qtbot: QtBot,
    bridge: Bridge,
    server: RunningServer,  # noqa: F811
    desktop: Callable[..., Desktop],  # noqa: F811
    staff: None,  # noqa: F811
) -> None:
    add_customer(server.engine, phone=AMELIA)
    store(server)
    window = _window(qtbot, bridge, desktop("alice", fill=False))
    with qtbot.waitSignal(window.acted, timeout=10_000):
        _call_back(qtbot, window, 1, agent="Bob")
    window.close()
    # A restart of the desktop: a new window, a new session, nothing kept in memory.
    again = _window(qtbot, bridge, desktop("alice", fill=False))
    assert again.model.index(1, 6).data() == "Task for Bob"
    assert again.model.index(0, 6).data() == ""


@pytest.mark.parametrize("central", ["sqlite"], indirect=True)
def test_the_worklist_fits_a_1366_by_768_screen_and_says_when_nobody_waits(
    qtbot: QtBot,
    bridge: Bridge,
    server: RunningServer,  # noqa: F811
    desktop: Callable[..., Desktop],  # noqa: F811
    staff: None,  # noqa: F811
) -> None:
    window = open_abandoned(ServerAbandoned(desktop("alice", fill=False).api), bridge)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.summary.text() != "Loading…", timeout=10_000)
    assert window.summary.text() == "Nobody to call back"
    assert window.width() <= 1366 and window.height() <= 768


@pytest.mark.parametrize("central", ["sqlite"], indirect=True)
def test_the_supervisor_toolbar_opens_one_worklist_and_its_shortcut_works_from_it(
    qtbot: QtBot,
    bridge: Bridge,
    server: RunningServer,  # noqa: F811
    desktop: Callable[..., Desktop],  # noqa: F811
    staff: None,  # noqa: F811
    supervisor: FakeSession,
    tmp_path: Path,
) -> None:
    desk = QMainWindow()
    qtbot.addWidget(desk)
    api = desktop("alice", fill=False).api
    launcher = install_supervisor(
        desk, supervisor, bridge=bridge, api=api, audit=_NoAudit(), floor=None, data_dir=tmp_path
    )
    assert launcher is not None
    action = next(a for a in desk.actions() if a.objectName() == "action_abandoned")
    assert action.text() == "Abandoned calls" and "Ctrl+Shift+K" in action.toolTip()
    with qtbot.waitSignal(launcher.opened, timeout=5000) as opened:
        action.trigger()
    window = opened.args[0]
    assert isinstance(window, AbandonedWindow)
    qtbot.addWidget(window)  # deleted at teardown on this thread, not by a later collection
    qtbot.waitUntil(lambda: window.summary.text() != "Loading…", timeout=10_000)
    assert action in window.actions()  # reachable with the worklist focused too
    with qtbot.waitSignal(launcher.opened, timeout=5000) as opened:
        action.trigger()
    assert opened.args[0] is window
    launcher.shutdown()
    assert launcher.abandoned is None


class _NoAudit:
    """The worklist writes no desktop audit entries (the server audits callbacks)."""

    def write(self, name: str, args: object) -> object:
        raise AssertionError(f"unexpected audit write {name}")
