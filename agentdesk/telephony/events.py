"""Typed AMI events: every event the application reads, decoded once from an :class:`AmiMessage`.

Header names, their odd spellings (``Holdtime`` beside ``TalkTime``,
``Location`` for a QueueStatus member, ``PausedReason`` after the removed
``Reason``), units (``AgentRingNoAnswer.RingTime`` in milliseconds) and the
channel snapshot block are known here and nowhere above ``telephony``.

:func:`decode` never raises on PBX input: a missing text header reads as
``""``, a number that is missing or not a plain ASCII integer reads as
``None`` (and a present-but-bad one is counted in :attr:`Decoder.bad_values`),
an event name not in the registry becomes :class:`UnknownEvent`, and a
message that is not an event (a response, an action) becomes ``None``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import ClassVar, TypeVar

from agentdesk.telephony.codec import AmiMessage

log = logging.getLogger(__name__)

# ASCII digits only: int() would also take other scripts' digits and "1_000".
_INT = re.compile(r"[0-9]{1,18}")
_FLOAT = re.compile(r"[0-9]{1,12}(\.[0-9]{1,9})?")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
_NO_VALUE = frozenset({"", "<unknown>", "unknown"})


class ChannelState(IntEnum):
    """``ChannelState`` of a channel snapshot (include/asterisk/channelstate.h)."""

    DOWN = 0
    RESERVED = 1
    OFFHOOK = 2
    DIALING = 3
    RING = 4
    RINGING = 5
    UP = 6
    BUSY = 7
    DIALING_OFFHOOK = 8
    PRERING = 9
    UNKNOWN = 10


class DeviceState(IntEnum):
    """A queue member's ``Status`` (device state, include/asterisk/devicestate.h)."""

    UNKNOWN = 0
    NOT_INUSE = 1
    INUSE = 2
    BUSY = 3
    INVALID = 4
    UNAVAILABLE = 5
    RINGING = 6
    RINGINUSE = 7
    ONHOLD = 8


class CompleteReason(StrEnum):
    """Who ended a queue call (``AgentComplete.Reason``)."""

    CALLER = "caller"
    AGENT = "agent"
    TRANSFER = "transfer"


# ---------------------------------------------------------------------- value types
@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelInfo:
    """One channel snapshot block (``Channel`` … ``Linkedid`` plus ``ChanVariable`` lines)."""

    channel: str = ""
    state: ChannelState | None = None
    caller_num: str = ""
    caller_name: str = ""
    connected_num: str = ""
    connected_name: str = ""
    language: str = ""
    context: str = ""
    exten: str = ""
    uniqueid: str = ""
    linkedid: str = ""
    variables: tuple[tuple[str, str], ...] = ()

    def variable_map(self) -> dict[str, str]:
        """The ``ChanVariable`` lines (manager.conf ``channelvars``) as a dict."""
        return dict(self.variables)

    @property
    def number(self) -> str:
        """The caller's number, ``""`` when Asterisk reports none (``<unknown>``)."""
        return "" if self.caller_num in _NO_VALUE else self.caller_num

    @property
    def name(self) -> str:
        """The caller's name, ``""`` when Asterisk reports none."""
        return "" if self.caller_name in _NO_VALUE else self.caller_name


# ---------------------------------------------------------------------- events
@dataclass(frozen=True, slots=True, kw_only=True)
class AmiEvent:
    """Base of every typed event: its wire name and the optional ``Timestamp`` header."""

    NAME: ClassVar[str] = ""
    timestamp: float | None = None

    @property
    def name(self) -> str:
        return self.NAME


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownEvent(AmiEvent):
    """An event name the registry does not know; consumers ignore it."""

    event_name: str = ""

    @property
    def name(self) -> str:
        return self.event_name


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelEvent(AmiEvent):
    """An event about one channel (its snapshot block carries the correlation ids)."""

    channel: ChannelInfo = ChannelInfo()

    @property
    def linkedid(self) -> str:
        return self.channel.linkedid

    @property
    def uniqueid(self) -> str:
        return self.channel.uniqueid


@dataclass(frozen=True, slots=True, kw_only=True)
class Newchannel(ChannelEvent):
    """A channel was created."""

    NAME: ClassVar[str] = "Newchannel"


@dataclass(frozen=True, slots=True, kw_only=True)
class Newstate(ChannelEvent):
    """A channel changed state (only ``ChannelState`` moved)."""

    NAME: ClassVar[str] = "Newstate"


@dataclass(frozen=True, slots=True, kw_only=True)
class Hangup(ChannelEvent):
    """A channel was hung up; always the last event about it."""

    NAME: ClassVar[str] = "Hangup"
    cause: int | None = None
    cause_txt: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Hold(ChannelEvent):
    """The channel that put the call on hold."""

    NAME: ClassVar[str] = "Hold"
    music_class: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Unhold(ChannelEvent):
    """The channel that took the call off hold."""

    NAME: ClassVar[str] = "Unhold"


@dataclass(frozen=True, slots=True, kw_only=True)
class VarSet(ChannelEvent):
    """A channel variable was set (``Variable`` keeps any ``_``/``__`` inheritance prefix)."""

    NAME: ClassVar[str] = "VarSet"
    variable: str = ""
    value: str = ""

    @property
    def bare_variable(self) -> str:
        """The variable name without its inheritance underscores."""
        return self.variable.lstrip("_")


@dataclass(frozen=True, slots=True, kw_only=True)
class UserEvent(ChannelEvent):
    """A dialplan ``UserEvent`` other than the IVR result; its body kept as pairs."""

    NAME: ClassVar[str] = "UserEvent"
    user_event: str = ""
    fields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class IvrResult(ChannelEvent):
    """``UserEvent: IVRResult``: what the IVR learnt about the caller (``None`` = not sent)."""

    NAME: ClassVar[str] = "UserEvent"
    session: str | None = None
    intent: str | None = None
    language: str | None = None
    idv: str | None = None
    idv_method: str | None = None
    idv_attempts: str | None = None
    segment: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DialEvent(ChannelEvent):
    """Base of ``DialBegin``/``DialEnd``: the caller's snapshot and the ``Dest`` one."""

    dest: ChannelInfo = ChannelInfo()


@dataclass(frozen=True, slots=True, kw_only=True)
class DialBegin(DialEvent):
    """A dial attempt started."""

    NAME: ClassVar[str] = "DialBegin"
    dial_string: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DialEnd(DialEvent):
    """A dial attempt ended; ``dial_status`` upper case (``ANSWER``, ``CANCEL``, ``NOANSWER``…)."""

    NAME: ClassVar[str] = "DialEnd"
    dial_status: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class BridgeEvent(ChannelEvent):
    """Base of ``BridgeEnter``/``BridgeLeave``."""

    bridge_uniqueid: str = ""
    bridge_num_channels: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BridgeEnter(BridgeEvent):
    """A channel entered a bridge."""

    NAME: ClassVar[str] = "BridgeEnter"
    swap_uniqueid: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class BridgeLeave(BridgeEvent):
    """A channel left a bridge (always before its Hangup)."""

    NAME: ClassVar[str] = "BridgeLeave"


@dataclass(frozen=True, slots=True, kw_only=True)
class BlindTransfer(AmiEvent):
    """A blind transfer by ``transferer`` to ``context``/``extension``."""

    NAME: ClassVar[str] = "BlindTransfer"
    result: str = ""
    transferer: ChannelInfo = ChannelInfo()
    transferee: ChannelInfo | None = None
    is_external: bool = False
    context: str = ""
    extension: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AttendedTransfer(AmiEvent):
    """An attended transfer; ``dest_type`` is ``Bridge``, ``App``, ``Link``, ``Threeway`` …"""

    NAME: ClassVar[str] = "AttendedTransfer"
    result: str = ""
    orig_transferer: ChannelInfo = ChannelInfo()
    second_transferer: ChannelInfo = ChannelInfo()
    transferee: ChannelInfo | None = None
    transfer_target: ChannelInfo | None = None
    is_external: bool = False
    dest_type: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class FullyBooted(AmiEvent):
    """Sent after login when the PBX has finished starting."""

    NAME: ClassVar[str] = "FullyBooted"
    uptime: int | None = None
    last_reload: int | None = None
    status: str = ""


# -- queue callers
@dataclass(frozen=True, slots=True, kw_only=True)
class QueueCallerEvent(ChannelEvent):
    """Base of the queue caller events: the caller's snapshot, the queue and position."""

    queue: str = ""
    position: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueCallerJoin(QueueCallerEvent):
    """A caller entered a queue."""

    NAME: ClassVar[str] = "QueueCallerJoin"
    count: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueCallerLeave(QueueCallerEvent):
    """A caller left a queue: answered, abandoned, timed out or withdrawn (not told apart)."""

    NAME: ClassVar[str] = "QueueCallerLeave"
    count: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueCallerAbandon(QueueCallerEvent):
    """Asterisk's ``record_abandoned``: sent for a hang-up, and also for a timeout,
    an empty-queue exit and a withdrawal; ``hold_time`` is the wait in seconds."""

    NAME: ClassVar[str] = "QueueCallerAbandon"
    original_position: int | None = None
    hold_time: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueCallerWithdraw(ChannelEvent):
    """A caller withdrawn from a queue by ``QueueWithdrawCaller`` (``QUEUESTATUS=WITHDRAW``).

    Asterisk 18.11+/20 sends no event of its own for this: the withdrawal shows
    on AMI as ``QueueCallerAbandon`` + ``QueueCallerLeave`` and then ``VarSet
    QUEUESTATUS=WITHDRAW`` on the caller's channel. The decoder turns that VarSet
    into this event so consumers can count the call as withdrawn, not abandoned.
    """

    NAME: ClassVar[str] = "VarSet"


# -- agents
@dataclass(frozen=True, slots=True, kw_only=True)
class AgentEvent(ChannelEvent):
    """Base of the ``Agent*`` events: caller snapshot, agent leg (``dest``), queue and member."""

    dest: ChannelInfo = ChannelInfo()
    queue: str = ""
    interface: str = ""
    member_name: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentCalled(AgentEvent):
    """The queue rings a member: the pop."""

    NAME: ClassVar[str] = "AgentCalled"


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentConnect(AgentEvent):
    """The member answered; ``hold_time`` is the wait in queue, ``ring_time`` in seconds."""

    NAME: ClassVar[str] = "AgentConnect"
    hold_time: int | None = None
    ring_time: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentComplete(AgentEvent):
    """A queue call ended; ``talk_time`` in seconds."""

    NAME: ClassVar[str] = "AgentComplete"
    hold_time: int | None = None
    talk_time: int | None = None
    reason: CompleteReason = CompleteReason.CALLER


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentRingNoAnswer(AgentEvent):
    """The member did not answer; ``ring_time_ms`` is in **milliseconds**."""

    NAME: ClassVar[str] = "AgentRingNoAnswer"
    ring_time_ms: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentDump(AgentEvent):
    """The member hung up while the caller heard the announcement."""

    NAME: ClassVar[str] = "AgentDump"


# -- queue members (events and QueueStatus rows share the body)
@dataclass(frozen=True, slots=True, kw_only=True)
class MemberFields(AmiEvent):
    """A queue member as ``queue_member_blob_create`` and QueueStatus describe it."""

    queue: str = ""
    member_name: str = ""
    interface: str = ""
    state_interface: str = ""
    membership: str = ""
    penalty: int | None = None
    calls_taken: int | None = None
    last_call: int | None = None
    last_pause: int | None = None
    login_time: int | None = None
    in_call: bool = False
    status: DeviceState | None = None
    paused: bool = False
    paused_reason: str = ""
    wrapuptime: int | None = None

    def matches(self, interface: str) -> bool:
        """Whether ``interface`` is this member's interface or its state interface."""
        wanted = interface.lower()
        return wanted in (self.interface.lower(), self.state_interface.lower())


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueMemberEvent(MemberFields):
    """Base of the ``QueueMember*`` events."""

    ringinuse: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueMemberStatus(QueueMemberEvent):
    """A member's device state or counters changed."""

    NAME: ClassVar[str] = "QueueMemberStatus"


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueMemberAdded(QueueMemberEvent):
    """A member joined a queue."""

    NAME: ClassVar[str] = "QueueMemberAdded"


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueMemberRemoved(QueueMemberEvent):
    """A member left a queue."""

    NAME: ClassVar[str] = "QueueMemberRemoved"


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueMemberPause(QueueMemberEvent):
    """A member was paused or unpaused (``paused_reason``; 16's ``Reason`` read as fallback)."""

    NAME: ClassVar[str] = "QueueMemberPause"


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueMemberPenalty(QueueMemberEvent):
    """A member's penalty changed."""

    NAME: ClassVar[str] = "QueueMemberPenalty"


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueMemberRinginuse(QueueMemberEvent):
    """A member's ringinuse changed."""

    NAME: ClassVar[str] = "QueueMemberRinginuse"


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueMember(MemberFields):
    """A ``QueueStatus`` member row (``Name``/``Location`` on the wire)."""

    NAME: ClassVar[str] = "QueueMember"


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueParams(AmiEvent):
    """A ``QueueStatus`` queue row."""

    NAME: ClassVar[str] = "QueueParams"
    queue: str = ""
    max: int | None = None
    strategy: str = ""
    calls: int | None = None
    hold_time: int | None = None
    talk_time: int | None = None
    completed: int | None = None
    abandoned: int | None = None
    service_level: int | None = None
    service_level_perf: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueEntry(ChannelEvent):
    """A ``QueueStatus`` waiting-caller row; ``wait`` in seconds so far."""

    NAME: ClassVar[str] = "QueueEntry"
    queue: str = ""
    position: int | None = None
    wait: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueSummary(AmiEvent):
    """A ``QueueSummary`` row."""

    NAME: ClassVar[str] = "QueueSummary"
    queue: str = ""
    logged_in: int | None = None
    available: int | None = None
    callers: int | None = None
    hold_time: int | None = None
    talk_time: int | None = None
    longest_hold_time: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreShowChannel(ChannelEvent):
    """A ``CoreShowChannels`` row; ``duration_s`` from its ``HH:MM:SS`` (None if unreadable)."""

    NAME: ClassVar[str] = "CoreShowChannel"
    bridge_id: str = ""
    application: str = ""
    application_data: str = ""
    duration_s: int | None = None


# ---------------------------------------------------------------------- decoding
class _Reader:
    """Reads one message's headers as typed values, counting the ones that do not parse."""

    __slots__ = ("_message", "bad")

    def __init__(self, message: AmiMessage) -> None:
        self._message = message
        self.bad: list[str] = []

    def text(self, key: str) -> str:
        return (self._message.get(key) or "").strip()

    def optional(self, key: str) -> str | None:
        value = self._message.get(key)
        return None if value is None else value.strip()

    def int(self, key: str) -> int | None:
        value = self.text(key)
        if _INT.fullmatch(value):
            return int(value)
        if value:
            self.bad.append(key)
        return None

    def float(self, key: str) -> float | None:
        value = self.text(key)
        if _FLOAT.fullmatch(value):
            return float(value)
        if value:
            self.bad.append(key)
        return None

    def flag(self, key: str) -> bool:
        value = self.text(key).lower()
        if value not in _TRUE and value not in _FALSE:
            self.bad.append(key)
        return value in _TRUE

    def enum(self, key: str, kind: type[_E]) -> _E | None:
        value = self.int(key)
        if value is None:
            return None
        try:
            return kind(value)
        except ValueError:
            self.bad.append(key)
            return None

    def channel(self, prefix: str = "") -> ChannelInfo:
        p = prefix
        return ChannelInfo(
            channel=self.text(f"{p}Channel"),
            state=self.enum(f"{p}ChannelState", ChannelState),
            caller_num=self.text(f"{p}CallerIDNum"),
            caller_name=self.text(f"{p}CallerIDName"),
            connected_num=self.text(f"{p}ConnectedLineNum"),
            connected_name=self.text(f"{p}ConnectedLineName"),
            language=self.text(f"{p}Language"),
            context=self.text(f"{p}Context"),
            exten=self.text(f"{p}Exten"),
            uniqueid=self.text(f"{p}Uniqueid"),
            linkedid=self.text(f"{p}Linkedid"),
            variables=self._variables(f"{p}ChanVariable"),
        )

    def maybe_channel(self, prefix: str) -> ChannelInfo | None:
        return self.channel(prefix) if self.optional(f"{prefix}Channel") is not None else None

    def _variables(self, key: str) -> tuple[tuple[str, str], ...]:
        pairs = []
        for item in self._message.get_all(key):
            name, sep, value = item.partition("=")
            if sep:
                pairs.append((name, value))
        return tuple(pairs)

    def pairs_after(self, key: str) -> tuple[tuple[str, str], ...]:
        """The headers after the first ``key`` (a UserEvent's own body)."""
        headers = self._message.headers
        wanted = key.lower()
        for i, (k, _) in enumerate(headers):
            if k.lower() == wanted:
                return headers[i + 1 :]
        return ()


_E = TypeVar("_E", bound=IntEnum)
_Factory = Callable[[_Reader, float | None], AmiEvent]
_REGISTRY: dict[str, _Factory] = {}


def _register(name: str) -> Callable[[_Factory], _Factory]:
    def add(factory: _Factory) -> _Factory:
        _REGISTRY[name.lower()] = factory
        return factory

    return add


def _simple_channel_event(kind: type[ChannelEvent]) -> None:
    _REGISTRY[kind.NAME.lower()] = lambda r, ts: kind(timestamp=ts, channel=r.channel())


for _kind in (Newchannel, Newstate, Unhold):
    _simple_channel_event(_kind)


@_register("Hangup")
def _hangup(r: _Reader, ts: float | None) -> AmiEvent:
    return Hangup(
        timestamp=ts, channel=r.channel(), cause=r.int("Cause"), cause_txt=r.text("Cause-txt")
    )


@_register("Hold")
def _hold(r: _Reader, ts: float | None) -> AmiEvent:
    return Hold(timestamp=ts, channel=r.channel(), music_class=r.text("MusicClass"))


@_register("VarSet")
def _varset(r: _Reader, ts: float | None) -> AmiEvent:
    variable, value = r.text("Variable"), r.text("Value")
    if variable == "QUEUESTATUS" and value == "WITHDRAW":
        return QueueCallerWithdraw(timestamp=ts, channel=r.channel())
    return VarSet(timestamp=ts, channel=r.channel(), variable=variable, value=value)


_IVR_FIELDS = {
    "session": "Session",
    "intent": "Intent",
    "language": "Language",
    "idv": "IDV",
    "idv_method": "IDVMethod",
    "idv_attempts": "IDVAttempts",
    "segment": "Segment",
}


@_register("UserEvent")
def _user_event(r: _Reader, ts: float | None) -> AmiEvent:
    name = r.text("UserEvent")
    if name.lower() == "ivrresult":
        # The body follows the UserEvent header: the snapshot's own Language must not
        # be taken for the IVR's.
        body = {k.lower(): v for k, v in reversed(r.pairs_after("UserEvent"))}
        values = {field: body.get(header.lower()) for field, header in _IVR_FIELDS.items()}
        return IvrResult(timestamp=ts, channel=r.channel(), **values)
    return UserEvent(
        timestamp=ts, channel=r.channel(), user_event=name, fields=r.pairs_after("UserEvent")
    )


@_register("DialBegin")
def _dial_begin(r: _Reader, ts: float | None) -> AmiEvent:
    return DialBegin(
        timestamp=ts, channel=r.channel(), dest=r.channel("Dest"), dial_string=r.text("DialString")
    )


@_register("DialEnd")
def _dial_end(r: _Reader, ts: float | None) -> AmiEvent:
    return DialEnd(
        timestamp=ts,
        channel=r.channel(),
        dest=r.channel("Dest"),
        dial_status=r.text("DialStatus").upper(),
    )


@_register("BridgeEnter")
def _bridge_enter(r: _Reader, ts: float | None) -> AmiEvent:
    return BridgeEnter(
        timestamp=ts,
        channel=r.channel(),
        bridge_uniqueid=r.text("BridgeUniqueid"),
        bridge_num_channels=r.int("BridgeNumChannels"),
        swap_uniqueid=r.text("SwapUniqueid"),
    )


@_register("BridgeLeave")
def _bridge_leave(r: _Reader, ts: float | None) -> AmiEvent:
    return BridgeLeave(
        timestamp=ts,
        channel=r.channel(),
        bridge_uniqueid=r.text("BridgeUniqueid"),
        bridge_num_channels=r.int("BridgeNumChannels"),
    )


@_register("BlindTransfer")
def _blind(r: _Reader, ts: float | None) -> AmiEvent:
    return BlindTransfer(
        timestamp=ts,
        result=r.text("Result"),
        transferer=r.channel("Transferer"),
        transferee=r.maybe_channel("Transferee"),
        is_external=r.flag("IsExternal"),
        context=r.text("Context"),
        extension=r.text("Extension"),
    )


@_register("AttendedTransfer")
def _attended(r: _Reader, ts: float | None) -> AmiEvent:
    return AttendedTransfer(
        timestamp=ts,
        result=r.text("Result"),
        orig_transferer=r.channel("OrigTransferer"),
        second_transferer=r.channel("SecondTransferer"),
        transferee=r.maybe_channel("Transferee"),
        transfer_target=r.maybe_channel("TransferTarget"),
        is_external=r.flag("IsExternal"),
        dest_type=r.text("DestType"),
    )


@_register("FullyBooted")
def _booted(r: _Reader, ts: float | None) -> AmiEvent:
    return FullyBooted(
        timestamp=ts,
        uptime=r.int("Uptime"),
        last_reload=r.int("LastReload"),
        status=r.text("Status"),
    )


@_register("QueueCallerJoin")
def _caller_join(r: _Reader, ts: float | None) -> AmiEvent:
    return QueueCallerJoin(
        timestamp=ts,
        channel=r.channel(),
        queue=r.text("Queue"),
        position=r.int("Position"),
        count=r.int("Count"),
    )


@_register("QueueCallerLeave")
def _caller_leave(r: _Reader, ts: float | None) -> AmiEvent:
    return QueueCallerLeave(
        timestamp=ts,
        channel=r.channel(),
        queue=r.text("Queue"),
        position=r.int("Position"),
        count=r.int("Count"),
    )


@_register("QueueCallerAbandon")
def _caller_abandon(r: _Reader, ts: float | None) -> AmiEvent:
    return QueueCallerAbandon(
        timestamp=ts,
        channel=r.channel(),
        queue=r.text("Queue"),
        position=r.int("Position"),
        original_position=r.int("OriginalPosition"),
        hold_time=r.int("HoldTime"),
    )


def _agent_fields(r: _Reader) -> dict[str, object]:
    return {
        "channel": r.channel(),
        "dest": r.channel("Dest"),
        "queue": r.text("Queue"),
        "interface": r.text("Interface"),
        "member_name": r.text("MemberName"),
    }


@_register("AgentCalled")
def _agent_called(r: _Reader, ts: float | None) -> AmiEvent:
    return AgentCalled(timestamp=ts, **_agent_fields(r))  # type: ignore[arg-type]


@_register("AgentDump")
def _agent_dump(r: _Reader, ts: float | None) -> AmiEvent:
    return AgentDump(timestamp=ts, **_agent_fields(r))  # type: ignore[arg-type]


@_register("AgentConnect")
def _agent_connect(r: _Reader, ts: float | None) -> AmiEvent:
    return AgentConnect(
        timestamp=ts,
        hold_time=r.int("HoldTime"),
        ring_time=r.int("RingTime"),
        **_agent_fields(r),  # type: ignore[arg-type]
    )


@_register("AgentComplete")
def _agent_complete(r: _Reader, ts: float | None) -> AmiEvent:
    try:
        reason = CompleteReason(r.text("Reason").lower() or "caller")
    except ValueError:
        r.bad.append("Reason")
        reason = CompleteReason.CALLER
    return AgentComplete(
        timestamp=ts,
        hold_time=r.int("HoldTime"),
        talk_time=r.int("TalkTime"),
        reason=reason,
        **_agent_fields(r),  # type: ignore[arg-type]
    )


@_register("AgentRingNoAnswer")
def _agent_rna(r: _Reader, ts: float | None) -> AmiEvent:
    return AgentRingNoAnswer(
        timestamp=ts,
        ring_time_ms=r.int("RingTime"),
        **_agent_fields(r),  # type: ignore[arg-type]
    )


def _member_fields(r: _Reader, *, listing: bool = False) -> dict[str, object]:
    return {
        "queue": r.text("Queue"),
        "member_name": r.text("Name" if listing else "MemberName"),
        "interface": r.text("Location" if listing else "Interface"),
        "state_interface": r.text("StateInterface"),
        "membership": r.text("Membership"),
        "penalty": r.int("Penalty"),
        "calls_taken": r.int("CallsTaken"),
        "last_call": r.int("LastCall"),
        "last_pause": r.int("LastPause"),
        "login_time": r.int("LoginTime"),
        "in_call": r.flag("InCall"),
        "status": r.enum("Status", DeviceState),
        "paused": r.flag("Paused"),
        # Asterisk 16 and earlier sent the reason as ``Reason``; 18 and 20 as ``PausedReason``.
        "paused_reason": r.text("PausedReason") or r.text("Reason"),
        "wrapuptime": r.int("Wrapuptime"),
    }


def _member_event(kind: type[QueueMemberEvent]) -> None:
    def factory(r: _Reader, ts: float | None) -> AmiEvent:
        return kind(timestamp=ts, ringinuse=r.flag("Ringinuse"), **_member_fields(r))  # type: ignore[arg-type]

    _REGISTRY[kind.NAME.lower()] = factory


for _member_kind in (
    QueueMemberStatus,
    QueueMemberAdded,
    QueueMemberRemoved,
    QueueMemberPause,
    QueueMemberPenalty,
    QueueMemberRinginuse,
):
    _member_event(_member_kind)


@_register("QueueMember")
def _queue_member(r: _Reader, ts: float | None) -> AmiEvent:
    return QueueMember(timestamp=ts, **_member_fields(r, listing=True))  # type: ignore[arg-type]


@_register("QueueParams")
def _queue_params(r: _Reader, ts: float | None) -> AmiEvent:
    return QueueParams(
        timestamp=ts,
        queue=r.text("Queue"),
        max=r.int("Max"),
        strategy=r.text("Strategy"),
        calls=r.int("Calls"),
        hold_time=r.int("Holdtime"),
        talk_time=r.int("TalkTime"),
        completed=r.int("Completed"),
        abandoned=r.int("Abandoned"),
        service_level=r.int("ServiceLevel"),
        service_level_perf=r.float("ServicelevelPerf"),
    )


@_register("QueueEntry")
def _queue_entry(r: _Reader, ts: float | None) -> AmiEvent:
    return QueueEntry(
        timestamp=ts,
        channel=r.channel(),
        queue=r.text("Queue"),
        position=r.int("Position"),
        wait=r.int("Wait"),
    )


@_register("QueueSummary")
def _queue_summary(r: _Reader, ts: float | None) -> AmiEvent:
    return QueueSummary(
        timestamp=ts,
        queue=r.text("Queue"),
        logged_in=r.int("LoggedIn"),
        available=r.int("Available"),
        callers=r.int("Callers"),
        hold_time=r.int("HoldTime"),
        talk_time=r.int("TalkTime"),
        longest_hold_time=r.int("LongestHoldTime"),
    )


def _duration(r: _Reader) -> int | None:
    value = r.text("Duration")
    parts = value.split(":")
    if len(parts) == 3 and all(p.isascii() and p.isdigit() and len(p) <= 6 for p in parts):
        hours, minutes, seconds = (int(p) for p in parts)
        return hours * 3600 + minutes * 60 + seconds
    if value:
        r.bad.append("Duration")
    return None


@_register("CoreShowChannel")
def _core_show_channel(r: _Reader, ts: float | None) -> AmiEvent:
    return CoreShowChannel(
        timestamp=ts,
        channel=r.channel(),
        bridge_id=r.text("BridgeId"),
        application=r.text("Application"),
        application_data=r.text("ApplicationData"),
        duration_s=_duration(r),
    )


class Decoder:
    """Decodes AMI messages into typed events and counts what it could not read."""

    def __init__(self) -> None:
        self.decoded = 0
        self.unknown = 0
        self.bad_values = 0  # headers present but unreadable (a number that is not one …)

    def decode(self, message: AmiMessage) -> AmiEvent | None:
        """The typed event for ``message``; None when it is not an event at all."""
        name = (message.get("Event") or "").strip()
        if not name:
            return None
        reader = _Reader(message)
        timestamp = reader.float("Timestamp")
        factory = _REGISTRY.get(name.lower())
        if factory is None:
            self.unknown += 1
            return UnknownEvent(timestamp=timestamp, event_name=name)
        event = factory(reader, timestamp)
        self.decoded += 1
        if reader.bad:
            self.bad_values += len(reader.bad)
            log.debug("AMI %s: unreadable %s", name, ", ".join(reader.bad))
        return event

    def decode_all(self, messages: tuple[AmiMessage, ...] | list[AmiMessage]) -> list[AmiEvent]:
        """The typed events of ``messages`` (non-events dropped), in order."""
        out = []
        for message in messages:
            event = self.decode(message)
            if event is not None:
                out.append(event)
        return out


#: The process-wide decoder; its counters show in diagnostics.
DECODER = Decoder()
decode = DECODER.decode
decode_all = DECODER.decode_all


def known_events() -> frozenset[str]:
    """Lower-case names of the events the registry decodes."""
    return frozenset(_REGISTRY)
