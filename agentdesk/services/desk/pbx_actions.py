"""The AMI actions an agent desktop sends, built in one place.

Answering from a desktop is the one call control AMI has no direct action
for. Deployments send the ringing phone a SIP NOTIFY it understands as
"answer now" (``PJSIPNotify`` with ``Event: talk``, which Yealink, Polycom,
Snom, Grandstream and most softphones honour); hold and resume work the same
way (``Event: hold`` / ``Event: talk``). Everything else is a plain Asterisk
20 action: ``Hangup``, ``BlindTransfer``, ``Atxfer``, ``Originate``,
``QueuePause``, ``QueueAdd``, ``QueueRemove``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DIALABLE = re.compile(r"^\+?[0-9*#]{1,32}$")


class ActionInputError(ValueError):
    """The agent asked for something the PBX cannot be told (e.g. a malformed number)."""


@dataclass(frozen=True)
class PbxAction:
    """One AMI action: its name and headers, in order."""

    name: str
    headers: tuple[tuple[str, str], ...]

    def as_dict(self) -> dict[str, str]:
        return dict(self.headers)


@dataclass(frozen=True)
class DialPlan:
    """Where the desktop's transfers and click-to-dial calls enter the dialplan."""

    transfer_context: str = "transfers"
    dial_context: str = "from-internal"
    originate_timeout_ms: int = 30_000


_NOTIFY_TECHS = ("pjsip", "sip")


def endpoint_of(interface: str) -> str:
    """``PJSIP/1001`` → ``1001``: the fallback NOTIFY endpoint when none is configured.

    Only a ``PJSIP/`` or ``SIP/`` interface names its endpoint; anything else
    (``Local/1001@agents``, whose text names a dialplan extension, not a phone)
    raises :class:`ActionInputError` instead of guessing a name.
    """
    tech, sep, rest = (interface or "").strip().partition("/")
    if sep and tech.lower() in _NOTIFY_TECHS and rest and "/" not in rest:
        return rest
    raise ActionInputError(
        f"No phone endpoint is configured for {interface or 'this line'}, so the desktop "
        "cannot answer or hold for it: answer on the phone, or ask an administrator to set "
        "the agent's PJSIP endpoint."
    )


def notify_endpoint(interface: str, endpoint: str = "") -> str:
    """The endpoint a NOTIFY for this line goes to: the configured one, else from the interface."""
    configured = (endpoint or "").strip()
    return configured or endpoint_of(interface)


def dialable(number: str) -> str:
    """Digits (and a leading +) the dialplan can take; raises for anything else."""
    cleaned = re.sub(r"[\s().\-/]", "", number or "")
    if not _DIALABLE.match(cleaned):
        raise ActionInputError(f"{number!r} is not a number that can be dialled")
    return cleaned


def notify(endpoint: str, event: str) -> PbxAction:
    """A SIP NOTIFY to the phone of ``endpoint`` (``talk`` answers or resumes, ``hold`` holds)."""
    return PbxAction("PJSIPNotify", (("Endpoint", endpoint), ("Variable", f"Event={event}")))


def answer(interface: str, endpoint: str = "") -> PbxAction:
    return notify(notify_endpoint(interface, endpoint), "talk")


def hold(interface: str, on: bool, endpoint: str = "") -> PbxAction:
    return notify(notify_endpoint(interface, endpoint), "hold" if on else "talk")


def hangup(channel: str) -> PbxAction:
    return PbxAction("Hangup", (("Channel", channel), ("Cause", "16")))


def blind_transfer(channel: str, target: str, plan: DialPlan) -> PbxAction:
    return PbxAction(
        "BlindTransfer",
        (("Channel", channel), ("Context", plan.transfer_context), ("Exten", dialable(target))),
    )


def attended_transfer(channel: str, target: str, plan: DialPlan) -> PbxAction:
    return PbxAction(
        "Atxfer",
        (("Channel", channel), ("Context", plan.transfer_context), ("Exten", dialable(target))),
    )


def originate(interface: str, number: str, caller_id: str, plan: DialPlan) -> PbxAction:
    return PbxAction(
        "Originate",
        (
            ("Channel", interface),
            ("Context", plan.dial_context),
            ("Exten", dialable(number)),
            ("Priority", "1"),
            ("CallerID", caller_id),
            ("Timeout", str(plan.originate_timeout_ms)),
            ("Async", "true"),
        ),
    )


def pause(interface: str, paused: bool, reason: str = "", queue: str | None = None) -> PbxAction:
    headers = [("Interface", interface), ("Paused", "true" if paused else "false")]
    if queue:
        headers.append(("Queue", queue))
    if paused and reason:
        headers.append(("Reason", reason))
    return PbxAction("QueuePause", tuple(headers))


def queue_add(queue: str, interface: str, member_name: str, paused: bool = False) -> PbxAction:
    return PbxAction(
        "QueueAdd",
        (
            ("Queue", queue),
            ("Interface", interface),
            ("MemberName", member_name),
            ("Paused", "true" if paused else "false"),
        ),
    )


def queue_remove(queue: str, interface: str) -> PbxAction:
    return PbxAction("QueueRemove", (("Queue", queue), ("Interface", interface)))
