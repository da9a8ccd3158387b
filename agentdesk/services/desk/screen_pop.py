"""This agent's calls, as the PBX reports them: AMI events in, call changes out.

:class:`CallTracker` follows the queue events the research notes describe
(``AgentCalled`` → pop, ``AgentConnect`` → confirmed, ``AgentRingNoAnswer`` /
``DialEnd`` ≠ ANSWER / abandon → dismissed, ``Hold``/``Unhold``,
``AgentComplete`` → wrap-up, ``Hangup`` without ``AgentComplete`` → ended),
correlated by ``Linkedid``. Events for other agents are ignored, duplicates
change nothing, and malformed events are dropped with a count, never raised.

A call already in progress when the tracker starts (the desktop or the server
restarted mid-call) is *adopted*: from a resync row of one of the agent's
channels that is up, or from an ``AgentConnect`` whose offer it never saw. It
arrives as an ``OFFERED`` then a ``CONNECTED`` change with the detail
``"adopted"``, so everything that follows a live call (pop, notes, wrap-up)
follows it too.

The agent is recognised by interface, state interface or a configured alias
(:class:`~agentdesk.services.desk.identity.AgentIdentity`): an ``Agent*``
event is the agent's when its ``Interface`` is one of them, and a channel is
one of the agent's legs when it is the ``Dest`` channel of the offer or a
channel of one of those devices with the call's ``Linkedid``. For a
``Local/…`` member that second rule is what finds the phone's own channel
(``PJSIP/1001-…``) on ``Hold``, ``DialEnd`` and ``Hangup``; the call ends
when its last agent leg hangs up (a non-``/n`` Local channel that optimises
itself away mid-call hangs up while the phone's channel talks on).

IVR results reach the pop three ways; all are merged per ``Linkedid``:
``ChanVariable`` lines on the event itself (manager.conf ``channelvars``),
``VarSet`` events, and a ``UserEvent`` (``UserEvent: IVRResult``).

The tracker has no I/O and no clock of its own; the caller passes ``now``
(wall-clock seconds) so tests and replays are deterministic.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from agentdesk.services.desk.call_data import IVR_VARIABLES, IvrData, ivr_from_pairs
from agentdesk.services.desk.identity import AgentIdentity
from agentdesk.telephony.events import (
    AgentCalled,
    AgentComplete,
    AgentConnect,
    AgentEvent,
    AgentRingNoAnswer,
    AmiEvent,
    ChannelEvent,
    ChannelInfo,
    ChannelState,
    CoreShowChannel,
    DialEnd,
    Hangup,
    Hold,
    IvrResult,
    QueueCallerAbandon,
    QueueCallerJoin,
    Unhold,
    VarSet,
)


class CallPhase(StrEnum):
    RINGING = "ringing"
    CONNECTED = "connected"
    ON_HOLD = "on_hold"
    ENDED = "ended"  # talk finished: wrap-up time
    MISSED = "missed"  # never answered here (ring-no-answer, caller gave up, sent elsewhere)


class ChangeKind(StrEnum):
    OFFERED = "offered"
    CONNECTED = "connected"
    HELD = "held"
    RESUMED = "resumed"
    ENDED = "ended"
    DISMISSED = "dismissed"


@dataclass(frozen=True)
class CallInfo:
    """Everything known about one call offered to this agent. Times are wall-clock seconds."""

    linkedid: str
    uniqueid: str
    queue: str | None
    caller_raw: str
    caller_name: str | None
    agent_channel: str | None
    phase: CallPhase
    offered_at: float
    ivr: IvrData
    queued_at: float | None = None
    connected_at: float | None = None
    hold_started: float | None = None
    hold_seconds: float = 0.0
    ended_at: float | None = None
    wait_seconds: float | None = None  # time in queue before this agent answered
    talk_seconds: float | None = None
    end_reason: str | None = None
    direction: str = "inbound"
    # Other live channels of the agent's devices in this call (a Local member's phone leg).
    agent_legs: tuple[str, ...] = ()

    def held_for(self, now: float) -> float:
        """Total hold time so far, including a hold still running."""
        running = now - self.hold_started if self.hold_started is not None else 0.0
        return self.hold_seconds + max(running, 0.0)


@dataclass(frozen=True)
class CallChange:
    """One thing that happened to one of this agent's calls."""

    kind: ChangeKind
    call: CallInfo
    detail: str = ""


_NO_NUMBER = ("", "<unknown>")
ADOPTED = "adopted"  # the detail of the changes that take over a call already in progress
_MAX_REMEMBERED = 2000  # bounded caches: a busy PBX must not grow the desktop's memory


class CallTracker:
    """Turns the PBX's event stream into this agent's call changes."""

    def __init__(
        self,
        interface: str,
        member_name: str | None = None,
        *,
        state_interface: str = "",
        aliases: Iterable[str] = (),
    ) -> None:
        self._interface = interface.lower()
        self.identity = AgentIdentity.of(interface, state_interface, aliases)
        self._member = (member_name or "").lower()
        self._calls: OrderedDict[str, CallInfo] = OrderedDict()
        self._ivr: OrderedDict[str, dict[str, str]] = OrderedDict()
        self._joined: OrderedDict[str, float] = OrderedDict()
        self.ignored = 0  # events for other agents
        self.malformed = 0  # events missing the headers they need

    # ------------------------------------------------------------------ queries
    @property
    def interface(self) -> str:
        return self._interface

    def current(self) -> CallInfo | None:
        """The call that owns the agent now: connected/held first, else the newest ringing one."""
        live = [
            c for c in self._calls.values() if c.phase in (CallPhase.CONNECTED, CallPhase.ON_HOLD)
        ]
        if live:
            return live[-1]
        ringing = [c for c in self._calls.values() if c.phase is CallPhase.RINGING]
        return ringing[-1] if ringing else None

    def get(self, linkedid: str) -> CallInfo | None:
        return self._calls.get(linkedid)

    def forget(self, linkedid: str) -> None:
        """Drop a finished call (after its wrap-up is saved)."""
        self._calls.pop(linkedid, None)

    # ------------------------------------------------------------------ input
    def handle(self, event: AmiEvent | None, now: float) -> list[CallChange]:
        """Apply one event; return what changed for this agent (usually nothing)."""
        handler = _HANDLERS.get(type(event))
        if handler is None:
            return []
        try:
            return handler(self, event, now)
        except (ValueError, KeyError):
            self.malformed += 1
            return []

    def _mine(self, event: AgentEvent) -> bool:
        if event.interface:
            return self.identity.is_mine(event.interface)
        member = event.member_name.lower()
        return bool(self._member) and member == self._member

    def _remember(self, cache: OrderedDict, key: str, value: object) -> None:  # type: ignore[type-arg]
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > _MAX_REMEMBERED:
            cache.popitem(last=False)

    def _ivr_for(self, linkedid: str) -> dict[str, str]:
        return dict(self._ivr.get(linkedid, {}))

    def _put(self, call: CallInfo) -> None:
        self._remember(self._calls, call.linkedid, call)

    # ------------------------------------------------------------------ IVR data
    def _on_ivr_vars(self, event: IvrResult | VarSet, now: float) -> list[CallChange]:
        linkedid = _required(event)
        pairs = self._ivr_for(linkedid)
        if isinstance(event, IvrResult):
            extra = _user_event_pairs(event)
            if not extra:
                return []
            pairs.update(extra)
        else:
            variable = event.bare_variable
            if variable not in IVR_VARIABLES:
                return []  # VarSet is the noisiest event class; keep only IVR results
            pairs[variable] = event.value
        self._remember(self._ivr, linkedid, pairs)
        call = self._calls.get(linkedid)
        if call is None:
            return []
        ivr = ivr_from_pairs(pairs)
        if ivr == call.ivr:
            return []
        updated = dataclasses.replace(call, ivr=ivr)
        self._put(updated)
        # Late IVR data refreshes a pop that is still ringing; re-offer carries it.
        return (
            [CallChange(ChangeKind.OFFERED, updated, "ivr")]
            if call.phase is CallPhase.RINGING
            else []
        )

    def _on_caller_join(self, event: QueueCallerJoin, now: float) -> list[CallChange]:
        linkedid = _required(event)
        if linkedid not in self._joined:
            self._remember(self._joined, linkedid, now)
        return []

    # ------------------------------------------------------------------ offer / answer
    def _on_agent_called(self, event: AgentCalled, now: float) -> list[CallChange]:
        if not self._mine(event):
            self.ignored += 1
            return []
        linkedid = _required(event)
        existing = self._calls.get(linkedid)
        if existing is not None and existing.phase in (
            CallPhase.RINGING,
            CallPhase.CONNECTED,
            CallPhase.ON_HOLD,
        ):
            return []  # duplicate (or a second queue ringing us for the same caller)
        pairs = self._ivr_for(linkedid)
        caller = event.channel
        pairs.update(caller.variable_map())
        if caller.language:
            pairs.setdefault("CHANNEL_LANGUAGE", caller.language)
        self._remember(self._ivr, linkedid, pairs)
        number, name = caller.caller_num, caller.caller_name
        queued = self._joined.get(linkedid)
        call = CallInfo(
            linkedid=linkedid,
            uniqueid=caller.uniqueid or linkedid,
            queue=event.queue or None,
            caller_raw="" if number in _NO_NUMBER else number,
            caller_name=None if name in _NO_NUMBER else name,
            agent_channel=event.dest.channel or None,
            phase=CallPhase.RINGING,
            offered_at=now,
            ivr=ivr_from_pairs(pairs),
            queued_at=queued,
            wait_seconds=(now - queued) if queued is not None else None,
        )
        self._put(call)
        return [CallChange(ChangeKind.OFFERED, call)]

    def _on_agent_connect(self, event: AgentConnect, now: float) -> list[CallChange]:
        if not self._mine(event):
            self.ignored += 1
            return []
        linkedid = _required(event)
        call = self._calls.get(linkedid)
        if call is None:
            # Answered, but the offer came before we were listening (restart mid-ring).
            since = now - event.ring_time if event.ring_time is not None else now
            return self._adopt(
                linkedid,
                event.channel,
                event.dest.channel,
                event.queue or None,
                offered_at=min(since, now),
                connected_at=now,
                wait=_seconds(event.hold_time, None),
            )
        if call.phase is not CallPhase.RINGING:
            return []
        wait = _seconds(event.hold_time, call.wait_seconds)
        updated = dataclasses.replace(
            call,
            phase=CallPhase.CONNECTED,
            connected_at=now,
            wait_seconds=wait,
            agent_channel=event.dest.channel or call.agent_channel,
        )
        self._put(updated)
        return [CallChange(ChangeKind.CONNECTED, updated)]

    def _dismiss(self, linkedid: str, reason: str, now: float) -> list[CallChange]:
        call = self._calls.get(linkedid)
        if call is None or call.phase is not CallPhase.RINGING:
            return []
        updated = dataclasses.replace(call, phase=CallPhase.MISSED, ended_at=now, end_reason=reason)
        # Nothing more happens to a missed offer; a retry arrives as a fresh AgentCalled.
        self._calls.pop(linkedid, None)
        return [CallChange(ChangeKind.DISMISSED, updated, reason)]

    def _on_ring_no_answer(self, event: AgentRingNoAnswer, now: float) -> list[CallChange]:
        if not self._mine(event):
            self.ignored += 1
            return []
        return self._dismiss(_required(event), "not answered", now)

    def _on_dial_end(self, event: DialEnd, now: float) -> list[CallChange]:
        status = event.dial_status
        call = self._calls.get(event.linkedid)
        if call is None:
            return []
        dest = event.dest.channel
        if dest != call.agent_channel:
            # The Local member's second half dialling the phone: an answer there names the
            # phone's channel (a leg of this call); the other outcomes are decided by the
            # queue's own dial of the agent channel (DialEnd / AgentRingNoAnswer).
            if status == "ANSWER" and self.identity.owns_channel(dest):
                self._learn_leg(call, dest)
            return []
        if status == "ANSWER":
            return []
        reason = "caller hung up" if status == "CANCEL" else f"not answered ({status.lower()})"
        return self._dismiss(call.linkedid, reason, now)

    def _on_abandon(self, event: QueueCallerAbandon, now: float) -> list[CallChange]:
        return self._dismiss(_required(event), "caller hung up", now)

    # ------------------------------------------------------------------ hold / end
    def _is_leg(self, call: CallInfo, channel: str) -> bool:
        """Whether ``channel`` (of an event with this call's Linkedid) is one of the agent's."""
        if not channel:
            return False
        return (
            channel == call.agent_channel
            or channel in call.agent_legs
            or self.identity.owns_channel(channel)
        )

    def _learn_leg(self, call: CallInfo, channel: str) -> None:
        if channel == call.agent_channel or channel in call.agent_legs:
            return
        legs = (*call.agent_legs, channel)[-8:]  # a call has a handful of legs at most
        self._put(dataclasses.replace(self._calls.get(call.linkedid, call), agent_legs=legs))

    def _live_call_for_channel(self, event: ChannelEvent) -> CallInfo | None:
        call = self._calls.get(event.linkedid)
        if call is None or call.phase not in (CallPhase.CONNECTED, CallPhase.ON_HOLD):
            return None
        channel = event.channel.channel
        if channel == "" or event.uniqueid == call.uniqueid:
            return call
        if not self._is_leg(call, channel):
            return None
        self._learn_leg(call, channel)
        return self._calls[call.linkedid]

    def _on_hold(self, event: Hold, now: float) -> list[CallChange]:
        call = self._live_call_for_channel(event)
        if call is None or call.phase is CallPhase.ON_HOLD:
            return []
        updated = dataclasses.replace(call, phase=CallPhase.ON_HOLD, hold_started=now)
        self._put(updated)
        return [CallChange(ChangeKind.HELD, updated)]

    def _on_unhold(self, event: Unhold, now: float) -> list[CallChange]:
        call = self._live_call_for_channel(event)
        if call is None or call.phase is not CallPhase.ON_HOLD:
            return []
        updated = dataclasses.replace(
            call, phase=CallPhase.CONNECTED, hold_started=None, hold_seconds=call.held_for(now)
        )
        self._put(updated)
        return [CallChange(ChangeKind.RESUMED, updated)]

    def _end(self, call: CallInfo, reason: str, now: float, talk: float | None) -> list[CallChange]:
        connected = call.connected_at if call.connected_at is not None else now
        updated = dataclasses.replace(
            call,
            phase=CallPhase.ENDED,
            ended_at=now,
            end_reason=reason,
            hold_started=None,
            hold_seconds=call.held_for(now),
            talk_seconds=talk if talk is not None else max(now - connected, 0.0),
        )
        self._put(updated)
        return [CallChange(ChangeKind.ENDED, updated, reason)]

    def _on_agent_complete(self, event: AgentComplete, now: float) -> list[CallChange]:
        if not self._mine(event):
            self.ignored += 1
            return []
        call = self._calls.get(_required(event))
        if call is None or call.phase not in (CallPhase.CONNECTED, CallPhase.ON_HOLD):
            return []
        return self._end(call, event.reason.value, now, _seconds(event.talk_time, None))

    def _on_hangup(self, event: Hangup, now: float) -> list[CallChange]:
        linkedid = event.linkedid
        call = self._calls.get(linkedid)
        channel = event.channel.channel
        if call is None:
            return []
        if call.phase is CallPhase.RINGING:
            if channel != call.agent_channel:
                return []
            return self._dismiss(linkedid, "call ended while ringing", now)
        if call.phase not in (CallPhase.CONNECTED, CallPhase.ON_HOLD):
            return []
        if not self._is_leg(call, channel):
            return []
        remaining = [c for c in (call.agent_channel, *call.agent_legs) if c and c != channel]
        if remaining:
            # Another leg of the agent's still talks (the Local half went, the phone stays):
            # it becomes the channel hang-up and transfer act on.
            self._put(dataclasses.replace(
                call, agent_channel=remaining[0], agent_legs=tuple(remaining[1:])
            ))  # fmt: skip
            return []
        # No AgentComplete (a direct call, or the queue's event was lost): end here.
        return self._end(call, "hangup", now, None)

    # ------------------------------------------------------------------ adoption
    def _adopt(
        self,
        linkedid: str,
        caller: ChannelInfo | None,
        agent_channel: str,
        queue: str | None,
        *,
        offered_at: float,
        connected_at: float,
        wait: float | None = None,
    ) -> list[CallChange]:
        """Take over a call that is already connected to the agent (see the module note)."""
        pairs = self._ivr_for(linkedid)
        number = name = ""
        if caller is not None:
            pairs.update(caller.variable_map())
            if caller.language:
                pairs.setdefault("CHANNEL_LANGUAGE", caller.language)
            number, name = caller.caller_num, caller.caller_name
        call = CallInfo(
            linkedid=linkedid,
            uniqueid=(caller.uniqueid if caller is not None else "") or linkedid,
            queue=queue,
            caller_raw="" if number in _NO_NUMBER else number,
            caller_name=None if name in _NO_NUMBER else name,
            agent_channel=agent_channel or None,
            phase=CallPhase.RINGING,
            offered_at=offered_at,
            ivr=ivr_from_pairs(pairs),
            wait_seconds=wait,
        )
        connected = dataclasses.replace(call, phase=CallPhase.CONNECTED, connected_at=connected_at)
        self._put(connected)
        # The pop comes up as "On call": the agent is talking already, nothing rings.
        return [
            CallChange(ChangeKind.OFFERED, connected, ADOPTED),
            CallChange(ChangeKind.CONNECTED, connected, ADOPTED),
        ]

    def _adopt_rows(
        self, linkedid: str, rows: Sequence[CoreShowChannel], now: float
    ) -> list[CallChange]:
        """Adopt ``linkedid`` from its resync rows if one of the agent's channels is up."""
        up = [
            r
            for r in rows
            if self.identity.owns_channel(r.channel.channel) and r.channel.state is ChannelState.UP
        ]
        if not up:
            return []  # ringing or gone: a ringing offer is not ours until it is answered
        others = [r for r in rows if not self.identity.owns_channel(r.channel.channel)]
        caller = next((r for r in others if r.uniqueid == linkedid), None) or next(
            iter(others), None
        )
        queue = None
        if caller is not None and caller.application.lower() == "queue":
            queue = caller.application_data.split(",", 1)[0].strip() or None
        mine = up[0]
        age = mine.duration_s if mine.duration_s is not None else 0
        started = caller.duration_s if caller is not None and caller.duration_s else age
        changes = self._adopt(
            linkedid,
            caller.channel if caller is not None else None,
            mine.channel.channel,
            queue,
            offered_at=now - max(started, age),
            connected_at=now - age,
        )
        legs = tuple(r.channel.channel for r in up[1:])
        if legs:
            self._put(dataclasses.replace(self._calls[linkedid], agent_legs=legs))
        return changes

    # ------------------------------------------------------------------ resync
    def reconcile(self, channels: Sequence[CoreShowChannel], now: float) -> list[CallChange]:
        """After a (re)login: end calls whose agent channel the PBX no longer has, and adopt
        the agent's connected calls the tracker does not know (it started mid-call)."""
        alive = {c.channel.channel for c in channels}
        owned: dict[str, list[str]] = {}  # linkedid -> live channels of the agent's devices
        for c in channels:
            if self.identity.owns_channel(c.channel.channel):
                owned.setdefault(c.linkedid, []).append(c.channel.channel)
        changes: list[CallChange] = []
        for call in list(self._calls.values()):
            if call.agent_channel in alive:
                continue
            legs = [leg for leg in call.agent_legs if leg in alive]
            legs += [c for c in owned.get(call.linkedid, ()) if c not in legs]
            if legs and call.phase in (CallPhase.CONNECTED, CallPhase.ON_HOLD):
                self._put(dataclasses.replace(
                    call, agent_channel=legs[0], agent_legs=tuple(legs[1:])
                ))  # fmt: skip
                continue
            if call.phase is CallPhase.RINGING:
                changes += self._dismiss(call.linkedid, "gone after PBX reconnect", now)
            elif call.phase in (CallPhase.CONNECTED, CallPhase.ON_HOLD):
                changes += self._end(call, "gone after PBX reconnect", now, None)
        by_call: dict[str, list[CoreShowChannel]] = {}
        for c in channels:
            by_call.setdefault(c.linkedid, []).append(c)
        for linkedid in owned:
            if linkedid and linkedid not in self._calls:
                changes += self._adopt_rows(linkedid, by_call[linkedid], now)
        return changes


def _required(event: ChannelEvent) -> str:
    """The call's ``Linkedid``: an event without one cannot be correlated (counted malformed)."""
    if not event.linkedid:
        raise KeyError("Linkedid")
    return event.linkedid


def _seconds(value: int | None, default: float | None) -> float | None:
    if value is None:
        return default
    return float(value) if value < 10**7 else default


def _user_event_pairs(event: IvrResult) -> dict[str, str]:
    values = {
        "UE_SESSION": event.session,
        "UE_INTENT": event.intent,
        "UE_LANGUAGE": event.language,
        "UE_IDV": event.idv,
        "UE_IDVMETHOD": event.idv_method,
        "UE_IDVATTEMPTS": event.idv_attempts,
        "UE_SEGMENT": event.segment,
    }
    return {k: v for k, v in values.items() if v is not None}


# Exact types: a typed event's class says which rule applies (IvrResult is not a VarSet).
_HANDLERS: dict[type[Any], Callable[[CallTracker, Any, float], list[CallChange]]] = {
    AgentCalled: CallTracker._on_agent_called,
    AgentConnect: CallTracker._on_agent_connect,
    AgentRingNoAnswer: CallTracker._on_ring_no_answer,
    AgentComplete: CallTracker._on_agent_complete,
    DialEnd: CallTracker._on_dial_end,
    QueueCallerAbandon: CallTracker._on_abandon,
    QueueCallerJoin: CallTracker._on_caller_join,
    Hold: CallTracker._on_hold,
    Unhold: CallTracker._on_unhold,
    Hangup: CallTracker._on_hangup,
    IvrResult: CallTracker._on_ivr_vars,
    VarSet: CallTracker._on_ivr_vars,
}
