"""What an agent asks the PBX to do, as requests the desk sends and the server checks.

A desktop never builds AMI actions in production: it sends one of these
requests (JSON over ``POST /api/v1/cti/requests``) and the server, which knows
the signed-in agent's interface and current calls, decides whether the agent
may do it and turns it into the AMI action with :func:`to_action`. In the
direct mode (tests, a lab with no server) the desk's own link does the same
translation with the interface from its configuration.

A request names *what* (answer, hold this call, transfer this call to 2001),
never *where* on the PBX: the interface always comes from the agent's own
record, and a channel is accepted only when it is one of the agent's calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal, Protocol

from pydantic import Field, TypeAdapter

from agentdesk.services.desk import pbx_actions as actions
from agentdesk.services.desk.identity import AgentIdentity

_SHORT = 128
# No control characters: a CR/LF in a value would end an AMI header and start another.
_TEXT = r"^[^\x00-\x1f\x7f]*$"


@dataclass(frozen=True)
class Answer:
    """Answer the call ringing this agent's phone."""

    kind: Literal["answer"] = "answer"


@dataclass(frozen=True)
class Hangup:
    """Hang up this agent's leg of a call (``linkedid`` names the call)."""

    linkedid: Annotated[str, Field(min_length=1, max_length=_SHORT, pattern=_TEXT)]
    kind: Literal["hangup"] = "hangup"


@dataclass(frozen=True)
class Hold:
    """Put a call on hold (``on``) or resume it."""

    linkedid: Annotated[str, Field(min_length=1, max_length=_SHORT, pattern=_TEXT)]
    on: bool
    kind: Literal["hold"] = "hold"


@dataclass(frozen=True)
class Transfer:
    """Transfer a call to an extension or number, blind or attended."""

    linkedid: Annotated[str, Field(min_length=1, max_length=_SHORT, pattern=_TEXT)]
    target: Annotated[str, Field(min_length=1, max_length=40, pattern=_TEXT)]
    attended: bool = False
    kind: Literal["transfer"] = "transfer"


@dataclass(frozen=True)
class Dial:
    """Click-to-dial: ring the agent's phone, then call ``number``."""

    number: Annotated[str, Field(min_length=1, max_length=40, pattern=_TEXT)]
    kind: Literal["dial"] = "dial"


@dataclass(frozen=True)
class Pause:
    """Pause (with a reason) or unpause the agent, in every queue or in one."""

    paused: bool
    reason: Annotated[str, Field(max_length=80, pattern=_TEXT)] = ""
    queue: Annotated[str | None, Field(max_length=_SHORT, pattern=_TEXT)] = None
    kind: Literal["pause"] = "pause"


@dataclass(frozen=True)
class JoinQueue:
    """Log the agent in to a queue."""

    queue: Annotated[str, Field(min_length=1, max_length=_SHORT, pattern=_TEXT)]
    paused: bool = False
    kind: Literal["join_queue"] = "join_queue"


@dataclass(frozen=True)
class LeaveQueue:
    """Log the agent out of a queue."""

    queue: Annotated[str, Field(min_length=1, max_length=_SHORT, pattern=_TEXT)]
    kind: Literal["leave_queue"] = "leave_queue"


CallRequest = Answer | Hangup | Hold | Transfer | Dial | Pause | JoinQueue | LeaveQueue
REQUEST = TypeAdapter(Annotated[CallRequest, Field(discriminator="kind")])


@dataclass(frozen=True)
class CallResult:
    """What became of a request: done, or refused with a sentence for the agent."""

    ok: bool
    message: str = ""


RESULT = TypeAdapter(CallResult)


class AgentRow(Protocol):
    """What :meth:`AgentLine.from_agent` reads: an ``agentdesk.models.org.Agent`` row fits."""

    @property
    def interface(self) -> str | None: ...
    @property
    def display_name(self) -> str: ...
    @property
    def extension(self) -> str | None: ...
    @property
    def state_interface(self) -> str | None: ...
    @property
    def endpoint(self) -> str | None: ...


@dataclass(frozen=True)
class AgentLine:
    """Where an agent is on the PBX, from configuration (never from the desktop)."""

    interface: str  # the queue member interface, e.g. PJSIP/1001 or Local/1001@agents
    member_name: str
    extension: str = ""
    # The phone that rings and is sent "answer now" / "hold" (PJSIP endpoint name).
    endpoint: str = ""
    dial_plan: actions.DialPlan = field(default_factory=actions.DialPlan)
    # The member's StateInterface when it differs from the interface (e.g. PJSIP/1001 for
    # Local/1001@agents): member events and channels naming it are this agent's.
    state_interface: str = ""

    @classmethod
    def from_agent(
        cls, agent: AgentRow, dial_plan: actions.DialPlan | None = None
    ) -> AgentLine | None:
        """The line of an agent row; None when the agent has no interface configured."""
        interface = (agent.interface or "").strip()
        if not interface:
            return None
        return cls(
            interface=interface,
            member_name=agent.display_name,
            extension=(agent.extension or "").strip(),
            endpoint=(agent.endpoint or "").strip(),
            dial_plan=dial_plan or actions.DialPlan(),
            state_interface=(agent.state_interface or "").strip(),
        )

    @property
    def identity(self) -> AgentIdentity:
        """How events and channels are recognised as this agent's (interface or state one)."""
        return AgentIdentity.of(self.interface, self.state_interface)

    @property
    def notify_endpoint(self) -> str:
        """The configured endpoint, else a PJSIP/SIP interface's; raises ActionInputError
        for a line (a Local member) that names no phone."""
        return actions.notify_endpoint(self.interface, self.endpoint)


def to_action(
    request: CallRequest, line: AgentLine, agent_channel: str | None = None
) -> actions.PbxAction:
    """The AMI action for ``request`` by the agent on ``line``.

    ``agent_channel`` is the agent's leg of the call the request names (the
    caller of this function looked it up among the agent's own calls); the
    requests that act on a call need it. Raises
    :class:`~agentdesk.services.desk.pbx_actions.ActionInputError` with a
    sentence for the agent when the request cannot be carried out.
    """
    match request:
        case Answer():
            return actions.notify(line.notify_endpoint, "talk")
        case Hold(on=on):
            return actions.notify(line.notify_endpoint, "hold" if on else "talk")
        case Hangup():
            return actions.hangup(_need(agent_channel))
        case Transfer(target=target, attended=attended):
            build = actions.attended_transfer if attended else actions.blind_transfer
            return build(_need(agent_channel), target, line.dial_plan)
        case Dial(number=number):
            caller_id = f'"{line.member_name}" <{line.extension}>'
            return actions.originate(line.interface, number, caller_id, line.dial_plan)
        case Pause(paused=paused, reason=reason, queue=queue):
            return actions.pause(line.interface, paused, reason, queue)
        case JoinQueue(queue=queue, paused=paused):
            return actions.queue_add(queue, line.interface, line.member_name, paused)
        case LeaveQueue(queue=queue):
            return actions.queue_remove(queue, line.interface)
    raise actions.ActionInputError(f"unknown request {request!r}")


def _need(channel: str | None) -> str:
    if not channel:
        raise actions.ActionInputError("That call is not one of yours (or it has ended).")
    return channel
