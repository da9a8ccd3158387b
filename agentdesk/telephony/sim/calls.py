"""What happens to a connected queue call: hold, hangup, blind and attended transfer.

Orders follow telephony research §1.6: on hangup ``AgentComplete`` comes
after HangupRequest and before the BridgeLeaves; on blind transfer
``BlindTransfer`` then ``AgentComplete`` (Reason: transfer) then the
BridgeLeaves; on attended transfer ``AttendedTransfer`` then ``AgentComplete``.

For a Local member the phone's channel holds (``Hold``/``Unhold`` come from
the phone, not from the Local channel the queue bridged), an agent hang-up
starts at the phone (phone and ``;2`` half hang up before ``AgentComplete``),
and any other end hangs the ``;2`` half and the phone up after the ``;1`` half.
"""

from __future__ import annotations

from collections.abc import Callable

from agentdesk.telephony.sim.acd import Acd
from agentdesk.telephony.sim.model import RING, RINGING, UP, Bridge, Channel
from agentdesk.telephony.sim.state import Call


class CallControl:
    """Connected-call operations on top of the :class:`Acd`."""

    def __init__(
        self, acd: Acd, *, transfer_context: str, on_transferred: Callable[[Call, str], None]
    ) -> None:
        self.acd = acd
        self.w = acd.w
        self.transfer_context = transfer_context
        self.on_transferred = on_transferred  # (call, exten): where the caller goes next

    def _times(self, call: Call) -> tuple[int, int]:
        now = self.acd.sched.now
        return int(call.answered_at - call.enqueued_at), int(now - call.answered_at)

    def hangup(self, call: Call, by: str) -> bool:
        """End a connected call; ``by`` is ``caller`` or ``agent``. False if not connected."""
        if call.state != "connected" or call.agent_chan is None or call.member is None:
            return False
        if call.end_timer is not None:
            call.end_timer.cancel()
        if call.held:
            self.unhold(call)
        agent, bridge = call.agent_chan, call.bridge
        assert bridge is not None
        first, second = (call.chan, agent) if by == "caller" else (agent, call.chan)
        holdtime, talktime = self._times(call)
        if by != "caller":
            self.acd.end_local(call)  # the phone hung up: its ;2 half goes, then ;1
        self.w.hangup_request(first)
        self.acd.qe.agent_complete(call, call.member, agent, holdtime, talktime, by)
        self._leave(bridge, first)
        self.w.hangup_request(second, soft=True, cause=16)
        self._leave(bridge, second)
        self.w.bridge_destroy(bridge)
        self.w.hangup(call.chan)
        self.w.hangup(agent)
        self.acd.end_local(call)
        call.state = "ended"
        event = "COMPLETECALLER" if by == "caller" else "COMPLETEAGENT"
        self.acd.qlog.write(
            self.acd.sched.epoch(),
            call.chan.uniqueid,
            call.queue or "",
            call.member.device.name,
            event,
            holdtime,
            talktime,
            call.original_position,
        )
        self.acd.finish_member(call, talktime)
        return True

    def _leave(self, bridge: Bridge, ch: Channel) -> None:
        if ch in bridge.channels:
            bridge.channels.remove(ch)
        ch.bridge = None
        self.w.bridge_leave(bridge, ch)

    def hold(self, call: Call) -> bool:
        phone = call.phone_chan
        if call.state != "connected" or call.held or phone is None:
            return False
        call.held = True
        self.w.hold(phone)
        self.w.moh_start(call.chan)
        return True

    def unhold(self, call: Call) -> bool:
        phone = call.phone_chan
        if not call.held or phone is None:
            return False
        call.held = False
        self.w.unhold(phone)
        self.w.moh_stop(call.chan)
        return True

    def blind_transfer(
        self, call: Call, exten: str, context: str | None = None, *, event: bool = True
    ) -> bool:
        """The agent transfers the caller to ``exten`` without consulting."""
        if call.state != "connected" or call.agent_chan is None or call.member is None:
            return False
        if call.end_timer is not None:
            call.end_timer.cancel()
        if call.held:
            self.unhold(call)
        context = context or self.transfer_context
        agent, bridge = call.agent_chan, call.bridge
        assert bridge is not None
        holdtime, talktime = self._times(call)
        if event:
            self.w.blind_transfer(agent, call.chan, bridge, context, exten)
        self.acd.qe.agent_complete(call, call.member, agent, holdtime, talktime, "transfer")
        self._leave(bridge, call.chan)
        self._leave(bridge, agent)
        self.w.bridge_destroy(bridge)
        call.chan.context, call.chan.exten, call.chan.priority = context, exten, 1
        self.w.newexten(call.chan, "Goto", f"{context},{exten},1")
        self.w.hangup(agent)
        self.acd.end_local(call)
        self.acd.qlog.write(
            self.acd.sched.epoch(),
            call.chan.uniqueid,
            call.queue or "",
            call.member.device.name,
            "BLINDTRANSFER",
            exten,
            context,
            holdtime,
            talktime,
            call.original_position,
        )
        call.state = "transferred"
        self.acd.finish_member(call, talktime)
        self.on_transferred(call, exten)
        return True

    def start_consult(self, call: Call, exten: str) -> Channel | None:
        """Attended transfer, step 1: hold the caller and ring ``exten`` from the agent's phone.

        Returns the consult channel of the agent; call :meth:`complete_attended` later.
        """
        if call.state != "connected" or call.agent_chan is None or call.member is None:
            return None
        acd, ids = self.acd, self.acd.ids
        self.hold(call)
        dev = call.member.device
        epoch = acd.sched.epoch()
        second = Channel(
            ids.channel_name(dev.phone),
            ids.uniqueid(epoch),
            "",
            RING,
            call.agent_chan.caller_num,
            dev.name,
            "from-internal",
            exten,
            acd.sched.now,
        )
        second.linkedid = second.uniqueid
        target = Channel(
            ids.channel_name(f"PJSIP/{exten}"),
            ids.uniqueid(epoch),
            second.linkedid,
            RING,
            second.caller_num,
            dev.name,
            "from-internal",
            exten,
            acd.sched.now,
            connected_num=second.caller_num,
        )
        self.w.newchannel(second)
        self.w.newchannel(target)
        self.w.dial_begin(second, target, exten)
        target.state = RINGING
        self.w.newstate(target)
        target.state = second.state = UP
        self.w.newstate(target)
        self.w.dial_end(second, target, "ANSWER")
        bridge = Bridge(ids.uuid())
        self.w.bridge_create(bridge)
        for ch in (second, target):
            bridge.channels.append(ch)
            ch.bridge = bridge
            self.w.bridge_enter(bridge, ch)
        return second

    def complete_attended(self, call: Call, second: Channel) -> bool:
        """Attended transfer, step 2: the agent completes; the caller joins the target's bridge."""
        if call.state != "connected" or call.agent_chan is None or call.member is None:
            return False
        orig_bridge, second_bridge = call.bridge, second.bridge
        assert orig_bridge is not None and second_bridge is not None
        target = next(ch for ch in second_bridge.channels if ch is not second)
        agent = call.agent_chan
        holdtime, talktime = self._times(call)
        self.w.attended_transfer(agent, orig_bridge, second, second_bridge, call.chan, target)
        self.acd.qe.agent_complete(call, call.member, agent, holdtime, talktime, "transfer")
        call.held = False
        self._leave(orig_bridge, agent)
        self._leave(orig_bridge, call.chan)
        self.w.moh_stop(call.chan)
        self._leave(second_bridge, second)
        second_bridge.channels.append(call.chan)
        call.chan.bridge = second_bridge
        self.w.bridge_enter(second_bridge, call.chan)
        self.w.bridge_destroy(orig_bridge)
        self.w.hangup(agent)
        self.acd.end_local(call)
        self.w.hangup(second)
        self.acd.qlog.write(
            self.acd.sched.epoch(),
            call.chan.uniqueid,
            call.queue or "",
            call.member.device.name,
            "ATTENDEDTRANSFER",
            "BRIDGE",
            second_bridge.uniqueid,
            holdtime,
            talktime,
            call.original_position,
        )
        call.state, call.bridge = "transferred", second_bridge
        call.agent_chan = target
        self.acd.finish_member(call, talktime)
        return True

    def end_external(self, call: Call) -> None:
        """The caller, now outside the ACD (after a transfer), hangs up."""
        if call.state != "transferred":
            return
        bridge = call.bridge
        self.w.hangup_request(call.chan)
        if bridge is not None:
            others = [ch for ch in bridge.channels if ch is not call.chan]
            self._leave(bridge, call.chan)
            for ch in others:
                self._leave(bridge, ch)
            self.w.bridge_destroy(bridge)
            self.w.hangup(call.chan)
            for ch in others:
                self.w.hangup(ch)
        else:
            self.w.hangup(call.chan)
        call.state = "ended"
