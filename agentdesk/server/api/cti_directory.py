"""``GET /api/v1/cti/directory``: who and where a signed-in agent can transfer a call to.

Issue 14 item 6: the transfer dialog lists colleagues with their presence and
queues with their figures, searchable by typing. Any signed-in role may ask
(401 without a live session). The figures are the supervisors' floor as this
instance holds it (``FloorHub.pictures()``: computed here, or mirrored from the
instance that holds a site's PBX link), read without a socket and without a
second AMI login.

Least privilege: an agent is told names, extensions, presence (and a pause's
reason label) and per-queue counts. Never a caller's number, a call's queue,
time in state, calls handled or anything about customers; the floor rows
carry those for supervisors and are not copied here.

::

    {"site": "london",                      # the asking agent's own PBX (null: none)
     "sites": [{"site": "london", "link": "connected"}],
     "detail": "",                          # why the list is empty, in words, or ""
     "agents": [{"login": "bob", "name": "Bob Agent", "extension": "1002",
                 "site": "london", "presence": "paused", "reason": "Team meeting"}],
     "queues": [{"name": "sales", "label": "Sales", "site": "london", "code": "2100",
                 "waiting": 2, "available": 1}]}

``presence`` is one of :data:`PRESENCES` (``unknown`` when the server computes
no floor). A queue's ``code`` is the transfer code from the site's ``[[pbx]]
queue_transfers`` ("" when none is set: the queue is shown with its figures but
cannot be a transfer target). An agentdesk agent with no extension is left out
(nothing to dial), and so is the asking agent. Queue members the PBX reports
with no agentdesk login are listed with the PBX's member name and presence,
with ``login`` "" and ``extension`` "" unless their phone is ``PJSIP/<digits>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from agentdesk.server.auth import CurrentPrincipal
from agentdesk.server.context import ServerContext
from agentdesk.server.cti.floor import FloorHub
from agentdesk.server.cti.hub import CtiHub
from agentdesk.services.desk.call_requests import AgentLine
from agentdesk.services.labels import plain_words, shipped_labels
from agentdesk.services.supervisor.views import AgentStatus

router = APIRouter(tags=["cti"])

Presence = Literal["available", "on_call", "paused", "wrap_up", "logged_off", "unknown"]
PRESENCES: tuple[Presence, ...] = (
    "available", "on_call", "paused", "wrap_up", "logged_off", "unknown",
)  # fmt: skip
ACW_REASON = "ACW"  # the desktop's after-call-work pause (resources/reason_codes.toml [acw])

_PRESENCE: dict[AgentStatus, Presence] = {
    AgentStatus.AVAILABLE: "available",
    AgentStatus.RINGING: "on_call",  # being offered a call: not free to take another
    AgentStatus.ON_CALL: "on_call",
    AgentStatus.ON_HOLD: "on_call",
    AgentStatus.WRAP_UP: "wrap_up",
    AgentStatus.PAUSED: "paused",
    AgentStatus.LOGGED_OUT: "logged_off",
    AgentStatus.UNAVAILABLE: "logged_off",  # the phone is not registered
}


def presence_of(row: Mapping[str, Any]) -> tuple[Presence, str]:
    """A floor agent row's presence and, when paused, the reason as agents read it."""
    try:
        status = AgentStatus(str(row.get("status", "")))
    except ValueError:
        return "logged_off", ""
    presence = _PRESENCE[status]
    reason = str(row.get("reason") or "")
    if presence == "paused" and reason == ACW_REASON:
        return "wrap_up", ""
    if presence != "paused":
        return presence, ""
    return presence, shipped_labels().label("not_ready", reason) if reason else ""


def _extension_of(interface: str) -> str:
    """``PJSIP/1005`` → ``1005``: a member's phone named by its number is dialled by it;
    any other interface (``PJSIP/agent-7``, ``Local/…``) gives no number ("")."""
    tech, _, endpoint = interface.partition("/")
    if tech.upper() in ("PJSIP", "SIP") and endpoint.isdigit():
        return endpoint
    return ""


def _site_of(hub: CtiHub, login: str, line: AgentLine) -> str | None:
    gateway = hub.home(login, line)
    return gateway.site if gateway is not None else None


def build_directory(
    hub: CtiHub,
    pictures: Mapping[str, Mapping[str, Any]],
    lines: Mapping[str, AgentLine],
    asking: str,
) -> dict[str, Any]:
    """The directory for ``asking`` from the floor ``pictures`` and the agents' ``lines``."""
    home_line = lines.get(asking)
    home = _site_of(hub, asking, home_line) if home_line is not None else None
    seen: dict[str, tuple[Presence, str]] = {}
    members: list[dict[str, Any]] = []  # queue members with no agentdesk login
    for site, picture in pictures.items():
        for row in picture.get("agents", ()):
            login = str(row.get("login") or "")
            if login and seen.get(login, ("logged_off", ""))[0] == "logged_off":
                seen[login] = presence_of(row)
            elif not login:
                presence, reason = presence_of(row)
                members.append({
                    "login": "", "name": str(row.get("name") or row.get("interface") or ""),
                    "extension": _extension_of(str(row.get("interface") or "")),
                    "site": site, "presence": presence, "reason": reason,
                })  # fmt: skip
    # Not on any floor: not a member of any queue (logged off), unless no floor is computed.
    absent: tuple[Presence, str] = ("logged_off", "") if pictures else ("unknown", "")
    agents = []
    for login, line in lines.items():
        if login == asking or not line.extension:
            continue
        presence, reason = seen.get(login, absent)
        agents.append({
            "login": login, "name": line.member_name, "extension": line.extension,
            "site": _site_of(hub, login, line), "presence": presence, "reason": reason,
        })  # fmt: skip
    agents.extend(members)
    queues = []
    for site, picture in pictures.items():
        gateway = hub.gateways.get(site)
        codes = dict(gateway.config.queue_transfers) if gateway is not None else {}
        for row in picture.get("queues", ()):
            name = str(row.get("name", ""))
            queues.append({
                "name": name, "label": plain_words(name), "site": site,
                "code": codes.get(name, ""),
                "waiting": int(row.get("waiting") or 0),
                "available": int(row.get("available") or 0),
            })  # fmt: skip
    sites = [
        {"site": site, "link": str((picture.get("link") or {}).get("state", ""))}
        for site, picture in pictures.items()
    ]
    return {"site": home, "sites": sites, "detail": "", "agents": agents, "queues": queues}


@router.get("/cti/directory")
async def transfer_directory(principal: CurrentPrincipal, request: Request) -> dict[str, Any]:
    """Colleagues with presence and queues with waiting/available counts, for a transfer."""
    ctx: ServerContext = request.app.state.context
    hub = ctx.cti
    floor: FloorHub | None = getattr(request.app.state, "cti_floor", None)
    if hub is None or not hub.gateways:
        return {"site": None, "sites": [], "agents": [], "queues": [],
                "detail": "The server has no PBX configured."}  # fmt: skip
    lines = await run_in_threadpool(hub.directory.lines)
    if floor is None:
        directory = build_directory(hub, {}, lines, principal.login)
        directory["detail"] = "Presence and queue figures are off on this server."
        return directory
    await floor.ready()  # just after a start: the PBX's lists first (bounded wait)
    return build_directory(hub, floor.pictures(), lines, principal.login)
