"""Asterisk 20 AMI events for the simulator, built table-style in Asterisk's header order.

Every channel event carries the snapshot block of manager_channels.c
(``ast_manager_build_channel_state_string_prefix``), optionally prefixed
(``Dest``, ``Transferer`` ...), followed by one ``ChanVariable`` per
configured ``channelvars`` entry. Queue events follow app_queue.c's
``ast_json_pack`` insertion order. Events are buffered per simulation step
and flushed together, so optional seeded jitter can swap adjacent events of
different channels, as Asterisk's separate Stasis topics do.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable, Iterable, Sequence

from agentdesk.telephony.codec import AmiMessage
from agentdesk.telephony.sim.model import STATE_DESC, Bridge, Channel

Pairs = list[tuple[str, str]]
Sink = Callable[[AmiMessage, str], None]

CAUSE_TEXT = {
    16: "Normal Clearing",
    17: "User busy",
    19: "User alerting, no answer",
    26: "Answered elsewhere",
    21: "Call Rejected",
}

_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\v": "\\v",
    "'": "\\'",
    "?": "\\?",
}


def c_escape(text: str) -> str:
    """Escape like ``ast_escape_c_alloc`` (used for CallerIDName and VarSet values)."""
    if not any(ch in _ESCAPES for ch in text):
        return text
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def unknown(text: str) -> str:
    return text if text else "<unknown>"


class EventWriter:
    """Builds and buffers AMI events; ``flush()`` hands them to the sinks (server, recorders)."""

    def __init__(
        self,
        channelvars: Sequence[str] = (),
        *,
        jitter: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        self.channelvars = tuple(channelvars)
        self.jitter = jitter
        self._rng = rng or random.Random(0)
        self._sinks: list[Sink] = []
        self._buffer: list[tuple[AmiMessage, str, str | None]] = []
        self.emitted = 0
        #: False skips building events altogether (statistics runs that only need queue_log).
        self.enabled = True

    def add_sink(self, sink: Sink) -> Callable[[], None]:
        self._sinks.append(sink)
        return lambda: self._sinks.remove(sink) if sink in self._sinks else None

    # ------------------------------------------------------------------ plumbing
    def emit(
        self, name: str, klass: str, body: Iterable[tuple[str, str]], *, chan: Channel | None = None
    ) -> None:
        """Queue ``Event: name`` / ``Privilege: klass,all`` + ``body`` for the next flush.

        ``chan`` marks a single-channel event that jitter may reorder against another channel's.
        """
        if not self.enabled:
            return
        headers = [("Event", name), ("Privilege", f"{klass},all"), *body]
        self._buffer.append((AmiMessage(tuple(headers)), klass, chan.uniqueid if chan else None))

    def flush(self) -> None:
        buffer, self._buffer = self._buffer, []
        if self.jitter > 0 and len(buffer) > 1:
            for i in range(len(buffer) - 1):
                a, b = buffer[i][2], buffer[i + 1][2]
                if a and b and a != b and self._rng.random() < self.jitter:
                    buffer[i], buffer[i + 1] = buffer[i + 1], buffer[i]
        self.emitted += len(buffer)
        for message, klass, _ in buffer:
            for sink in self._sinks:
                sink(message, klass)

    def snapshot(self, ch: Channel, prefix: str = "") -> Pairs:
        if not self.enabled:
            return []
        p = prefix
        out = [
            (f"{p}Channel", ch.name),
            (f"{p}ChannelState", str(ch.state)),
            (f"{p}ChannelStateDesc", STATE_DESC.get(ch.state, "Unknown")),
            (f"{p}CallerIDNum", unknown(ch.caller_num)),
            (f"{p}CallerIDName", unknown(c_escape(ch.caller_name))),
            (f"{p}ConnectedLineNum", unknown(ch.connected_num)),
            (f"{p}ConnectedLineName", unknown(c_escape(ch.connected_name))),
            (f"{p}Language", ch.language),
            (f"{p}AccountCode", ch.account_code),
            (f"{p}Context", ch.context),
            (f"{p}Exten", ch.exten),
            (f"{p}Priority", str(ch.priority)),
            (f"{p}Uniqueid", ch.uniqueid),
            (f"{p}Linkedid", ch.linkedid),
        ]
        for var in self.channelvars:
            out.append((f"{p}ChanVariable", f"{var}={ch.variables.get(var, '')}"))
        return out

    @staticmethod
    def bridge_block(bridge: Bridge, prefix: str = "") -> Pairs:
        p = prefix
        return [
            (f"{p}BridgeUniqueid", bridge.uniqueid),
            (f"{p}BridgeType", bridge.bridge_type),
            (f"{p}BridgeTechnology", bridge.technology),
            (f"{p}BridgeCreator", unknown(bridge.creator)),
            (f"{p}BridgeName", unknown(bridge.name)),
            (f"{p}BridgeNumChannels", str(len(bridge.channels))),
            (f"{p}BridgeVideoSourceMode", "none"),
        ]

    # ------------------------------------------------------------------ channel lifetime
    def newchannel(self, ch: Channel) -> None:
        self.emit("Newchannel", "call", self.snapshot(ch), chan=ch)

    def newstate(self, ch: Channel) -> None:
        self.emit("Newstate", "call", self.snapshot(ch), chan=ch)

    def hangup_request(self, ch: Channel, *, soft: bool = False, cause: int | None = None) -> None:
        body = self.snapshot(ch) + ([("Cause", str(cause))] if cause is not None else [])
        self.emit("SoftHangupRequest" if soft else "HangupRequest", "call", body, chan=ch)

    def hangup(self, ch: Channel, cause: int = 16) -> None:
        ch.hungup = True
        body = [
            *self.snapshot(ch),
            ("Cause", str(cause)),
            ("Cause-txt", CAUSE_TEXT.get(cause, "Unknown")),
        ]
        self.emit("Hangup", "call", body, chan=ch)

    def newexten(self, ch: Channel, application: str, app_data: str) -> None:
        ch.application, ch.app_data = application, app_data
        body = [
            *self.snapshot(ch),
            ("Extension", ch.exten),
            ("Application", application),
            ("AppData", app_data),
        ]
        self.emit("Newexten", "dialplan", body, chan=ch)

    def varset(self, ch: Channel, variable: str, value: str) -> None:
        body = [*self.snapshot(ch), ("Variable", variable), ("Value", c_escape(value))]
        self.emit("VarSet", "dialplan", body, chan=ch)

    def dtmf(self, ch: Channel, digit: str, duration_ms: int) -> None:
        snap = self.snapshot(ch)
        self.emit(
            "DTMFBegin", "dtmf", [*snap, ("Digit", digit), ("Direction", "Received")], chan=ch
        )
        self.emit(
            "DTMFEnd",
            "dtmf",
            [*snap, ("Digit", digit), ("DurationMs", str(duration_ms)), ("Direction", "Received")],
            chan=ch,
        )

    def user_event(self, ch: Channel, name: str, fields: Sequence[tuple[str, str]]) -> None:
        self.emit("UserEvent", "user", [*self.snapshot(ch), ("UserEvent", name), *fields], chan=ch)

    # ------------------------------------------------------------------ dialing
    def dial_begin(self, caller: Channel, dest: Channel, dialstring: str) -> None:
        body = self.snapshot(caller) + self.snapshot(dest, "Dest") + [("DialString", dialstring)]
        self.emit("DialBegin", "call", body)

    def dial_end(self, caller: Channel, dest: Channel, status: str) -> None:
        body = self.snapshot(caller) + self.snapshot(dest, "Dest") + [("DialStatus", status)]
        self.emit("DialEnd", "call", body)

    def hold(self, ch: Channel) -> None:
        self.emit("Hold", "call", [*self.snapshot(ch), ("MusicClass", "default")], chan=ch)

    def unhold(self, ch: Channel) -> None:
        self.emit("Unhold", "call", self.snapshot(ch), chan=ch)

    def moh_start(self, ch: Channel) -> None:
        self.emit("MusicOnHoldStart", "call", [*self.snapshot(ch), ("Class", "default")], chan=ch)

    def moh_stop(self, ch: Channel) -> None:
        self.emit("MusicOnHoldStop", "call", self.snapshot(ch), chan=ch)

    # ------------------------------------------------------------------ bridges
    def bridge_create(self, bridge: Bridge) -> None:
        self.emit("BridgeCreate", "call", self.bridge_block(bridge))

    def bridge_destroy(self, bridge: Bridge) -> None:
        self.emit("BridgeDestroy", "call", self.bridge_block(bridge))

    def bridge_enter(self, bridge: Bridge, ch: Channel) -> None:
        self.emit("BridgeEnter", "call", self.bridge_block(bridge) + self.snapshot(ch))

    def bridge_leave(self, bridge: Bridge, ch: Channel) -> None:
        self.emit("BridgeLeave", "call", self.bridge_block(bridge) + self.snapshot(ch))

    def blind_transfer(
        self, transferer: Channel, transferee: Channel, bridge: Bridge, context: str, exten: str
    ) -> None:
        body = [
            ("Result", "Success"),
            *self.snapshot(transferer, "Transferer"),
            *self.snapshot(transferee, "Transferee"),
            *self.bridge_block(bridge),
            ("IsExternal", "No"),
            ("Context", context),
            ("Extension", exten),
        ]
        self.emit("BlindTransfer", "call", body)

    def attended_transfer(
        self,
        orig: Channel,
        orig_bridge: Bridge,
        second: Channel,
        second_bridge: Bridge,
        transferee: Channel,
        target: Channel,
    ) -> None:
        body = [
            ("Result", "Success"),
            *self.snapshot(orig, "OrigTransferer"),
            *self.bridge_block(orig_bridge, "OrigBridge"),
            *self.snapshot(second, "SecondTransferer"),
            *self.bridge_block(second_bridge, "SecondBridge"),
            *self.snapshot(transferee, "Transferee"),
            *self.snapshot(target, "TransferTarget"),
            ("IsExternal", "No"),
            ("DestType", "Bridge"),
            ("DestBridgeUniqueid", second_bridge.uniqueid),
        ]
        self.emit("AttendedTransfer", "call", body)

    # ------------------------------------------------------------------ system
    def fully_booted_body(self, uptime: int, last_reload: int) -> Pairs:
        return [
            ("Uptime", str(uptime)),
            ("LastReload", str(last_reload)),
            ("Status", "Fully Booted"),
        ]

    def noise_rtcp(self, ch: Channel, packets: int) -> None:
        body = [
            *self.snapshot(ch),
            ("To", "127.0.0.1:10000"),
            ("From", "127.0.0.1:10001"),
            ("SSRC", f"{zlib.crc32(ch.uniqueid.encode()):#010x}"),
            ("PT", "200(SR)"),
            ("ReportCount", "0"),
            ("SentPackets", str(packets)),
            ("SentOctets", str(packets * 160)),
        ]
        self.emit("RTCPSent", "reporting", body, chan=ch)
