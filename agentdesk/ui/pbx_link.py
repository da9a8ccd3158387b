"""The desk's call feed, seen from the GUI thread.

A :class:`PbxLink` wraps a :class:`~agentdesk.client.cti.CallFeed`: the
server's CTI gateway (production) or the desktop's own AMI login (tests and
labs, :class:`~agentdesk.client.direct_pbx.DirectPbxFeed`). The feed
delivers on its own thread; this class hands each item to the GUI thread
through the :class:`~agentdesk.ui.bridge.Bridge`, in order of arrival, as a
signal. Typed events keep the moment they arrived (the start of the ring →
pop latency); the server's caller match for an offer comes as
:attr:`PbxLink.matched` before that call's ``AgentCalled``.

Call requests go the other way (:meth:`PbxLink.request`), one at a time in
the order the agent made them, on a thread of their own (a slow customer
look-up on the bridge's lanes never delays "answer"); their result comes
back on the GUI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal

from agentdesk.client.cti import CallFeed, Resync
from agentdesk.client.direct_pbx import ActionResult, AmiClient, DirectPbxFeed
from agentdesk.services.crm.caller_match import CallerMatch
from agentdesk.services.desk.call_requests import CallRequest, CallResult
from agentdesk.telephony.client_types import ConnectionState
from agentdesk.telephony.events import AmiEvent
from agentdesk.ui.bridge import Bridge

log = logging.getLogger(__name__)


class _Sink:
    """The feed's side (any thread): everything goes to the GUI thread in arrival order."""

    def __init__(
        self,
        bridge: Bridge,
        link: PbxLink,
        set_state: Callable[[ConnectionState, str], None],
    ) -> None:
        self._post, self._link, self._set_state = bridge.post, link, set_state

    def on_event(self, event: AmiEvent, arrived: float) -> None:
        self._post(self._link.event_received.emit, event, arrived)

    def on_match(self, linkedid: str, match: CallerMatch) -> None:
        self._post(self._link.matched.emit, linkedid, match)

    def on_resync(self, snapshot: Resync) -> None:
        self._post(self._link.resynced.emit, snapshot)

    def on_link(self, state: ConnectionState, detail: str) -> None:
        self._post(self._set_state, state, detail)


class PbxLink(QObject):
    """GUI-thread face of the call feed: events and matches in, requests out."""

    event_received = Signal(object, float)  # AmiEvent, perf_counter() when it arrived
    resynced = Signal(object)  # a Resync: queue_events(), channel_events(), reconnect
    link_changed = Signal(str, str)  # ConnectionState value, detail
    matched = Signal(str, object)  # linkedid, CallerMatch (before that call's AgentCalled)

    def __init__(self, feed: CallFeed, bridge: Bridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._feed = feed
        self._bridge = bridge
        self._started = False
        self._requests: ThreadPoolExecutor | None = None
        self.state = ConnectionState.DISCONNECTED

    @property
    def feed(self) -> CallFeed:
        return self._feed

    @property
    def where(self) -> str:
        """Where calls come from, for messages: "the PBX at host:port" or the server's link."""
        return self._feed.where

    @property
    def direct(self) -> bool:
        """True when this desktop holds its own AMI login (tests, labs)."""
        return isinstance(self._feed, DirectPbxFeed)

    @property
    def client(self) -> AmiClient:
        """The desktop's own AMI client: direct mode only (calls through the server have none)."""
        if not isinstance(self._feed, DirectPbxFeed):
            raise RuntimeError(
                "calls come through the server: this desktop has no AMI client (use request())"
            )
        return self._feed.client

    def start(self) -> None:
        """Start the feed (returns at once; progress arrives as link_changed)."""
        if self._started:
            return
        self._started = True
        self._requests = ThreadPoolExecutor(1, thread_name_prefix="agentdesk-call-requests")
        self._feed.start(_Sink(self._bridge, self, self._set_state))

    def stop(self, timeout: float = 3.0) -> None:
        if not self._started:
            return
        self._started = False
        requests, self._requests = self._requests, None
        if requests is not None:
            requests.shutdown(wait=False, cancel_futures=True)
        self._feed.stop(timeout)

    # ------------------------------------------------------------------ requests
    def request(
        self, req: CallRequest, on_result: Callable[[CallResult], None] | None = None
    ) -> None:
        """Carry out ``req``; ``on_result`` gets the :class:`CallResult` on the GUI thread."""
        requests = self._requests
        if requests is None:
            if on_result is not None:
                on_result(CallResult(False, f"Not sent: {self.where} is not connected yet."))
            return
        future = requests.submit(self._feed.request, req)

        def done(f: Future[CallResult]) -> None:
            if f.cancelled():
                return
            exc = f.exception()
            if exc is not None:  # a feed must not raise; say so rather than lose the answer
                log.error("call request %s failed", req.kind, exc_info=exc)
                result = CallResult(False, f"Not sent: {type(exc).__name__}.")
            else:
                result = f.result()
            if on_result is not None:
                self._bridge.post(on_result, result)

        future.add_done_callback(done)

    def send(
        self,
        action: str,
        headers: Mapping[str, object],
        on_result: Callable[[ActionResult], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """A raw AMI action, direct mode only (the desk moves to :meth:`request`)."""
        if not self._started or not isinstance(self._feed, DirectPbxFeed):
            if on_error is not None:
                why = "is not started" if not self._started else "goes through the server"
                on_error(ConnectionError(f"the PBX link {why}; AMI actions are not sent"))
            return
        future = self._feed.send(action, headers)

        def done(f: Any) -> None:
            exc = f.exception()
            if exc is not None:
                if on_error is not None:
                    self._bridge.post(on_error, exc)
            elif on_result is not None:
                self._bridge.post(on_result, f.result())

        future.add_done_callback(done)

    # ------------------------------------------------------------------ GUI thread
    def _set_state(self, state: ConnectionState, detail: str) -> None:
        self.state = state
        self.link_changed.emit(state.value, detail)
