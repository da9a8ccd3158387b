"""The PBX simulator: an Asterisk-20-like AMI server with IVR, ACD queues and traffic.

Embed it in-process::

    sim = PbxSimulator(load_config(), seed=1, time_scale=10, port=0)
    await sim.start()                 # on the running loop; sim.port is the bound port
    placed = sim.place_call("+447700900001", intent="card_lost", agent="PJSIP/agent-1001")
    ...
    await sim.stop()

or run it standalone with ``agentdesk pbx``. Without a loop, :meth:`run_for`
advances simulated time as fast as the CPU allows (benchmarks, statistics).
All state changes happen in scheduler steps on one thread; call the public
methods from the loop the simulator was started on.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from pathlib import Path

from agentdesk.telephony.codec import AmiMessage
from agentdesk.telephony.server import AmiServer
from agentdesk.telephony.sim.acd import Acd
from agentdesk.telephony.sim.agents import VirtualFloor
from agentdesk.telephony.sim.calls import CallControl
from agentdesk.telephony.sim.clock import Scheduler
from agentdesk.telephony.sim.config import PbxConfig, resource_dir
from agentdesk.telephony.sim.events import EventWriter
from agentdesk.telephony.sim.ivr import CallerScript, IvrResult, IvrRun
from agentdesk.telephony.sim.ivr_flow import IvrFlow, load_flows
from agentdesk.telephony.sim.model import RING, UP, Channel, Ids
from agentdesk.telephony.sim.queue_log import QueueLog
from agentdesk.telephony.sim.state import Call
from agentdesk.telephony.sim.traffic import (
    Caller,
    CallerMix,
    CallerPool,
    StaticCallerPool,
    next_arrival,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PlacedCall:
    """Identifiers of a call started with :meth:`PbxSimulator.place_call`."""

    uniqueid: str
    linkedid: str
    channel: str
    session_id: str


@dataclass(frozen=True, slots=True)
class SimStats:
    offered: int
    self_service: int
    callbacks: int
    events: int
    queue_log_lines: int
    sim_seconds: float


class PbxSimulator:
    """Composition of scheduler, event writer, ACD, virtual floor, IVR, traffic and AMI server."""

    def __init__(
        self,
        config: PbxConfig,
        *,
        seed: int = 0,
        time_scale: float = 1.0,
        caller_pool: CallerPool | None = None,
        queue_log: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        epoch: float | None = None,
        virtual_agents: int | None = None,
        traffic: bool = True,
        overload: bool = False,
        flows: Mapping[str, IvrFlow] | None = None,
        auth_fail_delay: float = 1.0,
        events: bool = True,
        system_name: str = "",
    ) -> None:
        self.config = config
        self.rng = random.Random(seed)
        self.sched = Scheduler(epoch=time.time() if epoch is None else epoch, time_scale=time_scale)
        self.ids = Ids(seed, system_name)
        self.writer = EventWriter(
            config.channelvars, jitter=config.jitter, rng=random.Random(seed + 1)
        )
        self.writer.enabled = events
        self.sched.post_step = self.writer.flush
        self.qlog = QueueLog(queue_log)
        self.acd = Acd(config.queues, self.sched, self.writer, self.qlog, self.ids, self.rng)
        self.control = CallControl(
            self.acd, transfer_context=config.transfer_context, on_transferred=self._on_transferred
        )
        self.floor = VirtualFloor(
            self.acd,
            self.control,
            config.agents.behaviour,
            self.rng,
            list(config.transfer_targets) or ["2000"],
            on_connected_hook=self._on_connected,
        )
        self.acd.listener = self.floor
        self.flows = (
            dict(flows)
            if flows is not None
            else load_flows(config.flows_dir or resource_dir() / "ivr")
        )
        self.callers = CallerMix(
            caller_pool or StaticCallerPool.demo(),
            config.traffic.p_unknown,
            config.traffic.p_withheld,
            config.traffic.p_foreign,
        )
        self.ivr_results: dict[str, IvrResult] = {}
        self.calls: dict[str, Call] = {}  # by caller Uniqueid, while live
        self.traffic_on = traffic
        self.overload = overload
        self._offered = self._self_service = self._callbacks = 0
        self._warned: set[str] = set()
        if not config.queues:
            raise ValueError("the simulator needs at least one queue")
        self.server = AmiServer(
            config.users,
            host=host,
            port=port,
            auth_fail_delay=auth_fail_delay,
            clock=self.sched.epoch,
        )
        self.writer.add_sink(self.server.publish)
        from agentdesk.telephony.sim.actions import SimActions  # actions need the whole sim

        self.actions = SimActions(self)
        self._staff(config.agents.count if virtual_agents is None else virtual_agents)
        self.qlog.write(self.sched.epoch(), "NONE", "NONE", "NONE", "QUEUESTART", "")
        if traffic:
            self._schedule_arrival()
        self.sched.run_until(0.0)

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Start the AMI server and the real-time clock on the running loop."""
        await self.server.start()
        self.sched.attach(asyncio.get_running_loop())

    async def stop(self) -> None:
        self.sched.detach()
        await self.server.stop()
        self.qlog.flush()

    @property
    def port(self) -> int:
        return self.server.port

    def close(self) -> None:
        self.qlog.close()

    def run_for(self, seconds: float) -> None:
        """Advance simulated time by ``seconds`` synchronously (no loop needed)."""
        self.sched.run_until(self.sched.now + seconds)

    def add_sink(self, sink: Callable[[AmiMessage, str], None]) -> Callable[[], None]:
        """Also deliver every event (message, class) to ``sink``; returns a remover."""
        return self.writer.add_sink(sink)

    def stats(self) -> SimStats:
        return SimStats(
            self._offered,
            self._self_service,
            self._callbacks,
            self.writer.emitted,
            self.qlog.lines_written,
            self.sched.now,
        )

    def set_overload(self, on: bool) -> None:
        """Multiply arrivals by the configured overload factor from the next arrival on."""
        self.overload = on

    # ------------------------------------------------------------------ agents
    def _staff(self, count: int) -> None:
        groups = self.config.agents.groups
        total = sum(g.share for g in groups) or 1.0
        ext = self.config.agents.first_extension
        for i in range(count):
            # Spread groups by share deterministically: agent i goes to the group whose
            # cumulative share first exceeds (i + 0.5) / count.
            x, acc, group = (i + 0.5) / count * total, 0.0, groups[-1]
            for g in groups:
                acc += g.share
                if x < acc:
                    group = g
                    break
            phone = f"PJSIP/agent-{ext + i}"
            interface = phone
            if self.config.agents.local_members:
                interface = f"Local/{ext + i}@{self.config.agents.local_context}/n"
            for queue, penalty in group.skills.items():
                self.acd.add_member(
                    queue,
                    interface,
                    f"Agent {ext + i}",
                    penalty=penalty,
                    virtual=True,
                    membership="static",
                    log_it=False,
                    state_interface=phone,
                )
            dev = self.acd.device(interface)
            if dev is not None:
                self.floor.start_shift(dev)

    def add_agent(
        self,
        interface: str,
        name: str,
        queues: Mapping[str, int],
        *,
        paused: bool = False,
        state_interface: str = "",
    ) -> None:
        """Add a real (desktop) agent: its phone rings and is answered via AMI.

        ``interface`` may be a ``Local/<exten>@<context>[/n]`` member with
        ``state_interface`` naming its phone (``PJSIP/1001``): the queue then rings
        the Local channel and the phone's own channel carries hold and hang-up.
        """
        for queue, penalty in queues.items():
            self.acd.add_member(
                queue,
                interface,
                name,
                penalty=penalty,
                paused=paused,
                reason="Login" if paused else "",
                virtual=False,
                state_interface=state_interface,
            )
        self.sched.run_until(self.sched.now)

    # ------------------------------------------------------------------ calls
    def place_call(
        self,
        number: str,
        *,
        name: str | None = None,
        intent: str | None = None,
        language: str | None = None,
        idv: str | None = None,
        queue: str | None = None,
        agent: str | None = None,
        flow: str | None = None,
        handle_time: float | None = None,
        patience: float = 3600.0,
        account: str | None = None,
        self_service: bool = False,
    ) -> PlacedCall:
        """Start one scripted call now. With ``queue`` the IVR is skipped; otherwise the
        IVR flow runs with the given intent/language/idv choices. ``agent`` restricts
        ringing to that interface (a desktop test's own phone); ``self_service`` makes the
        caller finish in a self-service branch of the IVR if the intent has one."""
        caller = Caller(
            number=number,
            name=name,
            account=account or "12345678",
            dob="1980-01-01",
            pin="0000",
            kind="scripted",
        )
        script = CallerScript(
            intent=intent, language=language, idv=idv or "passed", self_service=self_service
        )
        if queue is not None and queue not in self.acd.queues:
            raise ValueError(f"no such queue: {queue!r}")
        call = self._new_call(caller, handle_time, patience)
        call.scripted_agent = agent
        session_id = self.ids.uuid()
        self.sched.after(0.0, self._begin, call, flow, queue, script, session_id)
        self.sched.run_until(self.sched.now)
        return PlacedCall(call.chan.uniqueid, call.chan.linkedid, call.chan.name, session_id)

    def _new_call(self, caller: Caller, handle_time: float | None, patience: float) -> Call:
        epoch = self.sched.epoch()
        uid = self.ids.uniqueid(epoch)
        flow = self.flows.get(self.config.traffic.flow or "")
        chan = Channel(
            self.ids.channel_name(self.config.carrier_endpoint),
            uid,
            uid,
            RING,
            caller.number,
            caller.name or "",
            flow.context if flow else "from-carrier",
            flow.did if flow else "s",
            self.sched.now,
        )
        t = self.config.traffic
        call = Call(
            caller,
            chan,
            handle_time if handle_time is not None else t.handle.sample(self.rng),
            patience,
        )
        self.calls[uid] = call
        self._offered += 1
        return call

    def _begin(
        self,
        call: Call,
        flow_name: str | None,
        queue: str | None,
        script: CallerScript | None,
        session_id: str,
    ) -> None:
        self.writer.newchannel(call.chan)
        flow = self.flows.get(flow_name or self.config.traffic.flow or "")
        if queue is not None or flow is None:
            self.writer.newexten(call.chan, "Answer", "")
            call.chan.state = UP
            self.writer.newstate(call.chan)
            if script is not None and (script.intent or script.language):
                for var, value in (
                    ("__IVR_SESSION", session_id),
                    ("__IVR_INTENT", script.intent or ""),
                    ("__IVR_LANGUAGE", script.language or "en"),
                ):
                    call.chan.set_var(var, value)
                    self.writer.varset(call.chan, var, value)
            self.acd.join(call, queue or self.config.traffic.queue or next(iter(self.acd.queues)))
            return
        call.chan.context, call.chan.exten = flow.context, flow.did
        run = IvrRun(
            flow,
            call.chan,
            call.caller,
            session_id,
            self.writer,
            self.rng,
            script=script,
            estimate_wait=self._estimate_wait,
            secure_dtmf_events=self.config.secure_dtmf_events,
        )
        self._step_ivr(call, run, run.steps())

    def _step_ivr(self, call: Call, run: IvrRun, steps: Generator[float, None, IvrResult]) -> None:
        if call.state == "ended":  # hung up from AMI while in the IVR
            steps.close()
            return
        try:
            delay = next(steps)
        except StopIteration as stop:
            self._ivr_done(call, stop.value)
            return
        self.sched.after(delay, self._step_ivr, call, run, steps)

    def _ivr_done(self, call: Call, result: IvrResult) -> None:
        self.ivr_results[result.session_id] = result
        call.intent, call.language, call.session_id = (
            result.intent,
            result.language,
            result.session_id,
        )
        if result.outcome == "queue":
            self.acd.join(call, self._known_queue(result.queue))
            return
        if result.outcome == "callback":
            self._callbacks += 1
        else:
            self._self_service += 1
        self.writer.hangup(call.chan)
        call.state = "ended"
        self.calls.pop(call.chan.uniqueid, None)

    def _known_queue(self, queue: str) -> str:
        if queue in self.acd.queues:
            return queue
        fallback = next(iter(self.acd.queues))
        if queue not in self._warned:
            self._warned.add(queue)
            log.warning("IVR routed to unknown queue %r; using %r instead", queue, fallback)
        return fallback

    def _estimate_wait(self, queue: str) -> float:
        q = self.acd.queues.get(queue)
        if q is None:
            return 0.0
        staffed = sum(1 for m in q.members.values() if not m.paused) or 1
        return len(q.entries) * self.config.traffic.handle.mean / staffed

    def _on_connected(self, call: Call) -> None:
        if self.config.noise > 0 and call.agent_chan is not None:
            for var in ("BRIDGEPEER", "DIALSTATUS", "RTPAUDIOQOS"):
                if self.rng.random() < self.config.noise:
                    self.writer.varset(call.agent_chan, var, call.chan.name)
            if self.rng.random() < self.config.noise:
                self.writer.noise_rtcp(call.chan, self.rng.randrange(50, 5000))

    def _on_transferred(self, call: Call, exten: str) -> None:
        queue = self.config.transfer_targets.get(exten)
        if queue in self.acd.queues:
            call.member = call.agent_chan = call.bridge = None
            call.handle_time = self.config.traffic.handle.sample(self.rng)
            self.acd.join(call, queue)
            return
        self.sched.after(
            self.config.traffic.external.sample(self.rng), self.control.end_external, call
        )

    def purge(self) -> None:
        """Forget calls that have ended (keeps memory flat over long runs)."""
        for uid in [u for u, c in self.calls.items() if c.state == "ended"]:
            del self.calls[uid]

    # ------------------------------------------------------------------ traffic
    def _schedule_arrival(self) -> None:
        t = self.config.traffic
        mult = t.overload_multiplier if self.overload else 1.0
        when = next_arrival(self.rng, t.profile, self.sched.now, mult)
        if when is not None:
            self.sched.at(when, self._arrival)

    def _arrival(self) -> None:
        if not self.traffic_on:
            return
        if self._offered % 256 == 0:
            self.purge()
        caller = self.callers.draw(self.rng)
        call = self._new_call(caller, None, self.config.traffic.patience.sample(self.rng))
        self._begin(call, None, None, None, self.ids.uuid())
        self._schedule_arrival()
