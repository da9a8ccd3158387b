"""The call feed over the desktop's own AMI login: for tests and labs without a server.

Production desktops get their calls through the server
(:class:`~agentdesk.client.cti.ServerCallFeed`). This feed does on the
desktop what the server's gateway does there: it logs in to the PBX with an
:class:`~agentdesk.telephony.client.AmiClient` on a
:class:`~agentdesk.telephony.loop_thread.LoopThread`, drops on that thread
the events this desk has no use for (a busy PBX sends hundreds a second,
most about other agents), and turns call requests into AMI actions with
:func:`~agentdesk.services.desk.call_requests.to_action` and the agent's
line from configuration. A request naming a call is carried out on the
agent's own leg of it, which this feed learns from the agent's
``AgentCalled``/``AgentConnect`` events and from each resync.
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Literal

from agentdesk.client.cti import FeedSink
from agentdesk.services.desk.call_data import IVR_VARIABLES
from agentdesk.services.desk.call_requests import (
    AgentLine,
    CallRequest,
    CallResult,
    Hangup,
    Transfer,
    to_action,
)
from agentdesk.services.desk.pbx_actions import ActionInputError
from agentdesk.telephony.client import (
    ActionResult,
    AmiClient,
    AmiError,
    ConnectionState,
    ResyncSnapshot,
)
from agentdesk.telephony.events import (
    AgentCalled,
    AgentConnect,
    AmiEvent,
    DialEnd,
    VarSet,
)
from agentdesk.telephony.events import (
    Hangup as HangupEvent,
)
from agentdesk.telephony.loop_thread import LoopThread

log = logging.getLogger(__name__)

# Events about queues and calls the desk reacts to (fnmatch patterns, case-insensitive).
PATTERNS = (
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
# The agent's legs remembered by Linkedid (a desk has a handful of calls at once).
_MAX_CALLS = 64
REQUEST_TIMEOUT = 15.0


class DirectPbxFeed:
    """A :class:`~agentdesk.client.cti.CallFeed` over the desktop's own AMI client."""

    def __init__(self, client: AmiClient, loop: LoopThread, line: AgentLine) -> None:
        self.client = client
        self.loop = loop
        self.line = line
        self._prefix = line.interface.lower() + "-"
        self._legs: OrderedDict[str, str] = OrderedDict()  # linkedid → the agent's channel
        self._started = False

    @classmethod
    def login(
        cls,
        host: str,
        port: int,
        username: str,
        secret: str,
        line: AgentLine,
        *,
        auth: Literal["plain", "md5"] = "md5",
    ) -> DirectPbxFeed:
        """A feed that logs in to ``host:port`` as ``username`` (not started yet)."""
        return cls(AmiClient(host, port, username, secret, auth=auth), LoopThread(), line)

    @property
    def where(self) -> str:
        return f"the PBX at {self.client.host}:{self.client.port}"

    @property
    def started(self) -> bool:
        return self._started

    def start(self, sink: FeedSink) -> None:
        if self._started:
            return
        self._started = True
        self.loop.start()

        def on_event(event: AmiEvent) -> None:
            arrived = time.perf_counter()
            if self._relevant(event):
                self._learn(event)
                sink.on_event(event, arrived)

        def on_state(state: ConnectionState, detail: str | None) -> None:
            sink.on_link(state, detail or "")

        def on_resync(snapshot: ResyncSnapshot) -> None:
            self._relearn(snapshot)
            sink.on_resync(snapshot)

        for pattern in PATTERNS:
            self.client.on_typed_event(on_event, pattern)
        self.client.on_state(on_state)
        self.client.on_resync(on_resync)
        self.loop.submit(self.client.start())

    def stop(self, timeout: float = 3.0) -> None:
        if not self._started:
            return
        self._started = False
        try:
            self.loop.submit(self.client.close()).result(timeout)
        except Exception as exc:  # closing a dead link must never block the exit
            log.info("AMI close: %s", exc)
        self.loop.stop()

    # ------------------------------------------------------------------ requests
    def request(self, request: CallRequest) -> CallResult:
        if not self._started:
            return CallResult(False, f"Not sent: {self.where} is not connected.")
        try:
            return self.loop.submit(self._carry_out(request)).result(REQUEST_TIMEOUT)
        except (TimeoutError, concurrent.futures.TimeoutError):
            return CallResult(False, f"No answer from {self.where}; check whether it took effect.")
        except Exception as exc:
            log.warning("request %s failed: %s", request.kind, type(exc).__name__)
            return CallResult(False, f"Not sent: {type(exc).__name__}.")

    async def _carry_out(self, request: CallRequest) -> CallResult:
        channel = None
        if isinstance(request, Hangup | Transfer):
            channel = self._legs.get(request.linkedid)
        try:
            action = to_action(request, self.line, channel)
        except ActionInputError as exc:
            return CallResult(False, str(exc))
        try:
            result = await self.client.send_action(action.name, action.as_dict())
        except (AmiError, OSError, TimeoutError) as exc:
            return CallResult(False, f"{action.name} not sent: {exc or type(exc).__name__}")
        if result.ok:
            return CallResult(True, "")
        return CallResult(False, f"The PBX refused {action.name}: {result.message or 'no reason'}")

    def send(
        self, action: str, headers: Mapping[str, object]
    ) -> concurrent.futures.Future[ActionResult]:
        """A raw AMI action (the desk's older path); the future completes on the loop thread."""
        if not self._started:
            failed: concurrent.futures.Future[ActionResult] = concurrent.futures.Future()
            failed.set_exception(ConnectionError("the PBX link is not started"))
            return failed
        return self.loop.submit(self.client.send_action(action, dict(headers)))

    # ------------------------------------------------------------------ loop thread side
    def _relevant(self, event: AmiEvent) -> bool:
        if isinstance(event, VarSet):
            return event.bare_variable in IVR_VARIABLES
        if isinstance(event, HangupEvent):
            return event.channel.channel.lower().startswith(self._prefix)
        if isinstance(event, DialEnd):
            return event.dest.channel.lower().startswith(self._prefix)
        return True

    def _mine(self, channel: str) -> bool:
        return channel.lower().startswith(self._prefix)

    def _learn(self, event: AmiEvent) -> None:
        """Remember the agent's leg of each call it is offered; forget it when it hangs up."""
        if isinstance(event, AgentCalled | AgentConnect) and self._mine(event.dest.channel):
            linkedid = event.linkedid or event.dest.linkedid
            if linkedid:
                self._legs[linkedid] = event.dest.channel
                self._legs.move_to_end(linkedid)
                while len(self._legs) > _MAX_CALLS:
                    self._legs.popitem(last=False)
        elif (
            isinstance(event, HangupEvent)
            and self._mine(event.channel.channel)
            and self._legs.get(event.linkedid) == event.channel.channel
        ):
            del self._legs[event.linkedid]

    def _relearn(self, snapshot: ResyncSnapshot) -> None:
        """After a (re)login the PBX's own list of channels is the truth."""
        self._legs.clear()
        for row in snapshot.channel_events():
            name = row.channel.channel
            if self._mine(name) and row.linkedid:
                self._legs[row.linkedid] = name
        while len(self._legs) > _MAX_CALLS:
            self._legs.popitem(last=False)


__all__ = ["PATTERNS", "ActionResult", "AmiClient", "DirectPbxFeed"]
