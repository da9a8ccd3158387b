"""Virtual agents: answer after a ring delay (or not), talk, hold, transfer, hang up, take breaks.

Real desktop agents are queue members too; for them this module only plays
the caller's side (the caller hangs up after the drawn handle time) and
leaves answering, transfers and hangups to AMI actions from the desktop.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from agentdesk.telephony.sim.acd import Acd
from agentdesk.telephony.sim.calls import CallControl
from agentdesk.telephony.sim.config import AgentBehaviour
from agentdesk.telephony.sim.state import Call, Device, Member, RingAttempt


class VirtualFloor:
    """Decides for every virtual agent; implements the ACD's listener hooks."""

    def __init__(
        self,
        acd: Acd,
        control: CallControl,
        behaviour: AgentBehaviour,
        rng: random.Random,
        transfer_targets: list[str],
        on_connected_hook: Callable[[Call], None] | None = None,
    ) -> None:
        self.acd, self.control, self.b, self.rng = acd, control, behaviour, rng
        self.sched = acd.sched
        self.transfer_targets = transfer_targets or ["2000"]
        self.on_connected_hook = on_connected_hook
        self._break_due: set[str] = set()

    # ------------------------------------------------------------------ ACD hooks
    def on_ring(self, attempt: RingAttempt) -> None:
        if not attempt.member.device.virtual:
            return  # a real desktop answers with PJSIPNotify Event=talk
        if self.rng.random() < self.b.p_no_answer:
            return  # lets the ring time out (AgentRingNoAnswer)
        self.sched.after(self.b.ring_delay.sample(self.rng), self.acd.answer, attempt)

    def on_connected(self, call: Call) -> None:
        if self.on_connected_hook is not None:
            self.on_connected_hook(call)
        assert call.member is not None
        handle = call.handle_time
        if not call.member.device.virtual:
            call.end_timer = self.sched.after(handle, self.control.hangup, call, "caller")
            return
        b, u = self.b, self.rng.random()
        if self.rng.random() < b.p_hold:
            start = handle * self.rng.uniform(0.2, 0.5)
            self.sched.after(start, self.control.hold, call)
            self.sched.after(start + b.hold.sample(self.rng), self.control.unhold, call)
        target = self.transfer_targets[self.rng.randrange(len(self.transfer_targets))]
        if u < b.p_blind_transfer:
            call.end_timer = self.sched.after(handle, self.control.blind_transfer, call, target)
        elif u < b.p_blind_transfer + b.p_attended_transfer:
            call.end_timer = self.sched.after(handle * 0.7, self._consult, call, target)
        else:
            by = "agent" if self.rng.random() < b.p_agent_hangup else "caller"
            call.end_timer = self.sched.after(handle, self.control.hangup, call, by)

    def _consult(self, call: Call, target: str) -> None:
        if call.held:
            self.control.unhold(call)
        second = self.control.start_consult(call, target)
        if second is not None:
            self.sched.after(
                self.b.consult.sample(self.rng), self.control.complete_attended, call, second
            )

    def on_call_ended(self, call: Call, member: Member) -> None:
        dev = member.device
        if dev.virtual and dev.interface in self._break_due:
            self._break_due.discard(dev.interface)
            self._take_break(dev)

    # ------------------------------------------------------------------ shifts
    def start_shift(self, dev: Device) -> None:
        """Schedule this virtual agent's breaks (a Poisson process of pauses)."""
        if self.b.breaks_per_hour > 0:
            self.sched.after(self.rng.expovariate(self.b.breaks_per_hour / 3600), self._break, dev)

    def _break(self, dev: Device) -> None:
        if dev.call is not None or dev.ringing is not None:
            self._break_due.add(dev.interface)
        else:
            self._take_break(dev)
        self.start_shift(dev)

    def _take_break(self, dev: Device) -> None:
        if any(m.paused for m in dev.memberships.values()):
            return
        reason = self.rng.choice(self.b.pause_reasons) if self.b.pause_reasons else ""
        self.acd.set_paused(dev.interface, True, reason)
        self.sched.after(
            self.b.break_length.sample(self.rng), self.acd.set_paused, dev.interface, False, ""
        )

    def on_auto_paused(self, dev: Device) -> None:
        """A virtual agent notices the auto-pause after a ring-no-answer and resumes."""
        if dev.virtual:
            self.sched.after(
                self.rng.uniform(10, 60), self.acd.set_paused, dev.interface, False, ""
            )
