"""Mutable runtime state of the simulated ACD: devices, queue memberships, calls, ring attempts."""

from __future__ import annotations

from dataclasses import dataclass, field

from agentdesk.telephony.sim.clock import Timer
from agentdesk.telephony.sim.config import QueueConfig
from agentdesk.telephony.sim.model import Bridge, Channel
from agentdesk.telephony.sim.traffic import Caller

# Device states (include/asterisk/devicestate.h), as QueueMemberStatus ``Status``.
NOT_INUSE, INUSE, BUSY, INVALID, UNAVAILABLE, RINGING, RINGINUSE, ONHOLD = 1, 2, 3, 4, 5, 6, 7, 8


@dataclass(eq=False)
class Device:
    """An agent's phone (queue ``Interface``), shared by all of the agent's queue memberships.

    A ``Local/<exten>@<context>[/n]`` member has a ``state_interface`` naming the
    phone (``PJSIP/…``): the queue dials the Local channel, whose second half
    dials the phone (see :class:`LocalLegs`).
    """

    interface: str
    name: str
    login_time: float
    virtual: bool
    status: int = NOT_INUSE
    call: Call | None = None
    ringing: RingAttempt | None = None
    last_call: float = 0.0  # epoch of the end of the last call
    wrapup_until: float = 0.0  # simulated time
    memberships: dict[str, Member] = field(default_factory=dict)
    state_interface: str = ""  # app_queue.c: the interface itself when none is configured

    @property
    def phone(self) -> str:
        """The interface of the phone itself: the state interface, else the interface."""
        return self.state_interface or self.interface

    @property
    def is_local(self) -> bool:
        return self.interface.lower().startswith("local/") and self.phone != self.interface

    @property
    def location(self) -> str:
        """The interface without its technology: the queue's ``DialString``."""
        return self.interface.split("/", 1)[-1]

    @property
    def endpoint(self) -> str:
        """``agent-2001`` for ``PJSIP/agent-2001`` (the PJSIPNotify ``Endpoint``)."""
        return self.phone.split("/", 1)[-1]


@dataclass(eq=False)
class Member:
    """A device's membership in one queue: penalty, pause state, counters."""

    queue: str
    device: Device
    penalty: int = 0
    membership: str = "static"
    paused: bool = False
    paused_reason: str = ""
    last_pause: float = 0.0
    calls_taken: int = 0
    last_call: float = 0.0


@dataclass(eq=False)
class LocalLegs:
    """A Local member's other channels: the ``;2`` half and the phone it dialled.

    The queue's own channel (``Dest`` of the Agent* events) is the ``;1`` half;
    the simulator keeps the halves up for the whole call, as a ``/n`` Local
    channel does (no optimisation).
    """

    half2: Channel
    phone: Channel
    bridge: Bridge | None = None


@dataclass(eq=False)
class RingAttempt:
    """One member's phone ringing for one queued call."""

    call: Call
    member: Member
    chan: Channel
    started: float
    timer: Timer | None = None
    local: LocalLegs | None = None


@dataclass(eq=False)
class Call:
    """An inbound call from arrival to hangup."""

    caller: Caller
    chan: Channel
    handle_time: float
    patience: float
    intent: str = ""
    language: str = "en"
    session_id: str = ""
    state: str = "ivr"  # ivr | queued | connected | transferred | ended
    queue: str | None = None
    position: int = 0
    original_position: int = 0
    enqueued_at: float = 0.0
    attempts: list[RingAttempt] = field(default_factory=list)
    retry_timer: Timer | None = None
    patience_timer: Timer | None = None
    end_timer: Timer | None = None
    member: Member | None = None
    agent_chan: Channel | None = None
    local: LocalLegs | None = None  # a Local member's ;2 half and phone, while connected
    bridge: Bridge | None = None
    answered_at: float = 0.0
    ring_seconds: int = 0
    held: bool = False
    scripted_agent: str | None = None  # ring only this interface (tests)

    @property
    def phone_chan(self) -> Channel | None:
        """The channel of the agent's phone (holds and hang-ups start there)."""
        return self.local.phone if self.local is not None else self.agent_chan

    withdraw_requested: bool = False  # QueueWithdrawCaller accepted; leaves at the next step


@dataclass(eq=False)
class QueueState:
    """A queue's members, waiting callers and the statistics QueueParams reports."""

    config: QueueConfig
    members: dict[str, Member] = field(default_factory=dict)
    entries: list[Call] = field(default_factory=list)
    rr_next: int = 0
    completed: int = 0
    abandoned: int = 0
    completed_in_sl: int = 0
    abandoned_in_sl: int = 0
    holdtime: int = 0  # EWMA seconds, (3*old + sample) >> 2 as app_queue.c
    talktime: int = 0

    @property
    def name(self) -> str:
        return self.config.name

    def sl_perf(self) -> float:
        return 100.0 * self.completed_in_sl / self.completed if self.completed else 0.0

    def sl_perf2(self) -> float:
        total = self.completed + self.abandoned
        done = self.completed_in_sl + self.abandoned_in_sl
        return 100.0 * done / total if total else 0.0
