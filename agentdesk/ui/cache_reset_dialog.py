"""The question asked when this workstation's cache cannot be opened with its key.

The problem arrives as ``agentdesk.store.cache_file.UnreadableCache``; it is
described here by shape only, so the UI does not import the store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget


class UnreadableCache(Protocol):
    """What the dialog needs to know about the unreadable file."""

    @property
    def path(self) -> Path: ...
    @property
    def reason(self) -> str: ...
    @property
    def moved_to(self) -> Path: ...
    @property
    def plaintext(self) -> bool: ...
    @property
    def outbox_note(self) -> str: ...


class CacheResetDialog(QMessageBox):
    """Explains an unreadable cache and offers a fresh one (or quitting to find the key)."""

    def __init__(self, problem: UnreadableCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("agentdesk — local cache cannot be opened")
        self.setIcon(QMessageBox.Icon.Warning)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setText(
            "This workstation's local cache cannot be opened with the key kept in the "
            "operating system's keyring. The keyring entry may have been reset or lost, or "
            "the file was copied from another computer or is damaged."
        )
        kept = (
            "This file is an old unencrypted cache: it holds customer data in clear; "
            "delete it once support has checked it."
            if problem.plaintext
            else problem.outbox_note
        )
        self.setInformativeText(
            "agentdesk can start with a fresh cache and fill it from the server. "
            f"The old file will be kept as {problem.moved_to.name} next to it. {kept}"
        )
        self.setDetailedText(f"{problem.path}\n{problem.reason}")
        self.fresh = self.addButton("Start with a fresh cache", QMessageBox.ButtonRole.AcceptRole)
        self.quit = self.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
        self.setDefaultButton(self.fresh)


def confirm_cache_reset(problem: UnreadableCache, parent: QWidget | None = None) -> bool:
    """Ask; True means "set the old file aside and start afresh"."""
    dialog = CacheResetDialog(problem, parent)
    dialog.exec()
    return dialog.clickedButton() is dialog.fresh
