"""The duplicate review window, driven with qtbot against a real server on loopback.

alice and bob are supervisors: alice asks for a merge in her window, cannot
approve it there, bob approves it in his, and alice's stale list gets the
server's refusal in words when she acts on a pair that is already merged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot
from sqlalchemy import update

from agentdesk.client.duplicates import ServerDuplicates
from agentdesk.models import Agent, Customer, Role
from agentdesk.store.engine import read_session, write_session
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.supervisor.duplicates import DuplicatesWindow, open_duplicates
from tests.server.conftest import Desktop, RunningServer, desktop, server  # noqa: F401
from tests.ui_workspace.builders import add_customer

pytestmark = pytest.mark.gui


@pytest.fixture
def bridge(qapp: object) -> Iterator[Bridge]:
    bridge = Bridge()
    yield bridge
    bridge.shutdown(wait=True)


@pytest.fixture
def supervisors(server: RunningServer) -> None:  # noqa: F811
    with write_session(server.engine) as s:
        s.execute(update(Agent).values(role=Role.SUPERVISOR))


def _window(qtbot: QtBot, bridge: Bridge, desk: Desktop, login: str) -> DuplicatesWindow:
    window = DuplicatesWindow(ServerDuplicates(desk.api), bridge, login)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.loaded, timeout=10_000):
        window.reload()
    return window


def _select_first(qtbot: QtBot, window: DuplicatesWindow) -> None:
    window.table.selectRow(0)
    qtbot.waitUntil(lambda: window.selected() is not None)


@pytest.mark.parametrize("central", ["sqlite"], indirect=True)
def test_ask_on_one_desk_approve_on_another(
    qtbot: QtBot,
    qtmodeltester: ModelTester,
    bridge: Bridge,
    server: RunningServer,  # noqa: F811
    desktop: Callable[..., Desktop],  # noqa: F811
    supervisors: None,
) -> None:
    keep = add_customer(server.engine, "Amelia", "Okafor")
    dupe = add_customer(
        server.engine, "Amelia", "Okafor", phone="+447700900999", email="amelia.o@example.org"
    )
    alice_desk, bob_desk = desktop("alice", fill=False), desktop("bob", fill=False)
    alice = _window(qtbot, bridge, alice_desk, "alice")
    assert alice.model.rowCount() == 0 and "No possible duplicates" in alice.summary.text()
    assert not alice.keep_left.isEnabled() and not alice.approve_button.isEnabled()

    # Look for duplicates: the scan runs on the server, the list reloads with the pair.
    with qtbot.waitSignal(alice.loaded, timeout=20_000, check_params_cb=lambda n: n == 1):
        alice.scan_button.click()
    assert "1 possible duplicate" in alice.message.text()
    qtmodeltester.check(alice.model, force_py=True)  # type: ignore[no-untyped-call]
    _select_first(qtbot, alice)
    row = alice.selected()
    assert row is not None and {row.left.id, row.right.id} == {keep, dupe}
    assert "same date of birth" in alice.reasons.text()
    assert alice.left.name.text() == "Amelia Okafor"

    # Keep the left record: asked, and alice cannot approve her own request.
    alice.note.setText("Same caller, two records")
    with qtbot.waitSignal(alice.loaded, timeout=10_000):
        alice.keep_left.click()
    assert "Another supervisor must approve it" in alice.message.text()
    _select_first(qtbot, alice)
    assert alice.model.index(0, 4).data().startswith("Merge asked by alice")
    assert not alice.approve_button.isEnabled()
    assert "another supervisor must approve" in alice.approve_button.toolTip()
    assert alice.reject_button.text() == "Withdraw request"

    # bob sees the request and approves it.
    bob = _window(qtbot, bridge, bob_desk, "bob")
    _select_first(qtbot, bob)
    assert bob.approve_button.isEnabled() and not bob.keep_left.isEnabled()
    with qtbot.waitSignal(bob.loaded, timeout=10_000, check_params_cb=lambda n: n == 0):
        bob.approve_button.click()
    assert bob.message.text().startswith("Merged:")
    survivor = row.left.id
    merged = row.right.id
    with read_session(server.engine) as s:
        tomb = s.get(Customer, merged)
        assert tomb is not None and tomb.merged_into == survivor

    # alice's list is stale: withdrawing the merged request is refused in words.
    with qtbot.waitSignal(alice.failed, timeout=10_000) as refused:
        alice.reject_button.click()
    assert "already merged" in refused.args[0]
    assert "already merged" in alice.message.text()
    qtbot.waitUntil(lambda: alice.model.rowCount() == 0, timeout=10_000)


@pytest.mark.parametrize("central", ["sqlite"], indirect=True)
def test_the_review_fits_a_1366_by_768_screen(
    qtbot: QtBot,
    bridge: Bridge,
    server: RunningServer,  # noqa: F811
    desktop: Callable[..., Desktop],  # noqa: F811
    supervisors: None,
) -> None:
    window = open_duplicates(ServerDuplicates(desktop("alice", fill=False).api), bridge, "alice")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.summary.text() != "Loading…", timeout=10_000)
    assert window.width() <= 1366 and window.height() <= 768
