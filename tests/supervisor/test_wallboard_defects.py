"""Issue 15 item 5: the wallboard's defects, each seen failing before its fix.

The real wallboard on a real server whose gateway is logged in to the simulator
(``gui_support.start_board``); the desktop's launcher for the shortcuts.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import QMainWindow
from pytestqt.qtbot import QtBot

from agentdesk.services.supervisor import SupervisorService
from agentdesk.store.writer import LocalWriter
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.supervisor.install import install_supervisor
from agentdesk.ui.supervisor.panels import fit_on_screen
from agentdesk.ui.supervisor.report_view import ReportWindow
from agentdesk.ui.supervisor.wallboard import WallboardWindow
from tests.supervisor.conftest import FakeSession
from tests.supervisor.gui_support import Board, start_board
from tests.supervisor.simfloor import settings

pytestmark = pytest.mark.gui
SMALL = QRect(0, 0, 1366, 768)


@pytest.fixture
def board(qtbot: QtBot, supervisor: FakeSession, audit: LocalWriter) -> Iterator[Board]:
    made = start_board(qtbot, supervisor, audit, agents=2)
    yield made
    made.close()


def _drop_links(board: Board) -> int:
    """The PBX stops listening and drops every AMI session (the link stays down until
    :func:`_listen_again`: a reconnect within the floor's 250 ms pacing would otherwise
    hide the outage from the badge on a fast box)."""

    def drop() -> int:
        server = board.sim.sim.server
        port = server.port
        if server._server is not None:
            server._server.close()
            server._server = None
        server._port = port  # listen again on the same port
        sessions = list(server.sessions)
        for session in sessions:
            session.close(abort=True)
        return len(sessions)

    return int(board.sim.run(drop))


def _listen_again(board: Board) -> None:
    board.sim.loop.submit(board.sim.sim.server.start()).result(10)


def test_pbx_badge_follows_the_link_in_words(board: Board) -> None:
    shown: list[str] = []
    board.window.link_shown.connect(shown.append)
    board.wait(lambda s: s.connected and len(s.agents) == 2)
    window = board.window
    assert window.ui.link.text() == "PBX: connected"
    assert "Connecting" not in window.statusBar().currentMessage()
    # The PBX drops the server's session: the badge says since when, then comes back.
    assert _drop_links(board) >= 1
    board.qtbot.waitUntil(
        lambda: any(re.fullmatch(r"PBX: link down since \d\d:\d\d", t) for t in shown),
        timeout=20_000,
    )
    _listen_again(board)
    board.qtbot.waitUntil(lambda: window.ui.link.text() == "PBX: connected", timeout=20_000)
    assert not any(t in ("PBX: live", "PBX: DOWN") for t in shown)


def test_staffing_counts_the_agents_logged_in_now(board: Board) -> None:
    board.wait(lambda s: len(s.agents) == 2)
    window = board.window
    tz = window.service.settings.metrics.tz
    minutes = int(window.feed.interval.value)

    def staffed_now() -> str:
        now = dt.datetime.now(tz)
        start = now.replace(second=0, microsecond=0) - dt.timedelta(
            minutes=(now.hour * 60 + now.minute) % minutes
        )
        return board.cell(window.ui.staffing, start.strftime("%H:%M"), "Staffed")

    def two() -> bool:
        assert staffed_now() == "2.0"
        return True

    board.qtbot.waitUntil(two, timeout=15_000)
    assert "2 agents logged in" in window.ui.staffing_note.text()


def test_a_caller_waiting_while_every_member_is_paused_says_why(board: Board) -> None:
    board.wait(lambda s: len(s.agents) == 2)
    window = board.window
    for name in ("Agent 3001", "Agent 3002"):
        assert window.ui.agents.select_key(0, name)
        window.actions_by_id["pause"].trigger()
        dialog = window.open_dialog
        dialog.reason.setCurrentIndex(dialog.reason.findData("Coaching"))
        with board.qtbot.waitSignal(window.action_reported, timeout=10_000):
            dialog.accept()
    board.wait(lambda s: s.queue("general").paused == 2)  # type: ignore[union-attr]
    assert not window.ui.wait_note.isVisible()  # nobody waits: nothing to explain
    board.sim.call("+447700900123", handle_time=600)
    board.wait(lambda s: s.queue("general").waiting == 1)  # type: ignore[union-attr]
    note = window.ui.wait_note
    assert note.isVisible()
    assert "general: 1 waiting" in note.text()
    assert "2 of 2 members paused (Coaching 2)" in note.text()


def test_the_wallboard_fits_the_screen_it_opens_on_and_a_1366x768_one(board: Board) -> None:
    window = board.window
    board.wait(lambda s: len(s.agents) == 2)
    screen = window.screen().availableGeometry()
    assert screen.contains(window.frameGeometry()), (window.frameGeometry(), screen)
    hint = window.minimumSizeHint()
    assert hint.width() <= 1366 - 12 and hint.height() <= 768 - 40 - 30  # frame, a panel
    fit_on_screen(window, QSize(1366, 768), QRect(0, 30, 1366, 738))
    assert QRect(0, 30, 1366, 738).contains(window.frameGeometry())


def test_the_report_window_fits_and_says_what_is_missing_without_a_queue_log(
    qtbot: QtBot, supervisor: FakeSession, audit: LocalWriter
) -> None:
    bridge = Bridge()
    try:
        service = SupervisorService(supervisor, settings(), audit=audit, queue_log=None)
        reports = ReportWindow(service, bridge)
        qtbot.addWidget(reports)
        with qtbot.waitExposed(reports):
            reports.show()
        screen = reports.screen().availableGeometry()
        qtbot.waitUntil(lambda: screen.contains(reports.frameGeometry()), timeout=2000)
        assert screen.contains(reports.frameGeometry()), (reports.frameGeometry(), screen)
        fit_on_screen(reports, QSize(1200, 760), SMALL)
        assert SMALL.contains(reports.frameGeometry())
        assert reports.minimumSizeHint().height() <= 768 - 40
        with qtbot.waitSignal(reports.failed, timeout=5000) as failed:
            reports.build.click()
        message = failed.args[0]
        assert "No queue_log is connected" in message and "Errno" not in message
        assert reports.status.text() == message and reports.build.isEnabled()
    finally:
        bridge.shutdown()


def test_supervisor_shortcuts_work_from_every_supervisor_window(
    board: Board, supervisor: FakeSession, audit: LocalWriter, tmp_path: Path
) -> None:
    desk = QMainWindow()
    board.qtbot.addWidget(desk)
    launcher = install_supervisor(
        desk, supervisor, bridge=board.bridge, api=board.api, audit=audit, floor=None,
        data_dir=tmp_path,
    )  # fmt: skip
    assert launcher is not None
    desk.show()
    desk.activateWindow()
    qtbot = board.qtbot
    qtbot.waitUntil(desk.isActiveWindow, timeout=5000)
    with qtbot.waitSignal(launcher.opened, timeout=5000) as opened:
        qtbot.keyClick(desk, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier
                       | Qt.KeyboardModifier.ShiftModifier)  # fmt: skip
    wallboard = opened.args[0]
    assert isinstance(wallboard, WallboardWindow)
    try:
        qtbot.waitUntil(lambda: wallboard.isActiveWindow(), timeout=5000)
        # Ctrl+Shift+R with the wallboard focused opens the reports (did nothing before).
        with qtbot.waitSignal(launcher.opened, timeout=5000) as opened:
            qtbot.keyClick(wallboard, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier
                           | Qt.KeyboardModifier.ShiftModifier)  # fmt: skip
        reports = opened.args[0]
        assert isinstance(reports, ReportWindow)
        qtbot.waitUntil(lambda: reports.isActiveWindow(), timeout=5000)
        # ... and Ctrl+Shift+W from the report window brings the wallboard back.
        with qtbot.waitSignal(launcher.opened, timeout=5000) as opened:
            qtbot.keyClick(reports, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier
                           | Qt.KeyboardModifier.ShiftModifier)  # fmt: skip
        assert opened.args[0] is wallboard
        # The wallboard's own Reports action opens the same single report window.
        with qtbot.waitSignal(launcher.opened, timeout=5000) as opened:
            wallboard.actions_by_id["reports"].trigger()
        assert opened.args[0] is reports
    finally:
        wallboard.shutdown()  # its feed; the windows are closed with the test's widgets
        for window in (launcher.wallboard, launcher.reports):
            if window is not None:
                board.qtbot.addWidget(window)
