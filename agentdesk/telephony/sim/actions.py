"""The simulator's AMI actions, with Asterisk 20's responses and error texts.

State changes are scheduled as a simulator step (``after(0)``), so the
action's response goes out before the events it causes, as on a real PBX.

Answering a ringing desktop phone: real deployments send
``PJSIPNotify`` with ``Variable: Event=talk`` to the agent's endpoint
(Yealink/Polycom/Snom answer a ringing line on that NOTIFY). The simulator
accepts ``Endpoint: agent-1001`` (or ``PJSIP/agent-1001``) or ``Channel:``
and answers the ringing queue call; ``Event=hold`` toggles hold.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from agentdesk.telephony.codec import AmiMessage
from agentdesk.telephony.server import AmiSession, list_complete, list_item, list_start, reply
from agentdesk.telephony.sim.model import Channel
from agentdesk.telephony.sim.outbound import Outbound
from agentdesk.telephony.sim.queue_events import (
    queue_entry,
    queue_member,
    queue_params,
    queue_summary,
)
from agentdesk.telephony.sim.state import Call

if TYPE_CHECKING:
    from agentdesk.telephony.sim.simulator import PbxSimulator

Out = list[AmiMessage]
TRUE = ("1", "true", "yes", "on")


class SimActions:
    """Registers and implements the PBX actions on the simulator's :class:`AmiServer`."""

    def __init__(self, sim: PbxSimulator) -> None:
        self.sim = sim
        self.outbound = Outbound(sim)
        self.globals: dict[str, str] = {}
        reg = sim.server.register
        reg("QueueStatus", self.queue_status, (), "Show queue status.")
        reg("QueueSummary", self.queue_summary, (), "Show queue summary.")
        reg(
            "QueuePause",
            self.queue_pause,
            ("agent",),
            "Makes a queue member temporarily unavailable.",
        )
        reg("QueueAdd", self.queue_add, ("agent",), "Add interface to queue.")
        # Registered with no privilege in app_queue.c (ast_manager_register_xml(..., 0, ...)).
        reg(
            "QueueWithdrawCaller",
            self.queue_withdraw_caller,
            (),
            "Request to withdraw a caller from the queue back to the dialplan.",
        )
        reg("QueueRemove", self.queue_remove, ("agent",), "Remove interface from queue.")
        reg(
            "CoreShowChannels",
            self.core_show_channels,
            ("system", "reporting"),
            "List currently active channels.",
        )
        reg("Status", self.status, ("system", "call", "reporting"), "List channel status.")
        reg("Hangup", self.hangup, ("system", "call"), "Hangup channel.")
        reg("Redirect", self.redirect, ("call",), "Redirect (transfer) a call.")
        reg(
            "BlindTransfer",
            self.blind_transfer,
            ("call",),
            "Blind transfer channel(s) to the given destination",
        )
        reg("Atxfer", self.atxfer, ("call",), "Attended transfer.")
        reg("Originate", self.originate, ("originate",), "Originate a call.")
        reg(
            "Getvar",
            self.getvar,
            ("call", "reporting"),
            "Gets a channel variable or function value.",
        )
        reg("Setvar", self.setvar, ("call",), "Sets a channel variable or function value.")
        reg(
            "PJSIPNotify",
            self.pjsip_notify,
            ("system",),
            "Send a NOTIFY to either an endpoint, an arbitrary URI, or inside a SIP dialog.",
        )

    # ------------------------------------------------------------------ helpers
    def _later(self, fn: object, *args: object) -> None:
        self.sim.sched.after(0.0, fn, *args)  # type: ignore[arg-type]

    def _channels(self) -> Iterable[tuple[Channel, Call]]:
        self.sim.purge()
        seen: set[int] = set()
        for call in list(self.sim.calls.values()):
            chans = [call.chan, *(a.chan for a in call.attempts)]
            for legs in [a.local for a in call.attempts] + [call.local]:
                if legs is not None:
                    chans += [legs.half2, legs.phone]
            if call.agent_chan is not None:
                chans.append(call.agent_chan)
            if call.bridge is not None:
                chans.extend(call.bridge.channels)
            for ch in chans:
                if not ch.hungup and id(ch) not in seen:
                    seen.add(id(ch))
                    yield ch, call

    def _find(self, name: str | None) -> tuple[Channel, Call] | None:
        if not name:
            return None
        if len(name) > 2 and name.startswith("/") and name.endswith("/"):
            try:
                pattern = re.compile(name[1:-1])
            except re.error:
                return None
            return next(((c, k) for c, k in self._channels() if pattern.search(c.name)), None)
        return next(((c, k) for c, k in self._channels() if c.name == name), None)

    # ------------------------------------------------------------------ queues
    def queue_status(self, session: AmiSession, m: AmiMessage) -> Out:
        want_q, want_m = m.get("Queue"), (m.get("Member") or "").lower()
        now = self.sim.sched.now
        out, count = [list_start(m, "Queue status will follow")], 0
        for q in self.sim.acd.queues.values():
            if want_q and q.name != want_q:
                continue
            items = [list_item(m, "QueueParams", queue_params(q))]
            for member in q.members.values():
                dev = member.device
                if not want_m or want_m in (dev.interface.lower(), dev.name.lower()):
                    items.append(list_item(m, "QueueMember", queue_member(member)))
            items += [list_item(m, "QueueEntry", queue_entry(q, c, now)) for c in q.entries]
            out += items
            count += len(items)
        return [*out, list_complete(m, "QueueStatusComplete", count)]

    def queue_summary(self, session: AmiSession, m: AmiMessage) -> Out:
        want = m.get("Queue")
        items = [
            list_item(m, "QueueSummary", queue_summary(q, self.sim.sched.now))
            for q in self.sim.acd.queues.values()
            if not want or q.name == want
        ]
        return [
            list_start(m, "Queue summary will follow"),
            *items,
            list_complete(m, "QueueSummaryComplete", len(items)),
        ]

    def queue_withdraw_caller(self, session: AmiSession, m: AmiMessage) -> Out:
        """app_queue.c ``manager_request_withdraw_caller_from_queue``: same checks and texts."""
        queue, caller = m.get("Queue") or "", m.get("Caller") or ""
        if not queue:
            return [reply(m, "Error", message="'Queue' not specified.")]
        if not caller:
            return [reply(m, "Error", message="'Caller' not specified.")]
        q = self.sim.acd.queues.get(queue)
        if q is None:
            return [
                reply(m, "Error", message="Unable to request withdraw from queue: No such queue")
            ]
        call = next((c for c in q.entries if c.chan.name == caller), None)
        if call is None:
            return [
                reply(m, "Error", message="Unable to request withdraw from queue: No such caller")
            ]
        if call.withdraw_requested:
            return [
                reply(
                    m, "Error", message="Unable to request withdraw from queue: Already requested"
                )
            ]
        call.withdraw_requested = True
        self._later(self.sim.acd.withdraw, call, m.get("WithdrawInfo") or "")
        return [reply(m, "Success", message="Withdraw requested successfully")]

    def queue_pause(self, session: AmiSession, m: AmiMessage) -> Out:
        interface, paused = m.get("Interface"), m.get("Paused")
        if not interface or paused is None:
            return [reply(m, "Error", message="Need 'Interface' and 'Paused' parameters.")]
        queue = m.get("Queue") or None
        dev = self.sim.acd.device(interface)
        if dev is None or (queue is not None and queue not in dev.memberships):
            return [reply(m, "Error", message="Interface not found")]
        on = paused.strip().lower() in TRUE
        self._later(self.sim.acd.set_paused, dev.interface, on, m.get("Reason") or "", queue)
        text = "Interface paused successfully" if on else "Interface unpaused successfully"
        return [reply(m, "Success", message=text)]

    def queue_add(self, session: AmiSession, m: AmiMessage) -> Out:
        queue, interface = m.get("Queue"), m.get("Interface")
        if not queue or not interface:
            return [reply(m, "Error", message="'Queue' and 'Interface' not specified.")]
        if queue not in self.sim.acd.queues:
            return [reply(m, "Error", message="Unable to add interface to queue: No such queue")]
        q = self.sim.acd.queues[queue]
        if interface.lower() in (i.lower() for i in q.members):
            return [reply(m, "Error", message="Unable to add interface: Already there")]
        try:
            penalty = int(m.get("Penalty") or 0)
        except ValueError:
            return [reply(m, "Error", message="Invalid penalty")]
        paused = (m.get("Paused") or "").lower() in TRUE
        self._later(
            lambda: self.sim.acd.add_member(
                queue,
                interface,
                m.get("MemberName") or interface,
                penalty=penalty,
                paused=paused,
                reason=m.get("Reason") or "",
                state_interface=m.get("StateInterface") or "",
            )
        )
        return [reply(m, "Success", message="Added interface to queue")]

    def queue_remove(self, session: AmiSession, m: AmiMessage) -> Out:
        queue, interface = m.get("Queue"), m.get("Interface")
        if not queue or not interface:
            return [reply(m, "Error", message="Need 'Queue' and 'Interface' parameters.")]
        q = self.sim.acd.queues.get(queue)
        if q is None:
            return [
                reply(m, "Error", message="Unable to remove interface from queue: No such queue")
            ]
        if interface.lower() not in (i.lower() for i in q.members):
            return [reply(m, "Error", message="Unable to remove interface: Not there")]
        self._later(self.sim.acd.remove_member, queue, interface)
        return [reply(m, "Success", message="Removed interface from queue")]

    # ------------------------------------------------------------------ channels
    def core_show_channels(self, session: AmiSession, m: AmiMessage) -> Out:
        w, now, out = self.sim.writer, self.sim.sched.now, [list_start(m, "Channels will follow")]
        for ch, _ in self._channels():
            secs = int(now - ch.created)
            head: list[tuple[str, object]] = [("Event", "CoreShowChannel")]
            if m.action_id is not None:
                head.append(("ActionID", m.action_id))
            out.append(
                AmiMessage.build(
                    *head,
                    *w.snapshot(ch),
                    ("BridgeId", ch.bridge.uniqueid if ch.bridge else ""),
                    ("Application", ch.application),
                    ("ApplicationData", ch.app_data),
                    ("Duration", f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"),
                )
            )
        return [*out, list_complete(m, "CoreShowChannelsComplete", len(out) - 1)]

    def status(self, session: AmiSession, m: AmiMessage) -> Out:
        wanted = m.get("Channel")
        found = list(self._channels())
        if wanted:
            found = [(c, k) for c, k in found if c.name == wanted]
            if not found:
                return [reply(m, "Error", message="No such channel")]
        w, now = self.sim.writer, self.sim.sched.now
        items = [
            list_item(
                m,
                "Status",
                [
                    ("Privilege", "Call"),
                    *w.snapshot(ch),
                    ("Type", "PJSIP"),
                    ("DNID", ""),
                    ("EffectiveConnectedLineNum", ch.connected_num or "<unknown>"),
                    ("EffectiveConnectedLineName", ch.connected_name or "<unknown>"),
                    ("TimeToHangup", "0"),
                    ("BridgeID", ch.bridge.uniqueid if ch.bridge else ""),
                    ("Application", ch.application),
                    ("Data", ch.app_data),
                    ("Nativeformats", "(ulaw)"),
                    ("Readformat", "ulaw"),
                    ("Readtrans", ""),
                    ("Writeformat", "ulaw"),
                    ("Writetrans", ""),
                    ("Callgroup", "0"),
                    ("Pickupgroup", "0"),
                    ("Seconds", str(int(now - ch.created))),
                ],
            )
            for ch, _ in found
        ]
        done = list_complete(m, "StatusComplete", len(items)).with_headers(("Items", len(items)))
        return [list_start(m, "Channel status will follow"), *items, done]

    def hangup(self, session: AmiSession, m: AmiMessage) -> Out:
        name = m.get("Channel")
        if not name:
            return [reply(m, "Error", message="No channel specified")]
        hit = self._find(name)
        if hit is None:
            return [reply(m, "Error", message="No such channel")]
        self._later(self._hangup, hit[0], hit[1])
        return [reply(m, "Success", message="Channel Hungup")]

    def _hangup(self, ch: Channel, call: Call) -> None:
        sim = self.sim
        if call.state == "outbound":
            self.outbound.hangup(call, ch)
        elif call.state == "connected":
            sim.control.hangup(call, "caller" if ch is call.chan else "agent")
        elif call.state == "queued":
            if ch is call.chan:
                sim.acd.abandon(call)
            elif call.attempts:  # a ringing member rejected the call
                sim.acd.ring_timeout(call)
        elif call.state == "transferred":
            sim.control.end_external(call)
        elif call.state == "ivr":
            call.state = "ended"
            sim.writer.hangup(call.chan)

    def _transfer_args(self, m: AmiMessage) -> tuple[str, str] | AmiMessage:
        exten = m.get("Exten")
        if not exten:
            return reply(m, "Error", message="No extension specified")
        return exten, m.get("Context") or self.sim.config.transfer_context

    def blind_transfer(self, session: AmiSession, m: AmiMessage) -> Out:
        hit = self._find(m.get("Channel"))
        if hit is None:
            return [reply(m, "Error", message="Channel specified does not exist")]
        args = self._transfer_args(m)
        if isinstance(args, AmiMessage):
            return [args]
        call = hit[1]
        if call.state != "connected":
            return [reply(m, "Error", message="Transfer failed")]
        self._later(self.sim.control.blind_transfer, call, *args)
        return [reply(m, "Success", message="Transfer succeeded")]

    def redirect(self, session: AmiSession, m: AmiMessage) -> Out:
        if not m.get("Channel"):
            return [reply(m, "Error", message="Channel not specified")]
        hit = self._find(m.get("Channel"))
        if hit is None:
            return [reply(m, "Error", message=f"Channel does not exist: {m.get('Channel')}")]
        args = self._transfer_args(m)
        if isinstance(args, AmiMessage):
            return [args]
        ch, call = hit
        if call.state != "connected":
            return [reply(m, "Error", message="Redirect failed")]
        if ch is call.chan:  # the caller is sent elsewhere: the queue sees a transfer
            self._later(lambda: self.sim.control.blind_transfer(call, *args, event=False))
        else:
            self._later(self.sim.control.hangup, call, "agent")
        return [reply(m, "Success", message="Redirect successful")]

    def atxfer(self, session: AmiSession, m: AmiMessage) -> Out:
        hit = self._find(m.get("Channel"))
        if hit is None:
            return [reply(m, "Error", message="Channel specified does not exist")]
        args = self._transfer_args(m)
        if isinstance(args, AmiMessage):
            return [args]
        call = hit[1]
        if call.state != "connected":
            return [reply(m, "Error", message="Atxfer failed")]
        self._later(self.sim.floor._consult, call, args[0])
        return [reply(m, "Success", message="Atxfer successfully queued")]

    def originate(self, session: AmiSession, m: AmiMessage) -> Out:
        channel, exten = m.get("Channel"), m.get("Exten")
        if not channel:
            return [reply(m, "Error", message="Channel not specified")]
        if "/" not in channel:
            return [reply(m, "Error", message="Invalid channel")]
        if not exten and not m.get("Application"):
            return [reply(m, "Error", message="Exten not specified")]
        context = m.get("Context") or "from-internal"
        self._later(
            self.outbound.originate,
            channel,
            exten or "s",
            context,
            m.get("CallerID") or "",
            m.action_id,
        )
        return [reply(m, "Success", message="Originate successfully queued")]

    def getvar(self, session: AmiSession, m: AmiMessage) -> Out:
        var = m.get("Variable")
        if not var:
            return [reply(m, "Error", message="No variable specified")]
        if m.get("Channel"):
            hit = self._find(m.get("Channel"))
            if hit is None:
                return [reply(m, "Error", message="No such channel")]
            value = hit[0].variables.get(var.lstrip("_"), "")
        else:
            value = self.globals.get(var, "")
        return [reply(m, "Success", ("Variable", var), ("Value", value))]

    def setvar(self, session: AmiSession, m: AmiMessage) -> Out:
        var = m.get("Variable")
        if not var:
            return [reply(m, "Error", message="No variable specified")]
        value = m.get("Value") or ""
        if m.get("Channel"):
            hit = self._find(m.get("Channel"))
            if hit is None:
                return [reply(m, "Error", message="No such channel")]
            ch = hit[0]
            ch.set_var(var, value)
            self._later(self.sim.writer.varset, ch, var, value)
        else:
            self.globals[var] = value
        return [reply(m, "Success", message="Variable Set")]

    def pjsip_notify(self, session: AmiSession, m: AmiMessage) -> Out:
        endpoint, channel = m.get("Endpoint"), m.get("Channel")
        if not endpoint and not channel and not m.get("URI"):
            return [
                reply(
                    m,
                    "Error",
                    message="PJSIPNotify requires either an endpoint name, "
                    "a SIP URI, or a channel.",
                )
            ]
        variables = m.variables("Variable")
        if not variables:
            return [
                reply(m, "Error", message="PJSIPNotify requires at least one 'Variable' argument")
            ]
        dev = None
        if endpoint:
            dev = self.sim.acd.device_of_phone(endpoint if "/" in endpoint else f"PJSIP/{endpoint}")
            if dev is None:
                return [reply(m, "Error", message=f"Unable to retrieve endpoint {endpoint}")]
        elif channel:
            hit = self._find(channel)
            if hit is None:
                return [reply(m, "Error", message=f"Unable to find channel {channel}")]
            dev = self.sim.acd.device_of_phone(hit[0].name.rsplit("-", 1)[0])
        event = variables.get("Event", "").lower()
        if dev is not None:
            self._later(self._notify, dev.interface, event)
        return [reply(m, "Success", message="NOTIFY sent")]

    def _notify(self, interface: str, event: str) -> None:
        # Event=talk answers a ringing line or resumes a held call; Event=hold holds.
        dev = self.sim.acd.device(interface)
        if dev is None:
            return
        if event == "talk" and dev.ringing is not None:
            self.sim.acd.answer(dev.ringing)
        elif event == "talk" and dev.call is not None and dev.call.held:
            self.sim.control.unhold(dev.call)
        elif event == "hold" and dev.call is not None:
            self.sim.control.hold(dev.call)
