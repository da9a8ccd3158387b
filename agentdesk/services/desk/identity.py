"""Who an agent is on the PBX: the queue-member interface, its state interface, aliases.

Facts from Asterisk 20 this relies on (``apps/app_queue.c``, ``main/core_local.c``,
``channels/chan_pjsip.c``):

- A queue member has an ``Interface`` (what the queue dials) and a
  ``StateInterface`` (whose device state the queue watches); when no state
  interface is configured, app_queue uses the interface itself
  (``create_queue_member``). Member events (``QueueMemberStatus``, ``…Added``,
  ``…Removed``, ``…Pause``, …, built by ``queue_member_blob_create``) carry both;
  ``QueueStatus`` rows carry them as ``Location`` and ``StateInterface``.
- ``AgentCalled``, ``AgentConnect``, ``AgentComplete`` and
  ``AgentRingNoAnswer`` carry only ``Queue``, ``Interface`` (the member's
  interface as configured, options such as ``/n`` included) and
  ``MemberName``; the ``Dest*`` block is the channel the queue created for
  that member. For a ``Local/1001@agents`` member that is the Local channel's
  first half, ``Local/1001@agents-0000002a;1``; the phone's own channel
  (``PJSIP/1001-0000002b``, dialled by the ``;2`` half) is a separate channel
  of the same ``Linkedid`` that shows up in ``DialBegin``/``DialEnd`` (as
  ``Dest``), ``Hold``/``Unhold`` and ``Hangup``.
- Local channels are named ``Local/<exten>@<context>-<8 hex digits>;1`` and
  ``;2``; options after a further ``/`` (``/n``, ``/m``…) are not part of the
  name, and a Local interface without ``@context`` means context ``default``.
  PJSIP and SIP channels are named ``<tech>/<endpoint or peer>-<8 hex digits>``.

:class:`AgentIdentity` turns those facts into two questions: is this
interface the agent's, and is this channel one of the agent's devices.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from agentdesk.telephony.events import MemberFields

_SEQ = re.compile(r"-[0-9a-f]{8}$")


def normalise_interface(interface: str) -> str:
    """An interface as comparable text: lower case, Local options dropped, default context added.

    ``Local/1001@Agents/n`` → ``local/1001@agents``; ``Local/1001`` →
    ``local/1001@default``; ``PJSIP/1001`` → ``pjsip/1001``; ``hint:1001@x``
    is kept as it is (lower case).
    """
    value = (interface or "").strip().lower()
    tech, sep, rest = value.partition("/")
    if not sep or tech != "local":
        return value
    location = rest.split("/", 1)[0]  # Local/<exten>[@<context>][/<options>]
    if "@" not in location:
        location += "@default"
    return f"local/{location}"


def device_of_channel(channel: str) -> str:
    """The device (interface) a channel belongs to: ``PJSIP/1001-0000000a`` → ``pjsip/1001``.

    ``Local/1001@agents-0000000a;2`` → ``local/1001@agents``. A name without the
    ``-<8 hex>`` sequence suffix is returned as it is (lower case).
    """
    value = (channel or "").strip().lower()
    if value.startswith("local/") and value[-2:] in (";1", ";2"):
        value = value[:-2]
    return _SEQ.sub("", value)


@dataclass(frozen=True)
class AgentIdentity:
    """An agent's interface, state interface and configured aliases, matched case-blind."""

    interface: str
    state_interface: str = ""
    aliases: tuple[str, ...] = ()
    _names: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        given = (self.interface, self.state_interface, *self.aliases)
        names = {normalise_interface(n) for n in given}
        names.discard("")
        object.__setattr__(self, "_names", frozenset(names))

    @classmethod
    def of(
        cls, interface: str, state_interface: str = "", aliases: Iterable[str] = ()
    ) -> AgentIdentity:
        return cls(interface, state_interface or "", tuple(a for a in aliases if a))

    @property
    def names(self) -> frozenset[str]:
        """Every interface that means this agent, normalised."""
        return self._names

    def is_mine(self, interface: str) -> bool:
        """Whether ``interface`` (an event's Interface or StateInterface) is this agent's."""
        return bool(interface) and normalise_interface(interface) in self._names

    def member_is_mine(self, member: MemberFields) -> bool:
        """A member event or ``QueueMember`` row of this agent: by interface or state interface."""
        return self.is_mine(member.interface) or self.is_mine(member.state_interface)

    def owns_channel(self, channel: str) -> bool:
        """Whether ``channel`` is a channel of one of this agent's devices (any call)."""
        return bool(channel) and device_of_channel(channel) in self._names
