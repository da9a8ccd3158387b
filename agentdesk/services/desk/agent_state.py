"""The agent's state as the PBX reports it, with time in state.

The desktop never decides an agent is Available: it asks the PBX
(``QueuePause``/``QueueAdd``) and changes state only when the PBX says so
(``QueueMemberPause``, ``QueueMemberStatus``, ``QueueMemberAdded``/``Removed``,
``QueueMember`` rows of a resync). Call phases from the
:class:`~agentdesk.services.desk.screen_pop.CallTracker` sit on top: Ringing,
On call, On hold. After-call work is a pause whose reason is the ACW reason,
so the PBX routes no call to an agent who is still wrapping up, and the
state survives a desktop restart.

Member events are the agent's when their ``Interface`` *or* ``StateInterface``
is the agent's interface, state interface or a configured alias
(:class:`~agentdesk.services.desk.identity.AgentIdentity`): a
``Local/1001@agents`` member watched through ``PJSIP/1001`` is the same agent
whichever of the two a row names.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from agentdesk.paths import resource
from agentdesk.services.desk.identity import AgentIdentity
from agentdesk.services.desk.screen_pop import CallInfo, CallPhase
from agentdesk.telephony.events import (
    AmiEvent,
    MemberFields,
    QueueMember,
    QueueMemberAdded,
    QueueMemberPause,
    QueueMemberPenalty,
    QueueMemberRemoved,
    QueueMemberRinginuse,
    QueueMemberStatus,
)


class AgentState(StrEnum):
    OFFLINE = "offline"  # no PBX link: state unknown
    LOGGED_OUT = "logged_out"  # member of no queue
    AVAILABLE = "available"
    NOT_READY = "not_ready"
    RINGING = "ringing"
    ON_CALL = "on_call"
    ON_HOLD = "on_hold"
    WRAP_UP = "wrap_up"
    MISSED = "missed"  # the PBX auto-paused the agent after a call rang out here


STATE_LABELS = {
    AgentState.OFFLINE: "PBX offline",
    AgentState.LOGGED_OUT: "Logged out",
    AgentState.AVAILABLE: "Available",
    AgentState.NOT_READY: "Not ready",
    AgentState.RINGING: "Ringing",
    AgentState.ON_CALL: "On call",
    AgentState.ON_HOLD: "On hold",
    AgentState.WRAP_UP: "After-call work",
    AgentState.MISSED: "Missed call",
}
AUTO_PAUSE = "Auto-Pause"  # the pause reason the PBX sets after a ring-no-answer


@dataclass(frozen=True)
class ReasonCode:
    """A Not Ready reason; ``code`` is what goes to the PBX as the pause reason."""

    code: str
    label: str
    productive: bool = False


@dataclass(frozen=True)
class StatePolicy:
    """Reason codes and the after-call-work rules, from ``resources/reason_codes.toml``."""

    reasons: tuple[ReasonCode, ...]
    acw_reason: str = "ACW"
    acw_limit_seconds: int = 120
    acw_timeout_disposition: str = "acw_timeout"

    def label_for(self, code: str | None) -> str:
        for reason in self.reasons:
            if reason.code == code:
                return reason.label
        return code or ""


def load_policy(path: Path | None = None, *, acw_limit_seconds: int | None = None) -> StatePolicy:
    """Read the policy file; ``acw_limit_seconds`` overrides the file (site or user setting)."""
    data = tomllib.loads((path or resource("reason_codes.toml")).read_text(encoding="utf-8"))
    reasons = tuple(
        ReasonCode(str(r["code"]), str(r["label"]), bool(r.get("productive", False)))
        for r in data.get("reason", [])
    )
    acw = data.get("acw", {})
    limit = int(acw.get("limit_seconds", 120)) if acw_limit_seconds is None else acw_limit_seconds
    if limit < 0:
        raise ValueError("the after-call-work limit cannot be negative")
    return StatePolicy(
        reasons,
        str(acw.get("reason", "ACW")),
        limit,
        str(acw.get("timeout_disposition", "acw_timeout")),
    )


@dataclass(frozen=True)
class MemberRow:
    """This agent's membership of one queue, as last reported."""

    queue: str
    paused: bool
    reason: str
    device_status: int


@dataclass(frozen=True)
class StateSnapshot:
    """What the state bar shows. ``since`` is on the caller's monotonic clock."""

    state: AgentState
    reason: str | None
    since: float
    queues: tuple[MemberRow, ...] = field(default=())

    @property
    def label(self) -> str:
        base = STATE_LABELS[self.state]
        return (
            f"{base}: {self.reason}"
            if self.state in (AgentState.NOT_READY, AgentState.MISSED) and self.reason
            else base
        )


_MEMBER_EVENTS = (
    QueueMemberStatus,
    QueueMemberAdded,
    QueueMemberPause,
    QueueMemberPenalty,
    QueueMemberRinginuse,
    QueueMember,
)


class AgentStateMachine:
    """Folds member events and call phases into one :class:`StateSnapshot`."""

    def __init__(
        self,
        interface: str,
        policy: StatePolicy,
        clock: Callable[[], float],
        *,
        state_interface: str = "",
        aliases: Iterable[str] = (),
    ) -> None:
        self._interface = interface.lower()
        self.identity = AgentIdentity.of(interface, state_interface, aliases)
        self._policy = policy
        self._clock = clock
        self._members: dict[str, MemberRow] = {}
        self._call_phase: CallPhase | None = None
        self._wrapping_up = False
        self._online = False
        self._missed_reason = ""  # why the last offer here was missed, as the PBX said
        self._auto_paused = False
        self._snapshot = StateSnapshot(AgentState.OFFLINE, None, clock())

    @property
    def snapshot(self) -> StateSnapshot:
        return self._snapshot

    @property
    def policy(self) -> StatePolicy:
        return self._policy

    def in_wrap_up(self) -> bool:
        return self._snapshot.state is AgentState.WRAP_UP

    # ------------------------------------------------------------------ inputs
    def set_online(self, online: bool) -> StateSnapshot | None:
        self._online = online
        return self._derive()

    def resync(self, members: Iterable[AmiEvent]) -> StateSnapshot | None:
        """Replace memberships with a ``QueueStatus`` answer (``QueueMember`` rows)."""
        self._members.clear()
        for row in members:
            if isinstance(row, QueueMember):
                self._apply_member(row)
        return self._derive()

    def handle(self, event: AmiEvent | None) -> StateSnapshot | None:
        """Apply a member event; return the new snapshot when the state changed."""
        if isinstance(event, QueueMemberRemoved):
            if self.identity.member_is_mine(event):
                self._members.pop(event.queue, None)
                return self._derive()
            return None
        if isinstance(event, _MEMBER_EVENTS) and self._apply_member(event):
            return self._derive()
        return None

    def on_call(self, call: CallInfo | None, ago: float = 0.0) -> StateSnapshot | None:
        """The current call (or None) after a tracker change; ``ago``: seconds the new state
        began before now (a call taken over after a restart has been talking a while)."""
        self._call_phase = call.phase if call is not None else None
        if call is not None and call.phase is CallPhase.ENDED:
            self._wrapping_up = True
        return self._derive(max(ago, 0.0))

    def missed(self, reason: str) -> StateSnapshot | None:
        """An offer rang out here (``reason`` as the PBX gave it); the auto-pause follows."""
        self._missed_reason = reason
        return self._derive()

    def wrap_up_finished(self) -> StateSnapshot | None:
        self._wrapping_up = False
        self._call_phase = None
        return self._derive()

    # ------------------------------------------------------------------ derivation
    def _apply_member(self, event: MemberFields) -> bool:
        if not self.identity.member_is_mine(event) or not event.queue:
            return False
        status = int(event.status) if event.status is not None else 0
        self._members[event.queue] = MemberRow(
            event.queue, event.paused, event.paused_reason, status
        )
        return True

    def _derive(self, ago: float = 0.0) -> StateSnapshot | None:
        auto_paused = any(m.paused and m.reason == AUTO_PAUSE for m in self._members.values())
        if self._auto_paused and not auto_paused:
            self._missed_reason = ""  # the pause is over: the next one has its own reason
        self._auto_paused = auto_paused
        state, reason = self._compute()
        old = self._snapshot
        queues = tuple(sorted(self._members.values(), key=lambda m: m.queue))
        if (state, reason) == (old.state, old.reason):
            if queues != old.queues:
                self._snapshot = StateSnapshot(old.state, old.reason, old.since, queues)
                return self._snapshot
            return None
        self._snapshot = StateSnapshot(state, reason, self._clock() - ago, queues)
        return self._snapshot

    def _compute(self) -> tuple[AgentState, str | None]:
        if not self._online:
            return AgentState.OFFLINE, None
        phase = self._call_phase
        if phase is CallPhase.RINGING:
            return AgentState.RINGING, None
        if phase is CallPhase.CONNECTED:
            return AgentState.ON_CALL, None
        if phase is CallPhase.ON_HOLD:
            return AgentState.ON_HOLD, None
        paused = [m for m in self._members.values() if m.paused]
        if self._wrapping_up or any(m.reason == self._policy.acw_reason for m in paused):
            return AgentState.WRAP_UP, None
        if not self._members:
            return AgentState.LOGGED_OUT, None
        if any(m.reason == AUTO_PAUSE for m in paused):
            # Not "Available": the PBX routes nothing from those queues until the agent says.
            # Short, so the pill keeps its time; the queue list marks the paused queues.
            return AgentState.MISSED, self._missed_reason or "auto-paused by the PBX"
        if paused and len(paused) == len(self._members):
            reasons = {m.reason for m in paused}
            code = reasons.pop() if len(reasons) == 1 else "mixed"
            return AgentState.NOT_READY, self._policy.label_for(code) or "No reason"
        return AgentState.AVAILABLE, None
