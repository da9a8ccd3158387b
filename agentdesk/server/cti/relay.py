"""Several server instances, one AMI link per PBX: the CTI hub's side of the bus.

With ``[bus]`` set, every instance runs a :class:`~agentdesk.server.cti.hub.CtiHub`
with a gateway object per PBX, but only the instance holding the PBX's lease
(``Bus.lease("pbx:<site>")``) starts it and logs in to the AMI. Its gateway
hands what it has for agents to this relay instead of to local sockets:

* each agent's messages go out on ``agentdesk.cti.<site>.agent.<login>``,
  stamped with the leader's epoch (its lease revision) and a per-agent
  sequence number;
* the link state goes out on ``agentdesk.cti.<site>.link``; after each AMI
  resync every agent of the PBX is sent their ``resync``.

Every instance subscribes, for each desktop connected to it, to that agent's
subject, then asks the leader (``agentdesk.cti.<site>.hello``) for the link
state and the agent's resync, answered with the epoch and sequence number it
was built at. Messages that arrive before the answer are held, and those the
answer already covers (same epoch, sequence not newer) are dropped: a desktop
gets its state once and every later event once, whichever instance it is on
and in whatever order NATS dispatches its subscriptions. A new leader starts
a new epoch and sends everyone a resync first.

Call requests from a desktop on another instance go to the leader
(``agentdesk.cti.<site>.perform``), which checks them against its own call
state as it would for a local one. A desktop signing in on one instance
closes the same agent's older socket on any other (``agentdesk.cti.replace``).

If the leader dies, its lease expires (``[bus] lease_ttl``); the first
instance to take it logs in, resyncs and the desktops see their calls again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from agentdesk.server.bus import Bus, BusDown, Lease, Undo, token
from agentdesk.server.cti.balance import HOLD_OFF_PERIODS, surplus
from agentdesk.server.cti.gateway import Outgoing, PbxGateway
from agentdesk.services.desk.call_requests import REQUEST, CallRequest, CallResult
from agentdesk.services.desk.pbx_actions import ActionInputError
from agentdesk.store.sync.backoff import Backoff
from agentdesk.telephony.client import ActionTimeoutError

if TYPE_CHECKING:
    from agentdesk.server.cti.hub import CtiHub, Subscription

log = logging.getLogger(__name__)

PREFIX = "agentdesk.cti"
MOVING = "The PBX link is moving to another server; your calls come back in a moment."
NO_LEADER = "Waiting for the server that holds the link to the PBX ({site})."
PUBLISH_BATCH = 256  # messages sent per turn of the publishing task before it yields
HELLO_RETRY_CAP = 3.0  # seconds: the longest wait between two unanswered hellos
CLAIM_STAGGER = 0.5  # seconds of waiting per PBX link already held before claiming another
HELLO_ATTEMPTS = 20_000  # ~16 h of asking at the cap before the socket is closed
HELD_MAX = 2_000  # messages held for one socket while its hello is unanswered
STALE_MAX = 200  # messages in a row from an older epoch before it is taken as a restart


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class _Follow:
    """What one local socket has had from the bus: held messages until the leader's hello
    answer, then the epoch and sequence number of the last message delivered."""

    def __init__(self, site: str, sub: Subscription | None = None) -> None:
        self.site = site
        self.sub = sub
        self.answered = False
        self.held: list[dict[str, Any]] = []
        self.epoch: int | None = None
        self.seq = 0
        self.asking = False  # a hello to the leader is under way
        self.stale = 0  # messages in a row from an older epoch (a deposed leader)


class CtiRelay:
    """Leases, publishing and following for one :class:`CtiHub` (see module docstring)."""

    def __init__(self, hub: CtiHub, bus: Bus) -> None:
        self.hub = hub
        self.bus = bus
        self.leases: dict[str, Lease] = {}  # site -> this instance's claim on its link
        self.leading: dict[str, int] = {}  # site -> epoch (lease revision when taken)
        self.links: dict[str, dict[str, Any]] = {}  # site -> last link state heard
        self._seq: dict[tuple[str, str], int] = {}  # (site, login) -> last sequence sent
        self._outbox: deque[tuple[str, bytes]] = deque()
        self._wake = asyncio.Event()
        self._follows: dict[int, _Follow] = {}  # id(sub) -> its state
        self._agent_subs: dict[str, Undo] = {}  # login -> undo
        self._services: dict[str, list[Undo]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._changes: dict[str, asyncio.Task[None]] = {}  # site -> its lead / step-down
        self._handed: dict[str, float] = {}  # site -> monotonic time it may be claimed again
        self._nudge = asyncio.Event()
        self._bus_was_down = False
        self.instance_id = uuid.uuid4().hex

    @staticmethod
    def _waiting_link(site: str) -> dict[str, Any]:
        return {"type": "link", "state": "reconnecting", "detail": NO_LEADER.format(site=site)}

    # ------------------------------------------------------------------ lifecycle
    def sink(self, site: str) -> _SiteSink:
        """What the gateway of ``site`` delivers to (instead of the hub's local sockets)."""
        return _SiteSink(self, site)

    async def start(self) -> None:
        for site in self.hub.gateways:
            self.leases[site] = self.bus.lease(f"pbx:{site}")
            self.links[site] = self._waiting_link(site)
        await self.bus.start()
        self.bus.on_state(self._bus_state)
        await self.bus.subscribe(f"{PREFIX}.*.link", self._on_link)
        await self.bus.subscribe(f"{PREFIX}.replace.*", self._on_replace)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._publisher()),
            loop.create_task(self._leases()),
            loop.create_task(self._balance()),
        ]

    async def stop(self) -> None:
        for task in [*self._tasks, *self._changes.values()]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for site in list(self.leading):
            await self._step_down(site, "server stopping")
            await self.leases[site].release()
        await self._flush()
        await self.bus.stop()

    def _bus_state(self, up: bool) -> None:
        self._nudge.set()
        if not up:
            self._bus_was_down = True
        elif self._bus_was_down:
            self._bus_was_down = False
            self.rehello_all()

    def rehello_all(self) -> None:
        """NATS came back: every local socket asks the leader for its state again.

        Messages published while NATS was away are gone, and a gap is otherwise seen only
        when the agent's next message arrives, which may never come: a desktop that missed
        the AgentConnect of its ringing call waits for the answer while the caller talks
        to nobody. The hellos are spread over up to two seconds (thousands of desktops)."""
        loop = asyncio.get_running_loop()
        follows = [f for f in self._follows.values() if f.sub is not None]
        spread = min(2.0, len(follows) / 500)
        for follow in follows:
            follow.answered, follow.held = False, []
            loop.call_later(random.uniform(0, spread), self._rehello, follow)

    def _rehello(self, follow: _Follow) -> None:
        sub = follow.sub
        if sub is not None and self._follows.get(id(sub)) is follow:
            asyncio.get_running_loop().create_task(self._hello(sub, follow.site))

    def leads(self, site: str) -> bool:
        return site in self.leading

    def status(self) -> dict[str, dict[str, str]]:
        """Each PBX link as this instance knows it, for ``/ready``."""
        out: dict[str, dict[str, str]] = {}
        for site, gateway in self.hub.gateways.items():
            lease = self.leases.get(site)
            if lease is None:
                out[site] = {"state": gateway.state, "detail": gateway.detail, "leader": ""}
            elif site in self.leading:
                out[site] = {"state": gateway.state, "detail": gateway.detail,
                             "leader": self.bus.instance}  # fmt: skip
            else:
                link = self.links[site]
                out[site] = {"state": str(link["state"]), "detail": str(link["detail"]),
                             "leader": lease.holder}  # fmt: skip
        return out

    # ------------------------------------------------------------------ leadership
    async def _leases(self) -> None:
        """Each PBX's lease renewed on its own: a slow takeover of one site (its AMI login,
        the lines read from the database) must not hold up the renewal of the others. With
        one loop for all four sites, one site's start under load made the next sites' leases
        lapse, and the leases flapped between the instances."""
        await asyncio.gather(*(self._keep(site, lease) for site, lease in self.leases.items()))

    async def _keep(self, site: str, lease: Lease) -> None:
        period = self.bus.settings.renew_every
        while True:
            if self._handed.get(site, 0.0) > time.monotonic():
                # To be handed over (``_balance``), then left to the others for a while.
                # Done from this loop, so no renewal of the lease can cross its release.
                change = self._changes.get(site)
                if site in self.leading and (change is None or change.done()):
                    self._change(site, self._hand_over(site))
                await asyncio.sleep(period)
                continue
            if lease.revision is None:
                await self._claim_turn()
            try:
                held = await lease.acquire()
            except Exception:
                log.exception("lease of PBX %s: renewal failed", site)
                held = lease.held
            change = self._changes.get(site)
            if change is None or change.done():
                # Taking the link up or giving it up runs beside the renewals; while one is
                # under way the next turn looks again.
                if held and site not in self.leading:
                    self._change(site, self._lead(site, lease.revision or 0))
                elif not held and site in self.leading:
                    self._change(site, self._step_down(site, MOVING))
                elif held:
                    # Said again every period: an instance that started (or reconnected to
                    # NATS) since the last change learns the link's state within one period.
                    self.link_changed(self.hub.gateways[site])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._nudge.wait(), period)
            self._nudge.clear()

    async def _claim_turn(self) -> None:
        """Wait before claiming a link nobody may hold: ``CLAIM_STAGGER`` seconds for each
        link this instance already holds (re-read as it waits), plus a jitter. Instances
        that start together share the PBX links instead of the first one taking them all
        (at 2,000 desktops the instance holding all four links used 75 % of a core, the
        other 19 %); a lone instance still takes every link, a little later each."""
        jitter = random.uniform(0, CLAIM_STAGGER)
        start = time.monotonic()
        while True:
            held = sum(1 for lease in self.leases.values() if lease.held)
            wait = CLAIM_STAGGER * held + jitter - (time.monotonic() - start)
            if wait <= 0:
                return
            await asyncio.sleep(min(wait, 0.1))

    async def _balance(self) -> None:
        """Hand a link over while this instance holds more than its share (``balance.py``)."""
        period = self.bus.settings.renew_every
        last: frozenset[str] | None = None
        while True:
            await asyncio.sleep(period)
            try:
                present = await self.bus.present()
            except Exception:
                log.exception("CTI relay: cannot tell which servers are up")
                present = None
            steady, last = present is not None and present == last, present
            if not steady or present is None:
                continue  # NATS away, or an instance came or went: look again next period
            now = time.monotonic()
            if any(until > now for until in self._handed.values()):
                continue  # one link at a time
            held = [site for site in self.leading if self.leases[site].held]
            site = surplus(held, len(self.leases), len(present))
            if site is not None:
                log.info("PBX %s: handing the link over (%d links here, %d servers up)",
                         site, len(held), len(present))  # fmt: skip
                self._handed[site] = now + HOLD_OFF_PERIODS * period

    async def _hand_over(self, site: str) -> None:
        await self._step_down(site, MOVING)
        await self.leases[site].release()

    def _change(self, site: str, work: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await work
            except asyncio.CancelledError:
                raise
            except Exception:
                # Half taken up: give it up cleanly; the next turn of the lease tries again.
                log.exception("PBX %s: taking the link up or giving it up failed", site)
                with contextlib.suppress(Exception):
                    await self._step_down(site, MOVING)

        self._changes[site] = asyncio.get_running_loop().create_task(run())

    async def _lead(self, site: str, epoch: int) -> None:
        log.info("PBX %s: this server (%s) takes the AMI link", site, self.bus.instance)
        self.leading[site] = epoch
        # A new epoch numbers every agent's messages from 1 again (followers expect it).
        for key in [k for k in self._seq if k[0] == site]:
            del self._seq[key]
        prefix = f"{PREFIX}.{token(site)}"
        self._services[site] = [
            await self.bus.subscribe(f"{prefix}.hello", self._hello_handler(site)),
            await self.bus.serve(f"{prefix}.perform", self._perform_service(site)),
        ]
        await self.hub.refresh_lines()
        await self.hub.gateways[site].start()

    async def _step_down(self, site: str, why: str) -> None:
        log.warning("PBX %s: this server (%s) gives the AMI link up: %s", site,
                    self.bus.instance, why)  # fmt: skip
        for undo in self._services.pop(site, []):
            await undo()
        self.leading.pop(site, None)
        # The gateway tells this instance's sockets and the others the link is moving.
        await self.hub.gateways[site].stop(state="reconnecting", detail=why)
        self.leases[site].holder = ""

    # ------------------------------------------------------------------ leader: out
    def _send(self, subject: str, data: bytes) -> None:
        self._outbox.append((subject, data))
        self._wake.set()

    async def _publisher(self) -> None:
        """Sends the outbox in order (one task: the order of publishes is the order sent)."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._flush()

    async def _flush(self) -> None:
        sent = 0
        while self._outbox:
            subject, data = self._outbox.popleft()
            await self.bus.publish(subject, data)
            sent += 1
            if sent % PUBLISH_BATCH == 0:
                await asyncio.sleep(0)

    def _stamp(self, site: str, login: str) -> tuple[int, int]:
        key = (site, login)
        seq = self._seq.get(key, 0) + 1
        self._seq[key] = seq
        return self.leading.get(site, 0), seq

    def _to_agent(self, site: str, login: str, item: Outgoing) -> None:
        epoch, seq = self._stamp(site, login)
        body = {"e": epoch, "s": seq, "m": item.message}
        if item.offer_number is not None:
            body["n"] = item.offer_number
            body["l"] = item.linkedid
        self._send(f"{PREFIX}.{token(site)}.agent.{token(login)}", _dumps(body))

    # Delivery (through _SiteSink, the leading gateway's sink)
    def link_changed(self, gateway: PbxGateway) -> None:
        message = gateway.link_message()
        site = gateway.site
        self._send(f"{PREFIX}.{token(site)}.link", _dumps({"site": site,
                   "leader": self.bus.instance, "m": message}))  # fmt: skip
        if message != self.links.get(site):  # this instance's own sockets
            self.links[site] = message
            self.hub.to_site(site, message)

    def resynced(self, gateway: PbxGateway, reconnect: bool) -> None:
        for login in gateway.logins():
            message = gateway.resync_message(login, reconnect)
            if message is not None:
                self._to_agent(gateway.site, login, Outgoing(message))

    def _hello_handler(self, site: str) -> Callable[[str, bytes, str], None]:
        def hello(_subject: str, data: bytes, reply: str) -> None:
            try:
                login = str(json.loads(data)["login"])
            except (ValueError, KeyError, TypeError):
                return
            gateway = self.hub.gateways[site]
            resync = gateway.resync_message(login, False) if gateway.synced else None
            answer = {
                "e": self.leading.get(site, 0),
                "s": self._seq.get((site, login), 0),
                "link": gateway.link_message(),
                "resync": resync,
            }
            if reply:
                self._send(reply, _dumps(answer))

        return hello

    def _perform_service(self, site: str) -> Callable[[bytes], Awaitable[bytes]]:
        async def perform(data: bytes) -> bytes:
            try:
                body = json.loads(data)
                login = str(body["login"])
                request: CallRequest = REQUEST.validate_python(body["request"])
            except (ValueError, KeyError, TypeError) as exc:
                return _dumps({"error": "input", "message": f"not a call request ({exc})"})
            try:
                result = await self.hub.perform_here(site, login, request)
            except ActionInputError as exc:
                return _dumps({"error": "input", "message": str(exc)})
            except ActionTimeoutError:
                return _dumps({"error": "timeout", "message": ""})
            except Exception as exc:  # the hub's own refusals, by class name
                return _dumps({"error": type(exc).__name__, "message": str(exc)})
            return _dumps({"ok": result.ok, "message": result.message})

        return perform

    # ------------------------------------------------------------------ follower: in
    async def forward(self, site: str, login: str, request: CallRequest) -> CallResult:
        """Carry ``request`` out on the instance that holds ``site``'s link."""
        from agentdesk.server.cti import hub as hub_mod

        payload = {"login": login, "request": REQUEST.dump_python(request, mode="json")}
        try:
            # The PBX's own answer may take its action timeout (10 s): wait a little longer.
            wait = max(self.bus.settings.request_timeout, 12.0)
            raw = await self.bus.request(f"{PREFIX}.{token(site)}.perform", _dumps(payload), wait)
        except BusDown as exc:
            raise hub_mod.LinkDown(
                f"The link to the PBX ({site}) is moving to another server; try again shortly."
            ) from exc
        answer = json.loads(raw)
        error = answer.get("error")
        if error is None:
            return CallResult(bool(answer["ok"]), str(answer.get("message", "")))
        message = str(answer.get("message", ""))
        kinds: dict[str, type[Exception]] = {
            "NotYourCall": hub_mod.NotYourCall,
            "NoPbx": hub_mod.NoPbx,
            "LinkDown": hub_mod.LinkDown,
            "input": ActionInputError,
        }
        if error == "timeout":
            raise ActionTimeoutError("the PBX did not answer in time")
        raise kinds.get(error, hub_mod.LinkDown)(message or "The PBX link failed.")

    def attach(self, sub: Subscription, site: str) -> None:
        """Follow ``sub``'s agent on the bus and ask the leader for its state."""
        self._follows[id(sub)] = _Follow(site, sub)
        self._send(f"{PREFIX}.replace.{token(sub.login)}",
                   _dumps({"instance": self.instance_id, "login": sub.login}))  # fmt: skip
        asyncio.get_running_loop().create_task(self._hello(sub, site))

    def detach(self, sub: Subscription) -> None:
        self._follows.pop(id(sub), None)
        if self.hub.socket_of(sub.login) is None:
            undo = self._agent_subs.pop(sub.login, None)
            if undo is not None:
                asyncio.get_running_loop().create_task(undo())

    async def _hello(self, sub: Subscription, site: str) -> None:
        """Ask the leader for the link and ``sub``'s state until it answers or the socket ends.

        Without the answer the desktop has no resync: its calls, pause and queues would stay
        as they were, and messages missed before a re-hello would be gone for good. So an
        unanswered hello (no leader yet, the leader busy past ``request_timeout``, NATS away)
        is asked again, with a growing jittered delay, while what arrives meanwhile is held.
        """
        follow = self._follows.get(id(sub))
        if follow is None or follow.asking:
            return  # one hello at a time per socket; the one running covers this gap too
        follow.asking = True
        try:
            await self._ask_until_answered(sub, site, follow)
        finally:
            follow.asking = False

    async def _ask_until_answered(self, sub: Subscription, site: str, follow: _Follow) -> None:
        login = sub.login
        if login not in self._agent_subs:
            subject = f"{PREFIX}.{token(site)}.agent.{token(login)}"
            self._agent_subs[login] = await self.bus.subscribe(
                subject, lambda _s, data, _r: self._on_agent(login, data)
            )
        backoff = Backoff(0.25, HELLO_RETRY_CAP)
        told_waiting = False
        for _attempt in range(HELLO_ATTEMPTS):
            if self._follows.get(id(sub)) is not follow or sub.ended.is_set():
                return
            try:
                raw = await self.bus.request(
                    f"{PREFIX}.{token(site)}.hello", _dumps({"login": login})
                )
            except BusDown:
                if not told_waiting:  # the link as last heard, once: the desktop shows it
                    sub.put(Outgoing(self.links[site]))
                    told_waiting = True
                await asyncio.sleep(backoff.next_delay())
                continue
            if self._follows.get(id(sub)) is not follow or sub.ended.is_set():
                return
            answer = json.loads(raw)
            follow.epoch, follow.seq = int(answer["e"]), int(answer["s"])
            sub.put(Outgoing(answer["link"]))
            if answer.get("resync") is not None:
                sub.put(Outgoing(answer["resync"]))
            follow.answered = True
            held, follow.held = follow.held, []
            for body in held:
                self._pass(sub, follow, body)
            return
        from agentdesk.server.cti.hub import OVERFLOW  # "try again later": it reconnects

        log.warning("CTI relay: no answer to a desktop's hello for %s; closing it", site)
        sub.end(OVERFLOW, "the server holding the PBX link does not answer; reconnect")

    def _on_agent(self, login: str, data: bytes) -> None:
        sub = self.hub.socket_of(login)
        if sub is None:
            return
        follow = self._follows.get(id(sub))
        if follow is None:
            return
        body = json.loads(data)
        if not follow.answered:
            if len(follow.held) >= HELD_MAX:
                # The answer's resync will cover them; a gap after it asks again.
                follow.held.clear()
            follow.held.append(body)
        else:
            self._pass(sub, follow, body)

    def _pass(self, sub: Subscription, follow: _Follow, body: dict[str, Any]) -> None:
        epoch, seq = int(body["e"]), int(body["s"])
        if follow.epoch is not None and epoch < follow.epoch:
            # From a leader that lost the lease and has not noticed yet (epochs are lease
            # revisions and only grow): fenced off, or the desktop would see its calls twice.
            follow.stale += 1
            if follow.stale <= STALE_MAX:
                return
            # This many in a row: the epochs went back (NATS lost its files); start again.
            log.warning("CTI relay: leader epochs went back for %s; resyncing a desktop",
                        follow.site)  # fmt: skip
            follow.epoch = None
        follow.stale = 0
        if epoch == follow.epoch and seq <= follow.seq:
            return  # already in the state the leader answered with
        if seq != (follow.seq + 1 if epoch == follow.epoch else 1):
            # Missed messages (NATS reconnected, or a leader we never heard start): ask the
            # leader for the state again; what arrives meanwhile is held as at first.
            log.info("CTI relay: %d message(s) missed for a desktop; resyncing it",
                     seq - follow.seq - 1 if epoch == follow.epoch else seq - 1)  # fmt: skip
            follow.answered = False
            follow.held = [body]
            asyncio.get_running_loop().create_task(self._hello(sub, follow.site))
            return
        follow.epoch, follow.seq = epoch, seq
        sub.put(Outgoing(body["m"], body.get("n"), str(body.get("l", ""))))

    def _on_link(self, _subject: str, data: bytes, _reply: str) -> None:
        body = json.loads(data)
        site = str(body.get("site", ""))
        if site not in self.links or body.get("leader") == self.bus.instance:
            return  # not a site of ours, or our own (link_changed told our sockets)
        self.leases[site].holder = str(body.get("leader", ""))
        if body["m"] == self.links[site]:
            return  # the leader's periodic repeat
        self.links[site] = body["m"]
        self.hub.to_site(site, body["m"])

    def _on_replace(self, _subject: str, data: bytes, _reply: str) -> None:
        body = json.loads(data)
        if body.get("instance") == self.instance_id:
            return
        self.hub.replaced_elsewhere(str(body.get("login", "")))


class _SiteSink:
    """One gateway's :class:`~agentdesk.server.cti.gateway.Delivery`: onto the bus."""

    def __init__(self, relay: CtiRelay, site: str) -> None:
        self.relay = relay
        self.site = site

    def deliver(self, login: str, item: Outgoing) -> None:
        self.relay._to_agent(self.site, login, item)

    def link_changed(self, gateway: PbxGateway) -> None:
        self.relay.link_changed(gateway)

    def resynced(self, gateway: PbxGateway, reconnect: bool) -> None:
        self.relay.resynced(gateway, reconnect)
