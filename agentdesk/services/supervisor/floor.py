"""The live floor: each agent's memberships, call and derived status, from AMI events.

Pure state, no I/O and no clock of its own: every input carries ``now``
(epoch seconds). :class:`~agentdesk.services.supervisor.board.LiveBoard`
owns one and feeds it events and resyncs.

Status rules, first match wins: on a queue call → On call (On hold while
held); device ringing → Ringing; an after-call-work pause, or inside the
queue's ``wrapuptime`` after a call → Wrap-up; paused in every queue →
Paused (with the reason); device unavailable → Unavailable; device busy
without a queue call (a direct call) → On call; member of no queue →
Logged out; otherwise Available.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from agentdesk.services.supervisor.views import AgentRow, AgentStatus, QueueMembership
from agentdesk.telephony.events import (
    AgentCalled,
    AgentComplete,
    AgentConnect,
    ChannelEvent,
    ChannelInfo,
    MemberFields,
    QueueMemberRemoved,
)

# Asterisk device states (QueueMemberStatus "Status").
RINGING_STATES = frozenset({6, 7})
BUSY_STATES = frozenset({2, 3, 8})
UNAVAILABLE_STATES = frozenset({4, 5})


@dataclass(slots=True)
class Member:
    """One queue membership of an agent."""

    queue: str
    paused: bool = False
    reason: str = ""
    penalty: int = 0
    calls_taken: int = 0


@dataclass(slots=True)
class Call:
    """The queue call an agent is on."""

    caller: str
    queue: str
    uniqueid: str
    channel: str
    since: float
    held: bool = False


@dataclass(slots=True)
class Agent:
    """Everything the floor knows about one agent (keyed by interface, lower case)."""

    interface: str
    name: str
    members: dict[str, Member] = field(default_factory=dict)
    device: int = 1
    call: Call | None = None
    offered: tuple[str, str] | None = None  # (caller, queue) of the call ringing here
    acw_until: float = 0.0
    handled: int = 0
    talk_s: float = 0.0
    acw_s: float = 0.0
    status: AgentStatus = AgentStatus.LOGGED_OUT
    reason: str = ""
    since: float = 0.0
    cached_row: AgentRow | None = None  # reset by Floor.derive whenever anything may have changed

    def row(self) -> AgentRow:
        if self.cached_row is None:
            self.cached_row = self._build_row()
        return self.cached_row

    def _build_row(self) -> AgentRow:
        members = tuple(
            QueueMembership(m.queue, m.paused, m.reason, m.penalty)
            for m in sorted(self.members.values(), key=lambda m: m.queue)
        )
        aht = (self.talk_s + self.acw_s) / self.handled if self.handled else None
        caller, queue = ("", "")
        if self.call is not None:
            caller, queue = self.call.caller, self.call.queue
        elif self.status is AgentStatus.RINGING and self.offered is not None:
            caller, queue = self.offered
        return AgentRow(
            self.interface, self.name, self.status, self.reason, self.since, self.handled, aht,
            caller, queue, members,
        )  # fmt: skip


_C_ESCAPES = {"n": " ", "r": " ", "t": " ", "a": "", "b": "", "f": "", "v": "",
              "\\": "\\", "'": "'", '"': '"', "?": "?"}  # fmt: skip
_C_ESCAPE = re.compile(r"\\(.)")


def unescape_c(value: str) -> str:
    """Undo Asterisk's C escaping of names (``O\\'Brien`` → ``O'Brien``); controls → space."""
    if "\\" not in value:
        return value
    return _C_ESCAPE.sub(lambda m: _C_ESCAPES.get(m.group(1), m.group(1)), value)


def caller_label(channel: ChannelInfo, *, connected: bool = False) -> str:
    """'Name <number>' or just the number; AMI's '<unknown>' placeholders dropped.

    ``connected`` picks the ConnectedLine pair instead of the CallerID one.
    """
    num = channel.connected_num if connected else channel.caller_num
    name = unescape_c(channel.connected_name if connected else channel.caller_name)
    num = "" if num in ("<unknown>", "unknown") else num
    name = "" if name in ("<unknown>", "unknown") else name
    if name and num:
        return f"{name} <{num}>"
    return name or num or "withheld"


class Floor:
    """Agents and their derived status; ``is_acw``/``wrapup_s`` come from the settings."""

    def __init__(self, is_acw: Callable[[str], bool], wrapup_s: Callable[[str], float]) -> None:
        self._is_acw = is_acw
        self._wrapup_s = wrapup_s
        self.agents: dict[str, Agent] = {}
        self.channels: dict[str, str] = {}  # agent-leg channel -> interface key

    def agent(self, interface: str, name: str, now: float) -> Agent:
        key = interface.lower()
        found = self.agents.get(key)
        if found is None:
            found = self.agents[key] = Agent(interface, name or interface, since=now)
        elif name:
            found.name = name
        return found

    def find(self, interface: str) -> Agent | None:
        return self.agents.get(interface.lower())

    # ------------------------------------------------------------------ member events
    def apply_member(self, event: MemberFields, now: float) -> Agent | None:
        """QueueMemberStatus/Added/Pause/Penalty (or a QueueMember list item)."""
        if not event.interface or not event.queue:
            return None
        agent = self.agent(event.interface, event.member_name, now)
        member = agent.members.setdefault(event.queue, Member(event.queue))
        member.paused = event.paused
        member.reason = event.paused_reason if member.paused else ""
        member.penalty = event.penalty or 0
        if event.calls_taken is not None:
            member.calls_taken = event.calls_taken
        if event.status is not None:
            agent.device = int(event.status)
        return agent

    def remove_member(self, event: QueueMemberRemoved, now: float) -> Agent | None:
        agent = self.find(event.interface)
        if agent is None:
            return None
        agent.members.pop(event.queue, None)
        return agent

    # ------------------------------------------------------------------ call events
    def offer(self, event: AgentCalled, now: float) -> Agent | None:
        """AgentCalled: remember who is ringing this agent, to show while it rings."""
        agent = self.find(event.interface)
        if agent is not None:
            agent.offered = (caller_label(event.channel), event.queue)
        return agent

    def connect(self, event: AgentConnect, now: float) -> Agent | None:
        agent = self.find(event.interface)
        if agent is None:
            agent = self.agent(event.interface, event.member_name, now)
        channel = event.dest.channel
        if agent.call is not None:
            self.channels.pop(agent.call.channel, None)
        agent.call = Call(caller_label(event.channel), event.queue, event.uniqueid, channel, now)
        if channel:
            self.channels[channel] = agent.interface.lower()
        return agent

    def complete(self, event: AgentComplete, now: float) -> Agent | None:
        agent = self.find(event.interface)
        if agent is None:
            return None
        self.end_call(agent)
        agent.handled += 1
        agent.talk_s += event.talk_time or 0
        agent.acw_until = now + self._wrapup_s(event.queue)
        return agent

    def end_call(self, agent: Agent) -> None:
        if agent.call is not None:
            self.channels.pop(agent.call.channel, None)
            agent.call = None

    def hold(self, event: ChannelEvent, held: bool) -> Agent | None:
        key = self.channels.get(event.channel.channel)
        agent = self.agents.get(key) if key else None
        if agent is None or agent.call is None:
            return None
        agent.call.held = held
        return agent

    # ------------------------------------------------------------------ derivation
    def derive(self, agent: Agent, now: float) -> bool:
        """Recompute the agent's status at ``now``; True when it (or its reason) changed.

        Every change to an agent goes through here, so this is also where its cached
        wallboard row is dropped.
        """
        agent.cached_row = None
        status, reason = self._status(agent, now)
        if status is not AgentStatus.RINGING and agent.device not in RINGING_STATES:
            agent.offered = None
        if (status, reason) == (agent.status, agent.reason):
            return False
        if agent.status is AgentStatus.WRAP_UP:
            agent.acw_s += max(0.0, now - agent.since)
        agent.status, agent.reason, agent.since = status, reason, now
        return True

    def expire_wrapups(self, now: float) -> list[Agent]:
        """Agents whose timed wrap-up ran out: their new state starts when it ended."""
        changed = []
        for agent in self.agents.values():
            if agent.status is AgentStatus.WRAP_UP and agent.acw_until <= now:
                ended = max(agent.since, agent.acw_until)
                if self.derive(agent, ended):
                    changed.append(agent)
        return changed

    def _status(self, agent: Agent, now: float) -> tuple[AgentStatus, str]:
        if agent.call is not None:
            return (AgentStatus.ON_HOLD if agent.call.held else AgentStatus.ON_CALL), ""
        if agent.device in RINGING_STATES:
            return AgentStatus.RINGING, ""
        members = list(agent.members.values())
        if now < agent.acw_until or any(m.paused and self._is_acw(m.reason) for m in members):
            return AgentStatus.WRAP_UP, ""
        if members and all(m.paused for m in members):
            reasons = {m.reason for m in members}
            return AgentStatus.PAUSED, (reasons.pop() if len(reasons) == 1 else "mixed")
        if agent.device in UNAVAILABLE_STATES:
            return AgentStatus.UNAVAILABLE, ""
        if agent.device in BUSY_STATES:
            return AgentStatus.ON_CALL, ""
        if not members:
            return AgentStatus.LOGGED_OUT, ""
        return AgentStatus.AVAILABLE, ""
