"""The supervisor's floor from the server: ``/api/v1/cti/floor`` in, agent requests out.

The server computes the floor once per PBX (``docs/cti.md``); the desktop
keeps the last picture in a :class:`FloorModel` (a ``floor`` message
replaces it, ``update`` messages change the rows they name) and turns it into
the wallboard's :class:`~agentdesk.services.supervisor.views.BoardSnapshot`.
:class:`ServerFloorFeed` holds the socket on its own loop thread and
reconnects with backoff; a reconnect starts again from a full ``floor``.
:class:`FloorActions` is the supervisor service's PBX sender: a pause,
unpause, queue add or remove becomes a request for the agent's line
(``POST /api/v1/cti/agents/{login}/requests``), checked by the server.

A message that does not decode is logged without its content (it names
callers) and skipped whole.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import TypeAdapter, ValidationError

from agentdesk.client.api import ServerApi, ServerRefused, ServerUnavailable, SessionEnded
from agentdesk.client.server_socket import ServerSocket
from agentdesk.services.desk.call_requests import (
    REQUEST,
    RESULT,
    CallRequest,
    CallResult,
    JoinQueue,
    LeaveQueue,
    Pause,
)
from agentdesk.services.supervisor.history import IntervalPoint, IntervalSeries
from agentdesk.services.supervisor.queue_metrics import MetricsRow
from agentdesk.services.supervisor.reports import Interval
from agentdesk.services.supervisor.views import AgentRow, BoardSnapshot, QueueRow
from agentdesk.store.sync.backoff import Backoff
from agentdesk.store.sync.protocol import SyncError
from agentdesk.telephony.loop_thread import LoopThread

log = logging.getLogger(__name__)

_QUEUE = TypeAdapter(QueueRow)
_AGENT = TypeAdapter(AgentRow)
_WINDOW = TypeAdapter(MetricsRow)
_SERIES = TypeAdapter(IntervalSeries)

CLOSE_SESSION_ENDED = 4401
CLOSE_NOT_A_SUPERVISOR = 4403
_FINAL_CLOSES = {
    CLOSE_SESSION_ENDED: "your session at the server has ended: sign in again",
    CLOSE_NOT_A_SUPERVISOR: "the server shows the floor to supervisors and administrators only",
}


class BadMessage(ValueError):
    """A floor message this build cannot use; ``str()`` holds no message content."""


@dataclass
class _Site:
    link: dict[str, str]
    definition: str = ""
    queues: dict[str, QueueRow] = field(default_factory=dict)
    agents: dict[str, AgentRow] = field(default_factory=dict)
    logins: dict[str, str] = field(default_factory=dict)  # agent key -> login
    windows: dict[str, MetricsRow] = field(default_factory=dict)
    today: IntervalSeries | None = None


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise BadMessage(f"{what} is not text")
    return value


def _link(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise BadMessage("link is not an object")
    return {
        "state": _text(value.get("state"), "link.state"),
        "detail": str(value.get("detail", "")),
    }


def _rows(adapter: TypeAdapter[Any], rows: object, what: str) -> list[Any]:
    if not isinstance(rows, list):
        raise BadMessage(f"{what} is not a list")
    try:
        return [adapter.validate_python(row) for row in rows]
    except ValidationError as exc:
        # Never the error text: pydantic quotes the input (callers' numbers).
        raise BadMessage(f"{what}: {exc.error_count()} field(s) wrong") from None


def _logins(rows: object) -> dict[str, str]:
    found: dict[str, str] = {}
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict) and isinstance(row.get("interface"), str):
            found[row["interface"].lower()] = str(row.get("login") or "")
    return found


def _windows(value: object) -> dict[str, MetricsRow]:
    if not isinstance(value, dict):
        raise BadMessage("windows is not an object")
    try:
        return {str(k): _WINDOW.validate_python(v) for k, v in value.items()}
    except ValidationError as exc:
        raise BadMessage(f"windows: {exc.error_count()} field(s) wrong") from None


class FloorModel:
    """The floor as the server last described it, site by site (one thread uses it)."""

    def __init__(self) -> None:
        self.sites: dict[str, _Site] = {}
        self.detail = ""  # why there are no sites (the server has no PBX)
        self.online = False  # the socket to the server is open
        self.offline_detail = "connecting to the server"

    # ------------------------------------------------------------------ messages in
    def apply(self, text: str | bytes) -> str:
        """Apply one server message; returns its type. :class:`BadMessage` leaves the model
        as it was (an update is checked whole before it changes anything)."""
        try:
            message = json.loads(text)
        except (ValueError, UnicodeDecodeError):
            raise BadMessage(f"not JSON ({len(text)} bytes)") from None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise BadMessage("not an object with a type")
        kind: str = message["type"]
        if kind == "floor":
            sites = message.get("sites")
            if not isinstance(sites, list):
                raise BadMessage("floor: no sites")
            fresh = {}
            for body in sites:
                site = self._site(body)
                fresh[_text(body.get("site"), "site")] = site
            self.sites = fresh
            self.detail = str(message.get("detail", ""))
        elif kind == "update":
            self._update(message)
        elif kind == "today":
            known = self.sites.get(_text(message.get("site"), "site"))
            try:
                series = _SERIES.validate_python(message.get("series"))
            except ValidationError as exc:
                raise BadMessage(f"today: {exc.error_count()} field(s) wrong") from None
            if known is not None:
                known.today = series
        return kind

    @staticmethod
    def _site(body: object) -> _Site:
        if not isinstance(body, dict):
            raise BadMessage("a site is not an object")
        return _Site(
            link=_link(body.get("link")),
            definition=str(body.get("definition", "")),
            queues={q.name: q for q in _rows(_QUEUE, body.get("queues"), "queues")},
            agents={a.key: a for a in _rows(_AGENT, body.get("agents"), "agents")},
            logins=_logins(body.get("agents")),
            windows=_windows(body.get("windows", {})),
        )

    def _update(self, message: dict[str, Any]) -> None:
        name = _text(message.get("site"), "site")
        if message.get("full"):
            site = self._site(message)
            old = self.sites.get(name)
            site.today = old.today if old is not None else None
            self.sites[name] = site
            return
        found = self.sites.get(name)
        if found is None:
            raise BadMessage("update for a site the floor did not name")
        site = found
        link = _link(message["link"]) if "link" in message else None
        queues = _rows(_QUEUE, message.get("queues", []), "queues")
        agents = _rows(_AGENT, message.get("agents", []), "agents")
        windows = _windows(message["windows"]) if "windows" in message else None
        gone_q, gone_a = message.get("queues_gone", []), message.get("agents_gone", [])
        if not isinstance(gone_q, list) or not isinstance(gone_a, list):
            raise BadMessage("update: gone rows not a list")
        if link is not None:
            site.link = link
        for key in gone_q:
            site.queues.pop(str(key), None)
        for key in gone_a:
            site.agents.pop(str(key), None)
            site.logins.pop(str(key), None)
        site.queues.update((q.name, q) for q in queues)
        site.agents.update((a.key, a) for a in agents)
        site.logins.update(_logins(message.get("agents", [])))
        if windows is not None:
            site.windows = windows

    # ------------------------------------------------------------------ views out
    def link(self) -> tuple[bool, str]:
        """(up, detail): up while the socket is open and every site's PBX link is connected."""
        if not self.online:
            return False, self.offline_detail
        if not self.sites:
            return False, self.detail or "the server reports no PBX"
        up = all(s.link["state"] == "connected" for s in self.sites.values())
        if len(self.sites) == 1:
            site = next(iter(self.sites.values()))
            return up, site.link["detail"] or site.link["state"]
        parts = []
        for name, site in sorted(self.sites.items()):
            detail = site.link["detail"]
            state = site.link["state"]
            parts.append(f"{name}: {state}" + (f" ({detail})" if detail else ""))
        return up, "; ".join(parts)

    def board(self, now: float) -> BoardSnapshot:
        """Every site's rows in one board (alerts are the desktop's; none here)."""
        queues = sorted(
            (q for s in self.sites.values() for q in s.queues.values()), key=lambda q: q.name
        )
        agents = sorted(
            (a for s in self.sites.values() for a in s.agents.values()),
            key=lambda a: (a.name.lower(), a.interface),
        )
        definition = next((s.definition for s in self.sites.values() if s.definition), "")
        up, detail = self.link()
        return BoardSnapshot(now, tuple(queues), tuple(agents), (), definition, up, detail)

    def windows(self) -> dict[str, MetricsRow]:
        """The alert window's figures per queue (for the service-level alert)."""
        found: dict[str, MetricsRow] = {}
        for site in self.sites.values():
            found.update(site.windows)
        return found

    def login_for(self, interface: str) -> str:
        """The login of the agent on ``interface`` ("" when the server named none)."""
        key = interface.strip().lower()
        for site in self.sites.values():
            login = site.logins.get(key)
            if login:
                return login
        return ""

    def today(self) -> IntervalSeries | None:
        """Today's intervals: the site's, or every site's summed (rates weighted by calls)."""
        found = [s.today for s in self.sites.values() if s.today is not None]
        if len(found) <= 1:
            return found[0] if found else None
        return merge_series(found)


def merge_series(series: list[IntervalSeries]) -> IntervalSeries:
    """Several sites' series of one day as one: counts summed; service level weighted by
    calls offered and handle time by calls answered (exact per site, weighted across)."""
    by_start: dict[dt.datetime, list[IntervalPoint]] = {}
    for one in series:
        for point in one.points:
            by_start.setdefault(point.start, []).append(point)
    points = []
    for start in sorted(by_start):
        group = by_start[start]
        offered = sum(p.offered for p in group)
        answered = sum(p.answered for p in group)
        sl_weight = sum(p.offered for p in group if p.service_level is not None)
        aht_weight = sum(p.answered for p in group if p.aht_s is not None)
        staffed = [p.staffed for p in group if p.staffed is not None]
        points.append(
            IntervalPoint(
                start,
                offered,
                answered,
                sum(p.abandoned for p in group),
                sum(p.service_level * p.offered for p in group if p.service_level is not None)
                / sl_weight
                if sl_weight
                else None,
                sum(p.aht_s * p.answered for p in group if p.aht_s is not None) / aht_weight
                if aht_weight
                else None,
                sum(staffed) if staffed else None,
            )
        )
    first = series[0]
    return IntervalSeries(first.day, first.queue, first.interval, tuple(points))


# ---------------------------------------------------------------------- requests
@dataclass(frozen=True)
class FloorActionResult:
    """What the server answered to a supervisor action (``ActionResultLike``)."""

    ok: bool
    message: str


def request_for(action: str, headers: Mapping[str, object]) -> CallRequest:
    """The agent request for a supervisor's AMI-shaped action (``pbx_actions``' names);
    ValueError for anything else (the server acts on another agent's line for these only)."""

    def text(key: str) -> str:
        return str(headers.get(key) or "")

    queue = text("Queue") or None
    if action == "QueuePause":
        paused = text("Paused").lower() in ("true", "1", "yes")
        return Pause(paused=paused, reason=text("Reason") if paused else "", queue=queue)
    if action == "QueueAdd" and queue:
        return JoinQueue(queue=queue, paused=text("Paused").lower() in ("true", "1", "yes"))
    if action == "QueueRemove" and queue:
        return LeaveQueue(queue=queue)
    raise ValueError(f"supervisors cannot send {action} through the server")


class FloorActions:
    """The supervisor service's PBX sender through the server (never an AMI login)."""

    def __init__(self, api: ServerApi, login_for: Callable[[str], str]) -> None:
        self.api = api
        self._login_for = login_for

    async def send_action(
        self, action: str, headers: Mapping[str, object] | None = None, /
    ) -> FloorActionResult:
        headers = headers or {}
        interface = str(headers.get("Interface") or "")
        login = self._login_for(interface)
        if not login:
            return FloorActionResult(False, f"no agent signs in on {interface or 'that line'}")
        try:
            request = request_for(action, headers)
        except ValueError as exc:
            return FloorActionResult(False, str(exc))
        result = await asyncio.to_thread(self._post, login, request)
        return FloorActionResult(result.ok, result.message or ("done" if result.ok else ""))

    def _post(self, login: str, request: CallRequest) -> CallResult:
        path = f"/cti/agents/{login}/requests"
        try:
            data = self.api.request("POST", path, json=REQUEST.dump_python(request, mode="json"))
            return RESULT.validate_python(data)
        except SessionEnded:
            return CallResult(False, "your session at the server has ended; sign in again")
        except ServerUnavailable as exc:
            return CallResult(False, f"the server cannot reach the PBX now ({_sentence(exc)})")
        except ServerRefused as exc:
            return CallResult(False, f"refused: {_sentence(exc)}")
        except SyncError as exc:
            return CallResult(False, _sentence(exc))
        except (ValidationError, ValueError, TypeError):
            return CallResult(False, "the server's answer could not be read; check the agent")


def _sentence(exc: BaseException) -> str:
    return str(exc).strip().rstrip(".") or type(exc).__name__


# ---------------------------------------------------------------------- the socket
class FloorSink(Protocol):
    """Where the feed delivers, on its own loop thread, in order of arrival."""

    def on_floor(self, kind: str) -> None:
        """The model changed (``floor``, ``update`` or ``today``) or the socket's state did
        (``link``)."""
        ...


class ServerFloorFeed(ServerSocket["FloorSink"]):
    """The floor socket: reconnects with backoff; a drop says so at once (``link``)."""

    name = "floor feed"
    final_closes = _FINAL_CLOSES
    closed_text = "the server closed the floor"
    max_size = 16 * 1024 * 1024

    def __init__(
        self,
        api: ServerApi,
        *,
        loop: LoopThread | None = None,
        interval: Interval = Interval.MIN30,
        backoff: Backoff | None = None,
        silence: float = 65.0,
        open_timeout: float = 5.0,
        session_poll: float = 1.0,
    ) -> None:
        super().__init__(
            api,
            loop or LoopThread("agentdesk-floor"),
            backoff=backoff,
            silence=silence,
            open_timeout=open_timeout,
            session_poll=session_poll,
        )
        self.model = FloorModel()
        self.interval = interval
        self.messages = 0

    @property
    def url(self) -> str:
        return f"{self.ws_base()}/api/v1/cti/floor?interval={self.interval.value}"

    def actions(self) -> FloorActions:
        return FloorActions(self.api, self.model.login_for)

    def stop(self, timeout: float = 3.0, *, stop_loop: bool = False) -> None:
        """Stop the socket; the loop thread stays unless asked (the wallboard may share it)."""
        super().stop(timeout, stop_loop=stop_loop)

    def _lost(self, detail: str, ever_open: bool, sink: FloorSink) -> None:
        self._offline(f"lost the server ({detail})", sink)

    def _ended(self, final: str, sink: FloorSink) -> None:
        self._offline(final, sink)

    def _offline(self, detail: str, sink: FloorSink) -> None:
        self.model.online = False
        self.model.offline_detail = detail
        sink.on_floor("link")

    def _message(self, text: str | bytes, arrived: float, sink: FloorSink) -> None:
        try:
            kind = self.model.apply(text)
        except BadMessage as exc:
            log.warning("floor feed: a malformed message skipped (%s)", exc)
            return
        self.messages += 1
        if kind == "floor" and not self.model.online:
            self.model.online = True
        if kind in ("floor", "update", "today"):
            sink.on_floor(kind)


__all__ = [
    "BadMessage",
    "FloorActionResult",
    "FloorActions",
    "FloorModel",
    "FloorSink",
    "ServerFloorFeed",
    "merge_series",
    "request_for",
]
