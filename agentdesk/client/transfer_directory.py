"""The transfer directory asked of the server: colleagues with presence, queues with figures.

``GET /api/v1/cti/directory`` (``server/api/cti_directory.py``) answers with
names, extensions, presence and per-queue counts only; this turns its JSON into
frozen rows the transfer dialog lists and filters. Blocking (HTTP): run it off
the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from agentdesk.client.api import ServerApi

Kind = Literal["agent", "queue"]

PRESENCE_LABELS = {
    "available": "Available",
    "on_call": "On a call",
    "paused": "Paused",
    "wrap_up": "Wrap-up",
    "logged_off": "Logged off",
    "unknown": "Presence unknown",
}
# Who is worth a transfer first: free colleagues, then busy ones, then the absent.
_PRESENCE_ORDER = {"available": 0, "wrap_up": 1, "on_call": 2, "paused": 3, "unknown": 4}


class BadDirectory(ValueError):
    """The server's answer is not a directory (a version mismatch, or a proxy's page)."""


@dataclass(frozen=True)
class DirectoryEntry:
    """One transfer target: a colleague or a queue. ``target`` is what is dialled ("" when
    the PBX has no transfer code for a queue: shown, but not a target)."""

    kind: Kind
    name: str
    target: str
    site: str = ""
    presence: str = ""  # agents: a PRESENCE_LABELS key
    reason: str = ""  # agents, paused: the reason as agents read it
    waiting: int | None = None  # queues: callers waiting now (None: not known)
    available: int | None = None  # queues: agents free now

    @property
    def status(self) -> str:
        """What the list shows beside the name: presence, or a queue's figures."""
        if self.kind == "agent":
            label = PRESENCE_LABELS.get(self.presence, "Presence unknown")
            return f"{label}: {self.reason}" if self.reason else label
        if self.waiting is None or self.available is None:
            return "Queue"
        return f"{self.waiting} waiting · {self.available} available"

    def matches(self, words: Iterable[str]) -> bool:
        """Every typed word is in the name, number, site or status (case-insensitive)."""
        haystack = " ".join((self.name, self.target, self.site, self.status, self.kind)).lower()
        return all(word in haystack for word in words)

    def sort_key(self) -> tuple[int, int, str]:
        if self.kind == "queue":
            return (0, 0, self.name.lower())
        return (1, _PRESENCE_ORDER.get(self.presence, 5), self.name.lower())


@dataclass(frozen=True)
class TransferDirectory:
    """Every target the server listed, and a sentence when the list is partial or empty."""

    entries: tuple[DirectoryEntry, ...]
    detail: str = ""
    sites: int = 1  # PBX sites listed: a site is named beside entries only when several


def directory_from_json(body: Any) -> TransferDirectory:
    """The server's JSON as a :class:`TransferDirectory`; :class:`BadDirectory` otherwise."""
    try:
        agents = [
            DirectoryEntry(
                "agent", str(a["name"]), str(a["extension"]), str(a.get("site") or ""),
                presence=str(a["presence"]), reason=str(a.get("reason") or ""),
            )
            for a in body["agents"]
        ]  # fmt: skip
        queues = [
            DirectoryEntry(
                "queue", str(q["label"] or q["name"]), str(q.get("code") or ""),
                str(q.get("site") or ""), waiting=int(q["waiting"]),
                available=int(q["available"]),
            )
            for q in body["queues"]
        ]  # fmt: skip
        sites = body.get("sites") or ()
        detail = str(body.get("detail") or "") or _stale(
            str(s["site"]) for s in sites if s.get("link") != "connected"
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BadDirectory(f"the server's transfer directory is not readable ({exc!r})") from exc
    entries = sorted([*queues, *agents], key=DirectoryEntry.sort_key)
    return TransferDirectory(tuple(entries), detail, max(len(sites), 1))


def _stale(sites: Iterable[str]) -> str:
    """A sentence when a site's PBX link is down: its presence and figures are the last known."""
    down = sorted(sites)
    if not down:
        return ""
    return f"PBX link down ({', '.join(down)}): presence and queue figures may be out of date."


def queues_only(queues: Iterable[str]) -> TransferDirectory:
    """The fallback when the server cannot be asked: the PBX's queue names, no figures."""
    entries = tuple(DirectoryEntry("queue", name, "") for name in sorted(queues))
    return TransferDirectory(entries, sites=1)


DirectorySource = Callable[[], TransferDirectory]


class ServerTransferDirectory:
    """``GET /cti/directory`` over the desktop's session."""

    def __init__(self, api: ServerApi) -> None:
        self._api = api

    def load(self) -> TransferDirectory:
        return directory_from_json(self._api.request("GET", "/cti/directory"))
