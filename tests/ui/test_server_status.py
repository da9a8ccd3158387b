"""The status bar says where the desktop stands with the server, as soon as that changes."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QWidget

pytestmark = pytest.mark.gui


def test_the_status_bar_shows_the_server_online_once_synced(desk: Any) -> None:
    label = desk.window.status.store
    # The sync engine's status change refreshes it; the 2 s poll is only a safety net.
    desk.qtbot.waitUntil(lambda: label.text().startswith("Server: online"), timeout=1900)
    assert "all saved on the server" in label.text()
    assert "Central" not in label.text()


def test_a_session_the_server_ended_locks_the_desk_until_the_agent_signs_in_again(
    desk: Any,
) -> None:
    from tests.ui.data import PASSWORD

    api = desk.desktop.server.api
    api.request("DELETE", "/session")  # as if revoked or expired at the server
    desk.desktop.sync.sync_now()
    screen = desk.window.findChild(QWidget, "lockScreen")
    assert screen is not None
    desk.qtbot.waitUntil(screen.isVisible, timeout=10_000)
    assert "session at the server has ended" in screen.message.text()
    screen.password.setText(PASSWORD)
    screen.unlock.click()
    desk.qtbot.waitUntil(lambda: not screen.isVisible(), timeout=10_000)
    assert desk.desktop.sync.wait_for(lambda st: st.phase == "idle" and st.online, 15)
