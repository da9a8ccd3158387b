"""The status bar says where the desktop stands with the server, as soon as that changes."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.gui


def test_the_status_bar_shows_the_server_online_once_synced(desk: Any) -> None:
    label = desk.window.status.store
    # The sync engine's status change refreshes it; the 2 s poll is only a safety net.
    desk.qtbot.waitUntil(lambda: label.text().startswith("Server: online"), timeout=1900)
    assert "all saved on the server" in label.text()
    assert "Central" not in label.text()
