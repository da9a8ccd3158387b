"""The desktop's AMI session, seen from the GUI thread.

The :class:`~agentdesk.telephony.client.AmiClient` runs on the telephony
loop thread; this adapter subscribes to the events the desktop needs, drops
the rest on that thread (a busy PBX sends hundreds of events a second, most
about other agents), and hands the remainder to the GUI thread through the
:class:`~agentdesk.ui.bridge.Bridge`, stamped with the moment they arrived
(the start of the ring → pop latency). Actions go the other way and their
results come back through the bridge too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QObject, Signal

from agentdesk.services.desk.call_data import IVR_VARIABLES
from agentdesk.telephony.client import ActionResult, AmiClient, ConnectionState, ResyncSnapshot
from agentdesk.telephony.events import AmiEvent, DialEnd, Hangup, VarSet
from agentdesk.telephony.loop_thread import LoopThread
from agentdesk.ui.bridge import Bridge

log = logging.getLogger(__name__)

# Events about queues and calls the desktop reacts to (fnmatch patterns, case-insensitive).
_PATTERNS = (
    "agent*",
    "queuemember*",
    "queuecaller*",
    "hold",
    "unhold",
    "hangup",
    "dialend",
    "userevent",
    "varset",
)


class PbxLink(QObject):
    """GUI-thread face of the AMI client: filtered events in, actions out."""

    event_received = Signal(object, float)  # AmiEvent, perf_counter() when it was parsed
    resynced = Signal(object)  # ResyncSnapshot
    link_changed = Signal(str, str)  # ConnectionState value, detail

    def __init__(
        self,
        client: AmiClient,
        loop: LoopThread,
        bridge: Bridge,
        interface: str,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._client = client
        self._loop = loop
        self._bridge = bridge
        self._channel_prefix = interface.lower() + "-"
        self._started = False
        self.state = ConnectionState.DISCONNECTED

    @property
    def client(self) -> AmiClient:
        return self._client

    def start(self) -> None:
        """Subscribe and start connecting (returns at once; progress arrives as link_changed)."""
        if self._started:
            return
        self._started = True
        self._loop.start()
        for pattern in _PATTERNS:
            self._client.on_typed_event(self._on_loop_event, pattern)
        self._client.on_state(self._on_loop_state)
        self._client.on_resync(self._on_loop_resync)
        self._loop.submit(self._client.start())

    def stop(self, timeout: float = 3.0) -> None:
        if not self._started:
            return
        self._started = False
        try:
            self._loop.submit(self._client.close()).result(timeout)
        except Exception as exc:  # closing a dead link must never block the exit
            log.info("AMI close: %s", exc)
        self._loop.stop()

    def send(
        self,
        action: str,
        headers: Mapping[str, object],
        on_result: Callable[[ActionResult], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Send an action; callbacks run on the GUI thread."""
        if not self._started:
            if on_error is not None:
                on_error(ConnectionError("the PBX link is not started"))
            return
        future = self._loop.submit(self._client.send_action(action, dict(headers)))

        def done(f: Any) -> None:
            exc = f.exception()
            if exc is not None:
                if on_error is not None:
                    self._bridge.post(on_error, exc)
            elif on_result is not None:
                self._bridge.post(on_result, f.result())

        future.add_done_callback(done)

    # ------------------------------------------------------------------ loop thread side
    def _relevant(self, event: AmiEvent) -> bool:
        if isinstance(event, VarSet):
            return event.bare_variable in IVR_VARIABLES
        if isinstance(event, Hangup):
            return event.channel.channel.lower().startswith(self._channel_prefix)
        if isinstance(event, DialEnd):
            return event.dest.channel.lower().startswith(self._channel_prefix)
        return True

    def _on_loop_event(self, event: AmiEvent) -> None:
        arrived = time.perf_counter()
        if self._relevant(event):
            self._bridge.post(self.event_received.emit, event, arrived)

    def _on_loop_state(self, state: ConnectionState, detail: str | None) -> None:
        self._bridge.post(self._set_state, state, detail or "")

    def _on_loop_resync(self, snapshot: ResyncSnapshot) -> None:
        self._bridge.post(self.resynced.emit, snapshot)

    def _set_state(self, state: ConnectionState, detail: str) -> None:
        self.state = state
        self.link_changed.emit(state.value, detail)
