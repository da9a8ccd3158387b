"""A WebSocket to ``agentdesk server`` held on its own loop thread: what the call feed and the
supervisor's floor feed share.

:class:`ServerSocket` connects with the session's Bearer token and the API's TLS
settings, hands every text frame to :meth:`ServerSocket._message`, and takes the
socket for dead after ``silence`` seconds without a frame (the server sends a
heartbeat every 20). A drop is retried with backoff and jitter. A close the same
session cannot cure (the subclass names those codes in ``final_closes``) stops the
retrying until the API holds another session token (the idle lock's sign-in makes
one). Subclasses say what a drop or a final close means for their users.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import ssl
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Generic, TypeVar

import websockets

from agentdesk.client.api import ServerApi
from agentdesk.store.sync.backoff import Backoff
from agentdesk.telephony.loop_thread import LoopThread

log = logging.getLogger(__name__)

SinkT = TypeVar("SinkT")


def close_code(exc: BaseException) -> int | None:
    """The server's close code, or the HTTP status of a refused upgrade (401 → 4401)."""
    code = getattr(getattr(exc, "rcvd", None), "code", None)
    if isinstance(code, int):
        return code
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(status, int) and status in (401, 403):
        return 4000 + status
    return None


def why(exc: BaseException) -> str:
    """A connection failure in a few words (no message content, no address)."""
    code = close_code(exc)
    if code is not None:
        return f"closed with code {code}"
    if isinstance(exc, TimeoutError):
        return str(exc) or "timed out"
    return type(exc).__name__


class ServerSocket(ABC, Generic[SinkT]):
    """One reconnecting WebSocket to the server; subclasses decode its messages."""

    #: For logs: "CTI feed", "floor feed".
    name: ClassVar[str] = "server socket"
    #: Close codes the same session cannot cure, and what each means for the user.
    final_closes: ClassVar[Mapping[int, str]] = {}
    #: What the detail says when the server closes the socket normally.
    closed_text: ClassVar[str] = "the server closed the socket"
    max_size: ClassVar[int] = 4 * 1024 * 1024

    def __init__(
        self,
        api: ServerApi,
        loop: LoopThread,
        *,
        backoff: Backoff | None = None,
        silence: float = 65.0,
        open_timeout: float = 5.0,
        session_poll: float = 1.0,
    ) -> None:
        self.api = api
        self.loop = loop
        self._backoff = backoff or Backoff(0.5, 30.0)
        self._silence = silence
        self._open_timeout = open_timeout
        self._session_poll = session_poll
        self._stop: asyncio.Event | None = None
        self._runner: concurrent.futures.Future[None] | None = None

    # ------------------------------------------------------------------ for subclasses
    @property
    @abstractmethod
    def url(self) -> str:
        """The socket's ``ws://``/``wss://`` address."""

    def ws_base(self) -> str:
        """The server's base URL with the WebSocket scheme."""
        return self.api.base_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)

    def _connecting(self, sink: SinkT) -> None:
        """Before the first connection attempt."""

    def _opened(self, sink: SinkT) -> None:
        """A socket is open (per-connection state starts again here)."""

    @abstractmethod
    def _message(self, text: str | bytes, arrived: float, sink: SinkT) -> None:
        """One text frame, in order of arrival (``arrived``: ``perf_counter()``)."""

    def _lost(self, detail: str, ever_open: bool, sink: SinkT) -> None:
        """The socket dropped or could not open; it is retried after a backoff."""

    def _ended(self, final: str, sink: SinkT) -> None:
        """A final close: nothing is retried until the session changes."""

    # ------------------------------------------------------------------ lifecycle
    def start(self, sink: SinkT) -> None:
        if self._runner is not None:
            return
        self.loop.start()
        self._runner = self.loop.submit(self._begin(sink))

    async def _begin(self, sink: SinkT) -> None:
        self._stop = asyncio.Event()
        await self.run(self._stop, sink)

    def stop(self, timeout: float = 3.0, *, stop_loop: bool = True) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        stop = self._stop
        if stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is already gone
                self.loop.call_soon(stop.set)
        try:
            runner.result(timeout)
        except Exception as exc:  # stopping must never block the exit
            log.info("%s stop: %s", self.name, type(exc).__name__)
        if stop_loop:
            self.loop.stop()

    # ------------------------------------------------------------------ the socket
    async def run(self, stop: asyncio.Event, sink: SinkT) -> None:
        """Receive until ``stop`` is set, reconnecting as needed (also usable on any loop)."""
        ssl_ctx = self.api.verify if isinstance(self.api.verify, ssl.SSLContext) else None
        if self.api.base_url.startswith("https://") and ssl_ctx is None:
            ssl_ctx = ssl.create_default_context()
        self._connecting(sink)
        ever_open = False
        while not stop.is_set():
            token = self.api.token
            final: str | None = None
            try:
                async with websockets.connect(
                    self.url,
                    additional_headers={"Authorization": f"Bearer {token}"},
                    ssl=ssl_ctx,
                    open_timeout=self._open_timeout,
                    ping_interval=20,
                    max_size=self.max_size,
                ) as ws:
                    self._backoff.reset()
                    ever_open = True
                    self._opened(sink)
                    await self._receive(ws, stop, sink)
                    detail = self.closed_text
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure: say so, wait, reconnect
                final = self.final_closes.get(close_code(exc) or 0)
                reason = getattr(getattr(exc, "rcvd", None), "reason", "")
                if final is not None and isinstance(reason, str) and reason.strip():
                    final = f"{final} (the server said: {reason.strip()[:120]})"
                detail = final or why(exc)
            if stop.is_set():
                break
            if final is not None:
                log.warning("%s ended: %s", self.name, final)
                self._ended(final, sink)
                await self._wait_new_session(stop, token)
                continue
            log.info("%s: %s; retrying", self.name, detail)
            self._lost(detail, ever_open, sink)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._backoff.next_delay())

    async def _wait_new_session(self, stop: asyncio.Event, refused: str | None) -> None:
        """Until the API holds another session token (or the socket is stopped)."""
        while not stop.is_set() and self.api.token == refused:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._session_poll)

    async def _receive(self, ws: Any, stop: asyncio.Event, sink: SinkT) -> None:
        stopping = asyncio.create_task(stop.wait())
        receiving: asyncio.Task[Any] | None = None
        try:
            while not stop.is_set():
                receiving = asyncio.create_task(ws.recv())
                done, _ = await asyncio.wait(
                    {receiving, stopping},
                    timeout=self._silence,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if not done:
                    raise TimeoutError(f"no message for {self._silence:.0f} s")
                if receiving not in done:
                    return
                text = receiving.result()
                receiving = None
                self._message(text, time.perf_counter(), sink)
        finally:
            stopping.cancel()
            if receiving is not None:
                receiving.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await receiving
