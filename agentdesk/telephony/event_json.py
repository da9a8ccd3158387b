"""Typed events as JSON: how the server's CTI gateway hands events to desktops.

The desktop never sees AMI text. The gateway decodes each AMI message once
(:mod:`agentdesk.telephony.events`), keeps what an agent may know, and sends
the typed event as a JSON object named by its class (``"kind":
"AgentCalled"``; the AMI ``Event`` name is not unique: a withdrawal arrives
as ``VarSet`` but decodes to :class:`~agentdesk.telephony.events.QueueCallerWithdraw`).
The desktop turns the object back into the same frozen dataclass, so the call
and agent-state rules above run unchanged on either side.

:func:`from_json` is strict: an unknown kind or a field of the wrong type
raises :class:`EventJsonError` (the server is trusted, but a bug there must
not become a half-built call on the desk).
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from agentdesk.telephony import events as ev


class EventJsonError(ValueError):
    """A JSON object that is not a typed event this build knows."""


def _subclasses(base: type[ev.AmiEvent]) -> list[type[ev.AmiEvent]]:
    found: list[type[ev.AmiEvent]] = []
    for sub in base.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


# Every concrete event class by its class name (the name is the wire discriminator).
_ALL: list[type[ev.AmiEvent]] = [ev.AmiEvent, *_subclasses(ev.AmiEvent)]
KINDS: dict[str, type[ev.AmiEvent]] = {cls.__name__: cls for cls in _ALL}
_ADAPTERS: dict[type[ev.AmiEvent], TypeAdapter[Any]] = {}


def _adapter(cls: type[ev.AmiEvent]) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(cls)
    if adapter is None:
        adapter = _ADAPTERS[cls] = TypeAdapter(cls)
    return adapter


def to_json(event: ev.AmiEvent) -> dict[str, Any]:
    """``event`` as a JSON-ready dict with its class name under ``"kind"``."""
    cls = type(event)
    body: dict[str, Any] = _adapter(cls).dump_python(event, mode="json")
    return {"kind": cls.__name__, **body}


def from_json(data: object) -> ev.AmiEvent:
    """The typed event a :func:`to_json` dict describes; :class:`EventJsonError` otherwise."""
    if not isinstance(data, dict):
        raise EventJsonError("an event must be a JSON object")
    kind = data.get("kind")
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise EventJsonError(f"unknown event kind {kind!r}")
    body = {k: v for k, v in data.items() if k != "kind"}
    try:
        event: ev.AmiEvent = _adapter(cls).validate_python(body, strict=False)
    except ValidationError as exc:
        raise EventJsonError(f"bad {kind} event: {exc.error_count()} field(s) wrong") from None
    return event
