"""The one way off the GUI thread and the one way back.

``Bridge.submit`` runs a function on a worker and delivers its result (or
exception) to callbacks on the GUI thread through one queued signal.
``Bridge.post`` hands a callable from any thread (the telephony loop) to the
GUI thread the same way. Two lanes keep a slow central query from delaying
a local write: ``local`` is the single, serialised local-database worker;
``central`` talks to the central store (and anything else that may block
on the network).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Literal, TypeVar

from PySide6.QtCore import QObject, Qt, Signal

log = logging.getLogger(__name__)
T = TypeVar("T")
Lane = Literal["local", "central"]


class Bridge(QObject):
    """Executor lanes plus a queued signal back to the GUI thread."""

    _delivered = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lanes: dict[str, ThreadPoolExecutor] = {
            "local": ThreadPoolExecutor(1, thread_name_prefix="agentdesk-local"),
            "central": ThreadPoolExecutor(1, thread_name_prefix="agentdesk-central"),
        }
        self._closed = False
        self._gui_thread = threading.current_thread()
        self._delivered.connect(self._run, Qt.ConnectionType.QueuedConnection)

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the GUI thread, soon (safe from any thread)."""
        if not self._closed:
            self._delivered.emit(lambda: fn(*args))

    def submit(
        self,
        fn: Callable[..., T],
        *args: Any,
        on_done: Callable[[T], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        lane: Lane = "local",
    ) -> Future[T]:
        """Run ``fn(*args)`` on a worker lane; callbacks run on the GUI thread.

        After :meth:`shutdown` nothing runs: the future is returned cancelled.
        """
        if self._closed:
            dropped: Future[T] = Future()
            dropped.cancel()
            return dropped
        future = self._lanes[lane].submit(fn, *args)

        def finished(f: Future[T]) -> None:
            if f.cancelled():
                return
            exc = f.exception()
            if exc is not None:
                if on_error is not None:
                    self.post(on_error, exc)
                else:
                    log.error("background task %r failed", fn, exc_info=exc)
            elif on_done is not None:
                self.post(on_done, f.result())

        future.add_done_callback(finished)
        return future

    def on_gui_thread(self) -> bool:
        return threading.current_thread() is self._gui_thread

    def shutdown(self, wait: bool = True) -> None:
        """Stop accepting work; finish (or drop) what is queued."""
        self._closed = True
        for executor in self._lanes.values():
            executor.shutdown(wait=wait, cancel_futures=not wait)

    def _run(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:
            log.exception("GUI callback failed")
