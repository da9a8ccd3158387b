"""One PBX: the gateway's AMI link to it, and the calls of the agents whose lines are on it.

Every event the PBX sends is decoded once (``AmiClient.on_typed_event``) and
handed to the agents it concerns, need to know (``docs/cti.md``):

* ``Agent*`` events by the member interface (an agent's own ring, answer,
  completion), ``QueueMember*`` by interface *or* state interface;
* the channel events of calls offered to an agent, from their
  ``AgentCalled``: ``Hold``/``Unhold``/``Hangup`` of the caller's channel
  or the agent's own leg, ``DialEnd`` of the agent's leg, the caller's queue
  exits and the IVR results (``VarSet`` of the IVR variables, ``IvrResult``);
  until the agent's offer is dismissed, or ``LINGER`` seconds after the
  last channel of the call hung up;
* never other agents' events, DTMF, ``Newexten``, other ``VarSet``\\ s or
  raw ``UserEvent``\\ s; channel variables other than the IVR ones are
  dropped from every snapshot block.

IVR results usually arrive *before* the call rings anyone (the IVR runs
first); they are kept per call (bounded) and replayed to an agent right
before the offer, so the pop shows them as on a desktop with its own link.

Each agent's calls are followed with the desk's own
:class:`~agentdesk.services.desk.screen_pop.CallTracker`, fed exactly what
the agent is sent: it names the agent's leg of each call for call requests.
All of it runs on the server's event loop; nothing here blocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from agentdesk.config import ConfigError
from agentdesk.server.cti.config import PbxConfig
from agentdesk.services.desk.call_data import IVR_VARIABLES
from agentdesk.services.desk.call_requests import AgentLine
from agentdesk.services.desk.identity import (
    AgentIdentity,
    device_of_channel,
    normalise_interface,
)
from agentdesk.services.desk.pbx_actions import PbxAction
from agentdesk.services.desk.screen_pop import CallInfo, CallPhase, CallTracker, ChangeKind
from agentdesk.telephony.client import (
    ActionResult,
    AmiClient,
    Backoff,
    ConnectionState,
    NotConnectedError,
    ResyncSnapshot,
)
from agentdesk.telephony.event_json import to_json
from agentdesk.telephony.events import (
    AgentCalled,
    AgentConnect,
    AgentEvent,
    AmiEvent,
    ChannelInfo,
    ChannelState,
    CoreShowChannel,
    DialEnd,
    Hangup,
    Hold,
    IvrResult,
    MemberFields,
    Newchannel,
    QueueCallerAbandon,
    QueueCallerLeave,
    QueueCallerWithdraw,
    QueueMember,
    QueueMemberRemoved,
    QueueParams,
    Unhold,
    VarSet,
)

log = logging.getLogger(__name__)

LINGER = 60.0  # seconds a call's events still reach its agent after its last channel hung up
MAX_CALL_AGE = 12 * 3600.0  # a call followed longer than this is dropped (lost Hangups)
MAX_CALLS_PER_AGENT = 32
IVR_CALLS = 5000  # calls whose IVR results are kept for their offer
IVR_EVENTS_PER_CALL = 16
SWEEP = 5.0
ROWS_PER_CALL = 16  # channels of one call kept for the agent's resync
# Event names the gateway reads (fnmatch, as AmiClient.on_typed_event takes them).
PATTERNS = (
    "Agent*",
    "QueueMember*",
    "QueueCaller*",
    "Hold",
    "Unhold",
    "Hangup",
    "DialEnd",
    "VarSet",
    "UserEvent",
    "Newchannel",
)
LINK_STATES = {
    ConnectionState.CONNECTING: "reconnecting",
    ConnectionState.RECONNECTING: "reconnecting",
    ConnectionState.CONNECTED: "connected",
    ConnectionState.DISCONNECTED: "disconnected",
    ConnectionState.FAILED: "failed",
    ConnectionState.CLOSED: "disconnected",
}
_LIVE = (CallPhase.RINGING, CallPhase.CONNECTED, CallPhase.ON_HOLD)
_MEMBER_FIELDS = tuple(f.name for f in dataclasses.fields(MemberFields) if f.name != "timestamp")
# An interface as the gateway's indexes hold it (few distinct names: cached, bounded).
_norm = functools.lru_cache(maxsize=8192)(normalise_interface)


@dataclass(frozen=True)
class Outgoing:
    """One message for an agent's socket. An offer (``offer_number`` set) is preceded by
    the server's match of the caller, which the socket makes (it knows its client id)."""

    message: dict[str, Any]
    offer_number: str | None = None
    linkedid: str = ""


class Delivery(Protocol):
    """Where a gateway hands what it has for agents (the hub)."""

    def deliver(self, login: str, item: Outgoing) -> None: ...

    def link_changed(self, gateway: PbxGateway) -> None: ...

    def resynced(self, gateway: PbxGateway, reconnect: bool) -> None: ...


@dataclass
class _Window:
    """One call offered to one agent, while the agent may hear of it."""

    linkedid: str
    caller_uniqueid: str
    agent_channel: str
    opened: float
    live: set[str] = field(default_factory=set)  # uniqueids of its channels still up
    closes_at: float | None = None
    # Its channels still up as CoreShowChannels rows (from the PBX's resync, then from the
    # call's own events): what the agent's resync lists of this call.
    rows: dict[str, CoreShowChannel] = field(default_factory=dict)

    def saw(self, info: ChannelInfo) -> None:
        """Keep ``info`` (a channel of this call an event described) for the resync."""
        uid = info.uniqueid
        if not uid or info.linkedid != self.linkedid:
            return
        row = self.rows.get(uid)
        if row is None:
            if len(self.rows) < ROWS_PER_CALL:
                self.rows[uid] = CoreShowChannel(channel=info)
        elif row.channel != info:
            self.rows[uid] = dataclasses.replace(row, channel=info)


class _Agent:
    def __init__(self, login: str, line: AgentLine, aliases: frozenset[str] = frozenset()) -> None:
        self.login = login
        self.line = line
        self.identity = AgentIdentity.of(line.interface, line.state_interface, sorted(aliases))
        self.tracker = CallTracker(
            line.interface, line.member_name, state_interface=line.state_interface
        )
        self.windows: OrderedDict[str, _Window] = OrderedDict()


@dataclass(frozen=True)
class Snapshot:
    """What QueueStatus and CoreShowChannels said, decoded."""

    params: tuple[QueueParams, ...]
    members: tuple[QueueMember, ...]
    channels: tuple[CoreShowChannel, ...]

    @classmethod
    def of(cls, queue_rows: list[AmiEvent], channel_rows: list[AmiEvent]) -> Snapshot:
        return cls(
            tuple(r for r in queue_rows if isinstance(r, QueueParams)),
            tuple(r for r in queue_rows if isinstance(r, QueueMember)),
            tuple(r for r in channel_rows if isinstance(r, CoreShowChannel)),
        )


def _clean_channel(info: ChannelInfo) -> ChannelInfo:
    kept = tuple((k, v) for k, v in info.variables if k.lstrip("_") in IVR_VARIABLES)
    return info if kept == info.variables else dataclasses.replace(info, variables=kept)


def scrub(event: AmiEvent) -> AmiEvent:
    """``event`` with only the IVR channel variables left in its snapshot blocks."""
    changes: dict[str, ChannelInfo] = {}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, ChannelInfo):
            cleaned = _clean_channel(value)
            if cleaned is not value:
                changes[f.name] = cleaned
    return dataclasses.replace(event, **changes) if changes else event  # type: ignore[arg-type]


def event_message(event: AmiEvent) -> dict[str, Any]:
    return {"type": "event", "event": to_json(scrub(event))}


def _headers(action: PbxAction) -> dict[str, object]:
    """An action's headers for ``send_action`` (a repeated header becomes a list)."""
    headers: dict[str, object] = {}
    for key, value in action.headers:
        if key in headers:
            previous = headers[key]
            headers[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            headers[key] = value
    return headers


class PbxGateway:
    """The AMI link to one PBX and the per-agent call state built from its events."""

    def __init__(
        self, config: PbxConfig, sink: Delivery, *, backoff: Backoff | None = None
    ) -> None:
        self.config = config
        self.site = config.site
        self._sink = sink
        self._backoff = backoff
        self._client: AmiClient | None = None
        self.state = "disconnected"
        self.detail = "not started"
        self._lines: dict[str, AgentLine] = {}
        # Normalised interface, state interface or learnt alias -> login (from line.identity).
        self._by_interface: dict[str, str] = {}
        self._aliases: dict[str, set[str]] = {}  # login -> member interfaces learnt as theirs
        self._agents: dict[str, _Agent] = {}
        self._by_call: dict[str, set[str]] = {}  # linkedid -> logins with a window on it
        self._ivr: OrderedDict[str, list[AmiEvent]] = OrderedDict()
        self._members: set[str] = set()  # logins seen as queue members on this PBX
        # Queue member rows as the PBX's resync said, then as QueueMember* events changed
        # them, under each of their normalised interface and state interface:
        # name -> (queue, normalised interface) -> row.
        self._rows: dict[str, dict[tuple[str, str], QueueMember]] = {}
        self._queues: dict[str, None] = {}  # queue names (ordered)
        self._synced = False  # rows and calls resynced since the link last came up
        self._sweeper: asyncio.Task[None] | None = None
        self._stopping = False

    # ------------------------------------------------------------------ lifecycle
    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.connected

    @property
    def client(self) -> AmiClient | None:
        """This link's AMI client (None before :meth:`start`, or when the secret could not be
        read); the supervisors' floor (``server/cti/floor.py``) subscribes to it as well."""
        return self._client

    async def start(self) -> None:
        """Start connecting (returns at once); a secret that cannot be read fails the link."""
        try:
            secret = self.config.read_secret()
        except ConfigError as exc:
            log.error("PBX %s: %s", self.site, exc)
            self._set_link("failed", str(exc))
            return
        client = AmiClient(
            self.config.host,
            self.config.port,
            self.config.username,
            secret,
            auth=self.config.auth,
            backoff=self._backoff,
        )
        for pattern in PATTERNS:
            client.on_typed_event(self._on_event, pattern)
        client.on_state(self._on_state)
        client.on_resync(self._on_resync)
        self._client = client
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_loop())
        await client.start()

    async def stop(self, state: str = "disconnected", detail: str = "server stopping") -> None:
        """Log out and stop (``state``/``detail``: what the agents are told of the link; a
        server giving the link to another says it is moving). :meth:`start` may follow."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        if self._client is not None:
            self._stopping = True  # the client's own "closed" is not what the agents are told
            try:
                await self._client.close()
            finally:
                self._stopping = False
        self._synced = False
        self._set_link(state, detail)

    # ------------------------------------------------------------------ agents' lines
    def set_lines(self, lines: Mapping[str, AgentLine]) -> None:
        """Every active agent's line (from the ``agent`` table); changed lines start afresh."""
        for login in list(self._lines):
            if login not in lines:
                self._forget_agent(login)
        for login, line in lines.items():
            self.register(login, line)

    def register(self, login: str, line: AgentLine) -> None:
        """Know ``login``'s line (at once, e.g. when their desktop connects)."""
        old = self._lines.get(login)
        if old is not None and _same_line(old, line):
            self._lines[login] = line
            return
        if old is not None:
            self._forget_agent(login)
        self._lines[login] = line
        for key in line.identity.names:
            holder = self._by_interface.get(key)
            if holder is not None and holder != login:
                self._forget_agent(holder)
            self._by_interface[key] = login

    def _forget_agent(self, login: str) -> None:
        self._lines.pop(login, None)
        self._aliases.pop(login, None)
        agent = self._agents.pop(login, None)
        if agent is not None:
            for linkedid in list(agent.windows):
                self._by_call.get(linkedid, set()).discard(login)
        for key in [k for k, v in self._by_interface.items() if v == login]:
            del self._by_interface[key]
        self._members.discard(login)

    def _agent(self, login: str) -> _Agent | None:
        agent = self._agents.get(login)
        if agent is None:
            line = self._lines.get(login)
            if line is None:
                return None
            aliases = frozenset(self._aliases.get(login, ()))
            agent = self._agents[login] = _Agent(login, line, aliases)
        return agent

    def _login_for(self, interface: str, state_interface: str = "") -> str | None:
        """The agent whose identity (``AgentLine.identity``: interface, state interface, learnt
        aliases; normalised as ``AgentIdentity`` does) names either interface."""
        for name in (interface, state_interface):
            if name:
                login = self._by_interface.get(_norm(name))
                if login is not None:
                    return login
        return None

    def _learn_member(self, member: MemberFields) -> str | None:
        """The agent a member row or event is about (``identity.member_is_mine``, through the
        index); learns the member interface as an alias when the agent's line is the
        member's state interface (``AgentCalled`` names only the member interface)."""
        login = self._login_for(member.interface, member.state_interface)
        if login is None:
            return None
        self._members.add(login)
        key = _norm(member.interface)
        if key and key not in self._by_interface:
            self._by_interface[key] = login
            aliases = self._aliases.setdefault(login, set())
            aliases.add(key)
            agent = self._agents.get(login)
            if agent is not None:
                line = agent.line
                agent.identity = AgentIdentity.of(
                    line.interface, line.state_interface, sorted(aliases)
                )
        return login

    def _names_of(self, login: str) -> set[str]:
        line = self._lines.get(login)
        names = set(line.identity.names) if line is not None else set()
        names.update(self._aliases.get(login, ()))
        return names

    def line_of(self, login: str) -> AgentLine | None:
        return self._lines.get(login)

    def logins(self) -> list[str]:
        """Every agent whose line this gateway knows."""
        return list(self._lines)

    def serves(self, login: str) -> bool:
        """Whether ``login`` was seen as a queue member on this PBX."""
        return login in self._members

    # ------------------------------------------------------------------ member rows
    def _put_row(self, member: MemberFields) -> None:
        """Apply a member row or ``QueueMember*`` event to the rows kept for resyncs."""
        if not member.queue:
            return
        self._queues.setdefault(member.queue, None)
        interface = _norm(member.interface)
        key = (member.queue, interface)
        names = {interface, _norm(member.state_interface)}
        names.discard("")
        if isinstance(member, QueueMemberRemoved):
            for name in names:
                rows = self._rows.get(name)
                if rows is not None:
                    rows.pop(key, None)
                    if not rows:
                        del self._rows[name]
            return
        row = (
            member
            if type(member) is QueueMember
            else QueueMember(**{f: getattr(member, f) for f in _MEMBER_FIELDS})
        )
        for name in names:
            self._rows.setdefault(name, {})[key] = row

    # ------------------------------------------------------------------ link state
    def _set_link(self, state: str, detail: str | None) -> None:
        text = detail or ""
        if state == self.state and text == self.detail:
            return
        self.state, self.detail = state, text
        self._sink.link_changed(self)

    def _on_state(self, state: ConnectionState, detail: str | None) -> None:
        if state is ConnectionState.CONNECTED or self._stopping:
            return  # announced by _on_resync, which runs first, with the resync after it
        self._synced = False
        self._set_link(LINK_STATES[state], detail)

    def _on_resync(self, snapshot: ResyncSnapshot) -> None:
        """The one ``QueueStatus`` + ``CoreShowChannels`` of a (re)login: the state every
        socket's resync is built from until the next one (events keep it current)."""
        snap = Snapshot.of(snapshot.queue_events(), list(snapshot.channel_events()))
        self._keep(snap)
        now = time.time()
        by_call: dict[str, dict[str, CoreShowChannel]] = {}
        by_name: dict[str, CoreShowChannel] = {}
        for row in snap.channels:
            if row.uniqueid:
                by_call.setdefault(row.linkedid, {})[row.uniqueid] = row
            by_name[row.channel.channel] = row
        # A call connected to an agent that the gateway has no window for (the server
        # started mid-call): open one, so the tracker adopts it and its events flow.
        for row in snap.channels:
            if not row.linkedid or row.channel.state is not ChannelState.UP:
                continue
            login = self._login_for(device_of_channel(row.channel.channel))
            owner = self._agent(login) if login is not None else None
            if owner is not None and row.linkedid not in owner.windows:
                self._open_window(owner, row.linkedid, row.linkedid, row.channel.channel, now)
        for agent in list(self._agents.values()):
            # Only the rows that can concern the agent's calls (their channels, their legs
            # by name): reconcile looks at every row it is given, for every agent.
            relevant: dict[int, CoreShowChannel] = {}
            for linkedid in agent.windows:
                for row in by_call.get(linkedid, {}).values():
                    relevant[id(row)] = row
                call = agent.tracker.get(linkedid)
                if call is not None:
                    for leg in (call.agent_channel, *call.agent_legs):
                        named = by_name.get(leg) if leg else None
                        if named is not None:
                            relevant[id(named)] = named
            for change in agent.tracker.reconcile(list(relevant.values()), now):
                if change.kind is ChangeKind.DISMISSED:
                    self._close(agent, change.call.linkedid)
            for window in list(agent.windows.values()):
                rows = by_call.get(window.linkedid, {})
                window.live = set(rows)
                window.rows = dict(list(rows.items())[:ROWS_PER_CALL])
                if not window.live and window.closes_at is None:
                    window.closes_at = now + LINGER
        self._synced = True
        banner = self._client.banner if self._client is not None else None
        self._set_link("connected", banner or "")
        self._sink.resynced(self, snapshot.reconnect)

    def _keep(self, snap: Snapshot) -> None:
        self._rows = {}
        self._queues = {p.queue: None for p in snap.params if p.queue}
        for member in snap.members:
            self._learn_member(member)
            self._put_row(member)

    # ------------------------------------------------------------------ resync messages
    @property
    def synced(self) -> bool:
        """Whether the link is up and its state was resynced (a socket's resync can be built)."""
        return self._synced and self.connected

    def resync_message(self, login: str, reconnect: bool) -> dict[str, Any] | None:
        """``login``'s ``resync`` from the state the gateway keeps (no AMI action): their
        member rows, the queue names, the channels of their live calls. None before the
        link's first resync."""
        if not self._synced:
            return None
        queue: list[dict[str, Any]] = [to_json(QueueParams(queue=q)) for q in self._queues]
        mine: dict[tuple[str, str], QueueMember] = {}
        for name in self._names_of(login):
            rows = self._rows.get(name)
            if rows:
                mine.update(rows)
        queue += [to_json(mine[k]) for k in sorted(mine)]
        channels: list[dict[str, Any]] = []
        now = time.time()
        agent = self._agents.get(login)
        if agent is not None:
            for linkedid, window in agent.windows.items():
                call = agent.tracker.get(linkedid)
                if call is None or call.phase not in _LIVE:
                    continue
                legs = {call.agent_channel, *call.agent_legs} - {None}
                for row in window.rows.values():
                    name = row.channel.channel
                    if (
                        row.uniqueid == call.uniqueid
                        or name in legs
                        or agent.identity.owns_channel(name)
                    ):
                        channels.append(to_json(scrub(_with_call_times(row, call, now))))
        return {"type": "resync", "reconnect": reconnect, "queue": queue, "channels": channels}

    def correct(self, login: str) -> None:
        """Send ``login``'s socket a fresh ``resync`` marked ``corrects``: the desk asked about
        a call this gateway does not hold for it, so it missed that call's end (events are
        not replayed across a relay gap) and would show the call for good."""
        message = self.resync_message(login, reconnect=False)
        if message is not None:
            message["corrects"] = True
            self._sink.deliver(login, Outgoing(message))

    def link_message(self) -> dict[str, Any]:
        return {"type": "link", "state": self.state, "detail": self.detail}

    # ------------------------------------------------------------------ requests
    def agent_channel(self, login: str, linkedid: str) -> str | None:
        """The agent's leg of the call ``linkedid``, if it is one of their live calls."""
        agent = self._agents.get(login)
        if agent is None or linkedid not in agent.windows:
            return None
        call = agent.tracker.get(linkedid)
        if call is None or call.phase not in _LIVE:
            return None
        return call.agent_channel

    def owns_call(self, login: str, linkedid: str) -> bool:
        agent = self._agents.get(login)
        if agent is None or linkedid not in agent.windows:
            return False
        call = agent.tracker.get(linkedid)
        return call is not None and call.phase in _LIVE

    async def send(self, action: PbxAction) -> ActionResult:
        """Send ``action``; :class:`NotConnectedError` while the link is down."""
        client = self._client
        if client is None or not client.connected:
            raise NotConnectedError(f"the AMI link to {self.site} is down")
        return await client.send_action(action.name, _headers(action))

    # ------------------------------------------------------------------ events
    def _on_event(self, event: AmiEvent) -> None:
        now = time.time()
        if isinstance(event, AgentEvent):
            self._agent_event(event, now)
        elif isinstance(event, MemberFields):
            login = self._learn_member(event)
            self._put_row(event)
            if login is not None:
                self._sink.deliver(login, Outgoing(event_message(event)))
        elif isinstance(event, Newchannel):
            for _agent, window in self._windows(event.linkedid):
                window.live.add(event.uniqueid)
                window.saw(event.channel)
        elif isinstance(event, (Hold, Unhold, Hangup)):
            hangup = isinstance(event, Hangup)
            for agent, window in self._windows(event.linkedid):
                if not hangup:
                    window.saw(event.channel)
                if event.uniqueid == window.caller_uniqueid or _agents_leg(
                    agent, window, event.channel.channel
                ):
                    self._send(agent, event, now)
            if isinstance(event, Hangup):
                self._hung_up(event, now)
        elif isinstance(event, DialEnd):
            for agent, window in self._windows(event.linkedid):
                window.saw(event.channel)
                window.saw(event.dest)
                if _agents_leg(agent, window, event.dest.channel):
                    self._send(agent, event, now)
        elif isinstance(event, (QueueCallerAbandon, QueueCallerLeave, QueueCallerWithdraw)):
            for agent, _window in self._windows(event.linkedid):
                self._send(agent, event, now)
        elif isinstance(event, IvrResult) or (
            type(event) is VarSet and event.bare_variable in IVR_VARIABLES
        ):
            self._remember_ivr(event)
            for agent, _window in self._windows(event.linkedid):
                self._send(agent, event, now)

    def _agent_event(self, event: AgentEvent, now: float) -> None:
        login = self._login_for(event.interface)
        agent = self._agent(login) if login is not None else None
        if agent is None or not event.linkedid:
            return
        window = agent.windows.get(event.linkedid)
        if isinstance(event, AgentCalled):
            replay: list[AmiEvent] = []
            if window is None:
                window = self._open_window(
                    agent,
                    event.linkedid,
                    event.channel.uniqueid or event.linkedid,
                    event.dest.channel,
                    now,
                )
                replay = list(self._ivr.get(event.linkedid, ()))
            window.agent_channel = event.dest.channel or window.agent_channel
            window.live.update(u for u in (event.channel.uniqueid, event.dest.uniqueid) if u)
            window.saw(event.channel)
            window.saw(event.dest)
            window.closes_at = None
            for earlier in replay:
                self._send(agent, earlier, now)
            self._sink.deliver(
                agent.login,
                Outgoing(
                    event_message(event),
                    offer_number=event.channel.number,
                    linkedid=event.linkedid,
                ),
            )
            self._track(agent, event, now)
            return
        if window is None and isinstance(event, AgentConnect):
            # Answered, but its offer came before this gateway was listening: the tracker
            # adopts the call, and the window lets its later events reach the agent.
            window = self._open_window(
                agent,
                event.linkedid,
                event.channel.uniqueid or event.linkedid,
                event.dest.channel,
                now,
            )
            window.live.update(u for u in (event.channel.uniqueid, event.dest.uniqueid) if u)
            window.saw(event.channel)
            window.saw(event.dest)
        if window is not None and event.dest.channel:
            window.agent_channel = event.dest.channel
            if event.dest.uniqueid:
                window.live.add(event.dest.uniqueid)
        self._send(agent, event, now)

    def _open_window(
        self, agent: _Agent, linkedid: str, caller_uniqueid: str, channel: str, now: float
    ) -> _Window:
        window = _Window(linkedid, caller_uniqueid, channel, now)
        agent.windows[linkedid] = window
        self._by_call.setdefault(linkedid, set()).add(agent.login)
        self._trim(agent)
        return window

    def _windows(self, linkedid: str) -> Iterator[tuple[_Agent, _Window]]:
        for login in list(self._by_call.get(linkedid, ())):
            agent = self._agents.get(login)
            window = agent.windows.get(linkedid) if agent is not None else None
            if agent is not None and window is not None:
                yield agent, window

    def _send(self, agent: _Agent, event: AmiEvent, now: float) -> None:
        self._sink.deliver(agent.login, Outgoing(event_message(event)))
        self._track(agent, event, now)

    def _track(self, agent: _Agent, event: AmiEvent, now: float) -> None:
        if isinstance(event, AgentEvent) and event.interface != agent.line.interface:
            # Matched by an alias (the line is the member's state interface).
            event = dataclasses.replace(event, interface=agent.line.interface)
        for change in agent.tracker.handle(event, now):
            if change.kind is ChangeKind.DISMISSED:
                # Not this agent's call after all (not answered, caller gone, sent elsewhere).
                self._close(agent, change.call.linkedid)

    def _hung_up(self, event: Hangup, now: float) -> None:
        for _agent, window in self._windows(event.linkedid):
            window.live.discard(event.uniqueid)
            window.rows.pop(event.uniqueid, None)
            if not window.live and window.closes_at is None:
                window.closes_at = now + LINGER
        if event.uniqueid == event.linkedid:
            self._ivr.pop(event.linkedid, None)

    def _remember_ivr(self, event: IvrResult | VarSet) -> None:
        linkedid = event.linkedid
        if not linkedid:
            return
        kept = self._ivr.get(linkedid)
        if kept is None:
            kept = self._ivr[linkedid] = []
            while len(self._ivr) > IVR_CALLS:
                self._ivr.popitem(last=False)
        else:
            self._ivr.move_to_end(linkedid)
        if len(kept) < IVR_EVENTS_PER_CALL:
            kept.append(event)

    def _close(self, agent: _Agent, linkedid: str) -> None:
        agent.windows.pop(linkedid, None)
        agent.tracker.forget(linkedid)
        holders = self._by_call.get(linkedid)
        if holders is not None:
            holders.discard(agent.login)
            if not holders:
                del self._by_call[linkedid]

    def _trim(self, agent: _Agent) -> None:
        while len(agent.windows) > MAX_CALLS_PER_AGENT:
            oldest = next(iter(agent.windows))
            self._close(agent, oldest)

    def sweep(self, now: float) -> None:
        """Forget calls past their linger time (or followed implausibly long)."""
        for agent in list(self._agents.values()):
            for window in list(agent.windows.values()):
                if (window.closes_at is not None and window.closes_at <= now) or (
                    now - window.opened > MAX_CALL_AGE
                ):
                    self._close(agent, window.linkedid)

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(SWEEP)
            try:
                self.sweep(time.time())
            except Exception:
                log.exception("PBX %s: sweeping finished calls failed", self.site)


def _with_call_times(row: CoreShowChannel, call: CallInfo, now: float) -> CoreShowChannel:
    """``row`` as ``CoreShowChannels`` would list it now: the queue the caller waits in and
    each channel's age, from what the gateway followed (rows kept from the call's events
    carry neither), so a desktop that adopts the call shows its queue and talk time."""
    if row.uniqueid == call.uniqueid:
        started = call.queued_at or call.offered_at
        application = row.application or ("Queue" if call.queue else "")
        data = row.application_data or (call.queue or "")
    else:
        started = call.connected_at or call.offered_at
        application, data = row.application, row.application_data
    age = row.duration_s if row.duration_s is not None else max(int(now - started), 0)
    if (application, data, age) == (row.application, row.application_data, row.duration_s):
        return row
    return dataclasses.replace(row, application=application, application_data=data, duration_s=age)


def _agents_leg(agent: _Agent, window: _Window, channel: str) -> bool:
    """Whether ``channel`` (in this call) is the agent's: the leg the queue rang, or a
    channel of one of the agent's devices (``identity.owns_channel``: ``PJSIP/1001-0000002a``
    for ``PJSIP/1001``, the phone of a Local member with that state interface)."""
    if not channel:
        return False
    if channel == window.agent_channel:
        return True
    return agent.identity.owns_channel(channel)


def _same_line(old: AgentLine, new: AgentLine) -> bool:
    """Whether two lines name the same member (interface and state interface)."""
    return _norm(old.interface) == _norm(new.interface) and _norm(old.state_interface) == _norm(
        new.state_interface
    )
