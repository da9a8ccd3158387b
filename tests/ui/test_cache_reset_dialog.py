"""The unreadable-cache dialog says what happened, where the old file goes, and what is lost."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from agentdesk.store.cache_file import UnreadableCache
from agentdesk.ui.cache_reset_dialog import CacheResetDialog, confirm_cache_reset

PROBLEM = UnreadableCache(
    Path("/data/cache.db"),
    "file is not a database",
    Path("/data/cache.db.unreadable-20261203T093000Z"),
    plaintext=False,
)


def test_dialog_names_the_kept_file_and_the_unsent_outbox(qtbot: QtBot) -> None:
    dialog = CacheResetDialog(PROBLEM)
    qtbot.addWidget(dialog)
    assert "cache.db.unreadable-20261203T093000Z" in dialog.informativeText()
    assert "outbox" in dialog.informativeText()
    assert "file is not a database" in dialog.detailedText()


def _press(which: str) -> None:
    """Click ``which`` button on the open dialog (confirm_cache_reset runs it modally)."""
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, CacheResetDialog) and widget.isVisible():
            getattr(widget, which).click()


def test_fresh_cache_button_confirms_and_quit_declines(qtbot: QtBot) -> None:
    QTimer.singleShot(0, lambda: _press("fresh"))
    assert confirm_cache_reset(PROBLEM) is True
    QTimer.singleShot(0, lambda: _press("quit"))
    assert confirm_cache_reset(PROBLEM) is False
