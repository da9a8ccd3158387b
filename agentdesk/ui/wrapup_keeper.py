"""The Qt face of the open wrap-ups, and the Qt clock the desk session runs on.

The rules (drafts kept in the cache as typed, the after-call-work limit,
saving each wrap-up exactly once, retries) live in the Qt-free
:class:`~agentdesk.services.desk.wrapups.WrapUpBook`; this module only turns
its reports into signals for the wrap-up form and provides the timers
(:class:`QtClock`) the session's clock port asks for.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from agentdesk.services.desk.wrapup import WrapUpContext, WrapUpDraft, WrapUpService
from agentdesk.services.desk.wrapups import WrapUpBook


class _QtTimer:
    def __init__(self, parent: QObject, seconds: float, callback: Callable[[], None]) -> None:
        self._timer: QTimer | None = QTimer(parent)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._fire)
        self._callback = callback
        self._timer.start(max(round(seconds * 1000), 0))

    def _fire(self) -> None:
        self.cancel()
        self._callback()

    def cancel(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.stop()
            timer.deleteLater()


class QtClock:
    """The session's clock port on the GUI thread: wall time and single-shot QTimers."""

    def __init__(self, parent: QObject) -> None:
        self._parent = parent

    def now(self) -> float:
        return time.time()

    def start(self, seconds: float, callback: Callable[[], None]) -> _QtTimer:
        return _QtTimer(self._parent, seconds, callback)


class WrapUpKeeper(QObject):
    """Signals and calls of the open wrap-ups, over the session's :class:`WrapUpBook`."""

    started = Signal(object)  # WrapUpContext
    updated = Signal(object)  # WrapUpContext (e.g. the customer was picked late)
    saved = Signal(object)  # WrapUpSaved
    failed = Signal(str, str, str)  # linkedid, message, field
    finished = Signal(str, object)  # linkedid, next state (None: Available)
    notice = Signal(str, str)
    # CallChange of the agent's calls: the form takes notes for a connected call before
    # its wrap-up opens (the draft is kept against the live call's Linkedid).
    call_changed = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._book: WrapUpBook | None = None
        self._update_draft: Callable[[str, WrapUpDraft], None] | None = None

    def bind(self, book: WrapUpBook, update_draft: Callable[[str, WrapUpDraft], None]) -> None:
        self._book, self._update_draft = book, update_draft

    @property
    def book(self) -> WrapUpBook:
        if self._book is None:
            raise RuntimeError("the wrap-up keeper is not bound to a desk session")
        return self._book

    @property
    def service(self) -> WrapUpService:
        return self.book.service

    def pending(self) -> list[WrapUpContext]:
        return self.book.pending()

    def context(self, linkedid: str) -> WrapUpContext | None:
        return self.book.context(linkedid)

    def draft(self, linkedid: str) -> WrapUpDraft | None:
        """What was typed for this call so far (also read back after a restart)."""
        return self.book.draft(linkedid)

    def seconds_left(self, linkedid: str) -> float | None:
        return self.book.seconds_left(linkedid)

    def set_customer(self, linkedid: str, customer_id: uuid.UUID) -> None:
        self.book.set_customer(linkedid, customer_id)

    def update_draft(self, linkedid: str, draft: WrapUpDraft) -> None:
        """The form's current content, kept (in the cache too) so nothing typed is lost."""
        if self._update_draft is not None:
            self._update_draft(linkedid, draft)

    def save(self, linkedid: str, draft: WrapUpDraft | None = None) -> None:
        self.book.save(linkedid, draft)

    def save_all_now(self) -> None:
        """Save every open wrap-up as it stands (the desktop is closing)."""
        self.book.save_all_now("The desktop is closing: open wrap-ups were saved.")
