"""AMI users and the response shapes of manager.c (astman_send_response_full and lists)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from agentdesk.telephony.codec import AmiMessage

#: Event classes of manager.c (``read``/``write`` in manager.conf).
CLASSES = frozenset(
    {
        "system",
        "call",
        "log",
        "verbose",
        "command",
        "agent",
        "user",
        "config",
        "dtmf",
        "reporting",
        "cdr",
        "dialplan",
        "originate",
        "agi",
        "cc",
        "aoc",
        "test",
        "security",
        "message",
    }
)
UNAUTHENTICATED_ACTIONS = frozenset({"login", "challenge", "logoff"})


@dataclass(frozen=True, slots=True)
class AmiUser:
    """A manager.conf user: secret plus read and write class sets (``all`` allowed)."""

    username: str
    secret: str
    read: frozenset[str] = frozenset({"all"})
    write: frozenset[str] = frozenset({"all"})

    def can_read(self, klass: str) -> bool:
        return "all" in self.read or klass in self.read

    def can_write(self, classes: frozenset[str]) -> bool:
        return not classes or "all" in self.write or bool(self.write & classes)


def reply(
    request: AmiMessage, status: str, *pairs: tuple[str, object], message: str | None = None
) -> AmiMessage:
    """A response in astman_send_response_full order: Response, [ActionID], [Message], extra."""
    headers: list[tuple[str, object]] = [("Response", status)]
    if request.action_id is not None:
        headers.append(("ActionID", request.action_id))
    if message is not None:
        headers.append(("Message", message))
    headers.extend(pairs)
    return AmiMessage.build(*headers)


def list_start(request: AmiMessage, message: str) -> AmiMessage:
    """First response of a list action (``EventList: start``)."""
    headers: list[tuple[str, object]] = [("Response", "Success")]
    if request.action_id is not None:
        headers.append(("ActionID", request.action_id))
    headers += [("EventList", "start"), ("Message", message)]
    return AmiMessage.build(*headers)


def list_item(request: AmiMessage, event: str, pairs: Iterable[tuple[str, object]]) -> AmiMessage:
    """A list item: no Privilege, ActionID last as app_queue.c writes it."""
    headers: list[tuple[str, object]] = [("Event", event), *pairs]
    if request.action_id is not None:
        headers.append(("ActionID", request.action_id))
    return AmiMessage.build(*headers)


def list_complete(request: AmiMessage, event: str, count: int) -> AmiMessage:
    headers: list[tuple[str, object]] = [("Event", event)]
    if request.action_id is not None:
        headers.append(("ActionID", request.action_id))
    headers += [("EventList", "Complete"), ("ListItems", count)]
    return AmiMessage.build(*headers)
