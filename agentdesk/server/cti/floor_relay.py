"""The supervisors' floor across instances: computed where the PBX link is, mirrored elsewhere.

Only the instance that holds a PBX's link (``cti/relay.py``) has its events,
so only it computes that site's board and stores its queue records. It
publishes every message its supervisors' sockets get for the site on
``agentdesk.floor.<site>`` (stamped with its epoch and a sequence number),
``today`` series included, and answers ``agentdesk.floor.<site>.full`` with
the site's whole picture at a given sequence number.

Every other instance keeps a :class:`FloorMirror` of the site from those
messages: it asks for the whole picture once, applies each update after it
in order, asks again when it missed one (a sequence gap, a new leader's
epoch that does not start with a whole picture) and hands every update it
applied to its own supervisors' sockets. A supervisor thus sees the same
floor, with the PBX link's real state, whichever instance their socket
reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from agentdesk.server.bus import Bus, BusDown, token

log = logging.getLogger(__name__)

PREFIX = "agentdesk.floor"
WAITING = "Waiting for the server that holds the link to the PBX ({site})."


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class FloorMirror:
    """One site's floor as published by the instance leading it."""

    def __init__(self, site: str, definition: Any) -> None:
        self.site = site
        self.definition = definition
        self.epoch: int | None = None
        self.seq = 0
        self.link: dict[str, Any] = {"state": "reconnecting", "detail": WAITING.format(site=site)}
        self.queues: dict[str, dict[str, Any]] = {}
        self.agents: dict[str, dict[str, Any]] = {}
        self.windows: dict[str, Any] = {}
        self.reconcile: dict[str, Any] | None = None
        self.today: dict[str, dict[str, Any]] = {}  # interval ("15", "30", "60") -> message
        self.whole = False  # holds a whole picture from the current leader

    def picture(self) -> dict[str, Any]:
        """The site as ``SiteFloor.full`` gives it."""
        return {
            "site": self.site,
            "link": self.link,
            "definition": self.definition,
            "queues": list(self.queues.values()),
            "agents": list(self.agents.values()),
            "windows": self.windows,
            "reconcile": self.reconcile,
        }

    def load(self, full: dict[str, Any]) -> None:
        self.link = dict(full.get("link") or self.link)
        self.definition = full.get("definition", self.definition)
        self.queues = {str(q["name"]): q for q in full.get("queues", [])}
        self.agents = {str(a["interface"]).lower(): a for a in full.get("agents", [])}
        self.windows = dict(full.get("windows") or {})
        self.reconcile = full.get("reconcile")
        self.whole = True

    def apply(self, update: dict[str, Any]) -> None:
        """Apply one ``update`` message (a whole picture when it says ``full``)."""
        if update.get("full"):
            self.load(update)
            return
        if "link" in update:
            self.link = dict(update["link"])
        for key in update.get("queues_gone", []):
            self.queues.pop(str(key), None)
        for key in update.get("agents_gone", []):
            self.agents.pop(str(key), None)
        for row in update.get("queues", []):
            self.queues[str(row["name"])] = row
        for row in update.get("agents", []):
            self.agents[str(row["interface"]).lower()] = row
        if "windows" in update:
            self.windows = dict(update["windows"])
        if "reconcile" in update:
            self.reconcile = update["reconcile"]

    def lost_leader(self, detail: str) -> dict[str, Any]:
        """The link as shown while no instance leads the site; the update saying so."""
        self.link = {"state": "reconnecting", "detail": detail}
        self.whole = False
        self.epoch = None
        return {"type": "update", "site": self.site, "link": self.link}


class FloorRelay:
    """Publishing for the sites this instance leads; mirrors of the others."""

    def __init__(self, bus: Bus, broadcast: Any, definitions: dict[str, Any]) -> None:
        self.bus = bus
        self._broadcast = broadcast  # FloorHub's: to this instance's supervisors' sockets
        self.mirrors = {site: FloorMirror(site, d) for site, d in definitions.items()}
        self.epochs: dict[str, int] = {}  # site -> epoch while this instance leads it
        self._seq: dict[str, int] = {}
        self._services: dict[str, Any] = {}
        self._fetching: dict[str, asyncio.Task[bool]] = {}
        self.full_of: Any = None  # site -> (full picture, today by interval), set by FloorHub

    async def start(self) -> None:
        await self.bus.subscribe(f"{PREFIX}.*", self._on_message)

    # ------------------------------------------------------------------ leading
    async def lead(self, site: str, epoch: int) -> None:
        self.epochs[site] = epoch
        self._seq[site] = 0
        self._services[site] = await self.bus.serve(f"{PREFIX}.{token(site)}.full",
                                                    self._full_service(site))  # fmt: skip

    async def follow(self, site: str) -> None:
        self.epochs.pop(site, None)
        undo = self._services.pop(site, None)
        if undo is not None:
            await undo()
        mirror = self.mirrors[site]
        mirror.whole = False
        mirror.epoch = None
        self.fetch_soon(site)

    def leads(self, site: str) -> bool:
        return site in self.epochs

    def publish(self, site: str, message: dict[str, Any]) -> None:
        """Send one of a led site's socket messages to the other instances."""
        epoch = self.epochs.get(site)
        if epoch is None:
            return
        seq = self._seq[site] = self._seq.get(site, 0) + 1
        body = {"site": site, "e": epoch, "s": seq, "m": message}
        asyncio.get_running_loop().create_task(
            self.bus.publish(f"{PREFIX}.{token(site)}", _dumps(body))
        )

    def publish_today(self, site: str, interval: str, message: dict[str, Any]) -> None:
        """Send a led site's ``today`` series for ``interval`` (no sequence: each replaces)."""
        if site not in self.epochs:
            return
        body = {"site": site, "today": interval, "m": message}
        asyncio.get_running_loop().create_task(
            self.bus.publish(f"{PREFIX}.{token(site)}", _dumps(body))
        )

    def _full_service(self, site: str) -> Any:
        async def full(_data: bytes) -> bytes:
            picture, today = self.full_of(site)
            answer = {"e": self.epochs.get(site, 0), "s": self._seq.get(site, 0),
                      "full": picture, "today": today}  # fmt: skip
            return _dumps(answer)

        return full

    # ------------------------------------------------------------------ mirroring
    def fetch_soon(self, site: str) -> None:
        task = self._fetching.get(site)
        if task is None or task.done():
            self._fetching[site] = asyncio.get_running_loop().create_task(self.fetch(site))

    async def fetch(self, site: str) -> bool:
        """Ask the leader for the whole picture (False: none answered)."""
        if self.leads(site):
            return True
        try:
            raw = await self.bus.request(f"{PREFIX}.{token(site)}.full", b"{}")
        except BusDown:
            return False
        answer = json.loads(raw)
        mirror = self.mirrors[site]
        mirror.load(answer["full"])
        mirror.epoch, mirror.seq = int(answer["e"]), int(answer["s"])
        mirror.today.update({str(k): v for k, v in answer.get("today", {}).items()})
        self._broadcast({"type": "update", **mirror.picture(), "full": True})
        return True

    def _on_message(self, _subject: str, data: bytes, _reply: str) -> None:
        body = json.loads(data)
        site = str(body.get("site", ""))
        mirror = self.mirrors.get(site)
        if mirror is None or self.leads(site):
            return
        if "today" in body:  # sent to the sockets with the next round of charts
            mirror.today[str(body["today"])] = body["m"]
            return
        epoch, seq, message = int(body["e"]), int(body["s"]), body["m"]
        full = bool(message.get("full"))
        if mirror.epoch == epoch and seq <= mirror.seq:
            return  # already in the picture the leader answered with
        if not full and (mirror.epoch != epoch or seq != mirror.seq + 1 or not mirror.whole):
            self.fetch_soon(site)  # missed something: start again from a whole picture
            return
        mirror.apply(message)
        mirror.epoch, mirror.seq = epoch, seq
        self._broadcast(message)

    async def stop(self) -> None:
        for task in self._fetching.values():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for site in list(self._services):
            undo = self._services.pop(site)
            await undo()
