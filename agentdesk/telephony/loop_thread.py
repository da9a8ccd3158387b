"""An asyncio event loop on a background thread, for callers that are not async (the desktop)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """Owns one daemon thread running one asyncio loop; hands work to it thread-safely.

    The desktop starts one, then ``submit(client.connect())`` etc.; AMI client
    callbacks run on this thread and should forward to the GUI with a queued
    signal. ``stop()`` cancels what is still running and joins the thread.
    """

    def __init__(self, name: str = "agentdesk-telephony") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("LoopThread is not started")
        return self._loop

    def start(self) -> asyncio.AbstractEventLoop:
        """Start the thread and return its loop (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._main, name=self._name, daemon=True)
            self._thread.start()
            self._started.wait()
        return self.loop

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._started.set()
        try:
            loop.run_forever()
        finally:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the loop; the returned future can be waited on from any thread."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call_soon(self, func: Callable[..., object], *args: object) -> None:
        """Call ``func(*args)`` on the loop thread."""
        self.loop.call_soon_threadsafe(func, *args)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop (cancelling its tasks) and join the thread."""
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        self._thread = None
        self._loop = None
        self._started.clear()
