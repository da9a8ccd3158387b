"""Click-to-dial: ``Originate`` from an agent's phone to an outside number."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentdesk.telephony.sim.model import DOWN, RINGING, UP, Bridge, Channel
from agentdesk.telephony.sim.state import INUSE, NOT_INUSE, Call
from agentdesk.telephony.sim.traffic import Caller

if TYPE_CHECKING:
    from agentdesk.telephony.sim.simulator import PbxSimulator


class Outbound:
    """Rings the agent's phone, auto-answers it (as click-to-dial phones do), dials out,
    bridges, and lets the far end hang up after a drawn talk time."""

    def __init__(self, sim: PbxSimulator) -> None:
        self.sim = sim
        self.w = sim.writer

    def originate(
        self, channel: str, exten: str, context: str, caller_id: str, action_id: str | None
    ) -> Call:
        sim, ids = self.sim, self.sim.ids
        epoch = sim.sched.epoch()
        uid = ids.uniqueid(epoch)
        agent = Channel(
            ids.channel_name(channel),
            uid,
            uid,
            DOWN,
            exten,
            "",
            context,
            exten,
            sim.sched.now,
            connected_num=caller_id,
        )
        call = Call(
            Caller(number=exten, kind="outbound"),
            agent,
            sim.config.traffic.handle.sample(sim.rng),
            0.0,
            state="outbound",
        )
        sim.calls[uid] = call
        self.w.newchannel(agent)
        agent.state = RINGING
        self.w.newstate(agent)
        dev = sim.acd.device(channel)
        if dev is not None and dev.call is None:
            dev.call = call
            sim.acd.set_status(dev, INUSE)
        sim.sched.after(1.0, self._answered, call, channel, action_id)
        return call

    def _answered(self, call: Call, interface: str, action_id: str | None) -> None:
        sim, agent = self.sim, call.chan
        if call.state != "outbound":
            return
        agent.state = UP
        self.w.newstate(agent)
        head = [("ActionID", action_id)] if action_id else []
        self.w.emit(
            "OriginateResponse",
            "call",
            [
                *head,
                ("Response", "Success"),
                ("Channel", agent.name),
                ("Context", agent.context),
                ("Exten", agent.exten),
                ("Reason", "4"),
                ("Uniqueid", agent.uniqueid),
                ("CallerIDNum", agent.caller_num or "<unknown>"),
                ("CallerIDName", agent.caller_name or "<unknown>"),
            ],
        )
        agent.priority += 1
        self.w.newexten(agent, "Dial", f"{sim.config.carrier_endpoint}/{agent.exten}")
        far = Channel(
            sim.ids.channel_name(sim.config.carrier_endpoint),
            sim.ids.uniqueid(sim.sched.epoch()),
            agent.linkedid,
            DOWN,
            agent.exten,
            "",
            "from-internal",
            agent.exten,
            sim.sched.now,
            connected_num=agent.connected_num,
        )
        call.agent_chan = far
        self.w.newchannel(far)
        self.w.dial_begin(agent, far, f"carrier/{agent.exten}")
        far.state = RINGING
        self.w.newstate(far)
        ring = sim.config.agents.behaviour.ring_delay.sample(sim.rng)
        sim.sched.after(ring, self._far_answered, call)

    def _far_answered(self, call: Call) -> None:
        if call.state != "outbound" or call.agent_chan is None:
            return
        agent, far = call.chan, call.agent_chan
        far.state = UP
        self.w.newstate(far)
        self.w.dial_end(agent, far, "ANSWER")
        bridge = Bridge(self.sim.ids.uuid())
        call.bridge = bridge
        self.w.bridge_create(bridge)
        for ch in (agent, far):
            bridge.channels.append(ch)
            ch.bridge = bridge
            self.w.bridge_enter(bridge, ch)
        call.end_timer = self.sim.sched.after(call.handle_time, self.hangup, call, far)

    def hangup(self, call: Call, first: Channel) -> None:
        """End the outbound call; ``first`` is the side that hung up."""
        if call.state != "outbound":
            return
        call.state = "ended"
        if call.end_timer is not None:
            call.end_timer.cancel()
        chans = [call.chan] + ([call.agent_chan] if call.agent_chan else [])
        self.w.hangup_request(first)
        bridge = call.bridge
        if bridge is not None:
            for ch in sorted(chans, key=lambda c: c is not first):
                self.w.bridge_leave(bridge, ch)
            self.w.bridge_destroy(bridge)
        elif call.agent_chan is not None:
            self.w.dial_end(call.chan, call.agent_chan, "CANCEL")
        for ch in sorted(chans, key=lambda c: c is not first):
            self.w.hangup(ch)
        dev = next((d for d in self.sim.acd.devices.values() if d.call is call), None)
        if dev is not None:
            dev.call = None
            self.sim.acd.set_status(dev, NOT_INUSE)
            self.sim.acd.kick()
