"""Automatic call distribution: queues, members, strategies, ringing, answer, RNA, abandon, pause.

Follows app_queue.c: callers wait in order; free members (not paused, not
busy, past wrap-up) at the lowest penalty are rung according to the queue's
strategy; a member that does not answer within ``timeout`` gets
AgentRingNoAnswer and, with ``autopause``, a pause; after ``retry`` seconds
the caller is offered again. ``QueueCallerLeave`` is sent at answer.

A ``Local/…`` member with a state interface rings as in Asterisk: the queue
creates the Local channel (its ``;1`` half is the ``Dest`` of the Agent*
events and of the queue's DialBegin/DialEnd), the ``;2`` half dials the phone
(``PJSIP/…-…``, its own DialBegin/DialEnd with the same ``Linkedid``), and
the phone's answer bridges ``;2`` with the phone before the queue sees the
answer. The halves stay up for the whole call (``/n`` behaviour).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Protocol

from agentdesk.telephony.sim.clock import Scheduler
from agentdesk.telephony.sim.config import QueueConfig
from agentdesk.telephony.sim.events import EventWriter
from agentdesk.telephony.sim.model import DOWN, RINGING, UP, Bridge, Channel, Ids
from agentdesk.telephony.sim.queue_events import QueueEvents
from agentdesk.telephony.sim.queue_log import QueueLog
from agentdesk.telephony.sim.state import (
    INUSE,
    NOT_INUSE,
    Call,
    Device,
    LocalLegs,
    Member,
    QueueState,
    RingAttempt,
)
from agentdesk.telephony.sim.state import RINGING as DEV_RINGING


class AcdListener(Protocol):
    """What the simulator does when the ACD needs a decision from an agent or caller."""

    def on_ring(self, attempt: RingAttempt) -> None: ...
    def on_connected(self, call: Call) -> None: ...
    def on_call_ended(self, call: Call, member: Member) -> None: ...
    def on_auto_paused(self, device: Device) -> None: ...


class Acd:
    """The queue engine. All methods run on the simulator's scheduler (one thread)."""

    def __init__(
        self,
        queues: Mapping[str, QueueConfig],
        sched: Scheduler,
        writer: EventWriter,
        qlog: QueueLog,
        ids: Ids,
        rng: random.Random,
        listener: AcdListener | None = None,
    ) -> None:
        self.queues = {name: QueueState(cfg) for name, cfg in queues.items()}
        self.devices: dict[str, Device] = {}
        self.sched, self.w, self.qlog, self.ids, self.rng = sched, writer, qlog, ids, rng
        self.qe = QueueEvents(writer)
        self._listener = listener
        self._order = sorted(self.queues.values(), key=lambda q: -q.config.weight)
        self._dispatch_pending = False

    @property
    def listener(self) -> AcdListener:
        if self._listener is None:
            raise RuntimeError("Acd.listener is not set")
        return self._listener

    @listener.setter
    def listener(self, value: AcdListener) -> None:
        self._listener = value

    # ------------------------------------------------------------------ members
    def device(self, interface: str) -> Device | None:
        return self.devices.get(interface.lower())

    def device_of_phone(self, interface: str) -> Device | None:
        """The device whose member interface *or* state interface (its phone) is ``interface``."""
        found = self.device(interface)
        if found is not None:
            return found
        wanted = interface.lower()
        return next((d for d in self.devices.values() if d.phone.lower() == wanted), None)

    def add_member(
        self,
        queue: str,
        interface: str,
        name: str,
        *,
        penalty: int = 0,
        paused: bool = False,
        reason: str = "",
        virtual: bool = False,
        membership: str = "dynamic",
        log_it: bool = True,
        state_interface: str = "",
    ) -> Member:
        q = self.queues[queue]
        if interface.lower() in {i.lower() for i in q.members}:
            raise ValueError("already there")
        dev = self.devices.get(interface.lower())
        if dev is None:
            dev = Device(interface, name or interface, self.sched.epoch(), virtual)
            # app_queue.c create_queue_member: no state interface means the interface itself.
            dev.state_interface = state_interface or interface
            self.devices[interface.lower()] = dev
        member = Member(queue, dev, penalty, membership, paused, reason if paused else "")
        q.members[interface] = member
        dev.memberships[queue] = member
        if log_it:
            self.qe.member("QueueMemberAdded", member)
            self.qlog.write(
                self.sched.epoch(),
                "MANAGER",
                queue,
                dev.name,
                "ADDMEMBER",
                "PAUSED" if paused else "",
            )
        self.kick()
        return member

    def remove_member(self, queue: str, interface: str) -> None:
        q = self.queues[queue]
        member = next((m for i, m in q.members.items() if i.lower() == interface.lower()), None)
        if member is None:
            raise KeyError("not there")
        del q.members[member.device.interface]
        member.device.memberships.pop(queue, None)
        self.qe.member("QueueMemberRemoved", member)
        self.qlog.write(
            self.sched.epoch(), "MANAGER", queue, member.device.name, "REMOVEMEMBER", ""
        )

    def set_paused(
        self, interface: str, paused: bool, reason: str = "", queue: str | None = None
    ) -> int:
        """Pause or unpause a member in ``queue`` or in all its queues; returns how many."""
        dev = self.device(interface)
        if dev is None:
            return 0
        members = [m for q, m in dev.memberships.items() if queue is None or q == queue]
        epoch = self.sched.epoch()
        if queue is None and members:
            self.qlog.write(
                epoch, "NONE", "NONE", dev.interface, "PAUSEALL" if paused else "UNPAUSEALL", ""
            )
        for m in members:
            m.paused, m.paused_reason = paused, reason if paused else ""
            if paused:
                m.last_pause = epoch
            self.qlog.write(
                epoch, "NONE", m.queue, dev.name, "PAUSE" if paused else "UNPAUSE", reason
            )
            self.qe.member("QueueMemberPause", m)
        if not paused:
            self.kick()
        return len(members)

    def set_status(self, dev: Device, status: int) -> None:
        """A device-state change: one QueueMemberStatus per queue the device is in."""
        if dev.status == status:
            return
        dev.status = status
        for m in dev.memberships.values():
            self.qe.member("QueueMemberStatus", m)

    # ------------------------------------------------------------------ callers
    def join(self, call: Call, queue: str) -> None:
        q = self.queues[queue]
        call.queue, call.state = queue, "queued"
        q.entries.append(call)
        call.position = call.original_position = len(q.entries)
        call.enqueued_at = self.sched.now
        self.w.newexten(call.chan, "Queue", f"{queue},t,,,300")
        self.qe.caller_join(call, len(q.entries))
        self.w.moh_start(call.chan)
        self.qlog.write(
            self.sched.epoch(),
            call.chan.uniqueid,
            queue,
            "NONE",
            "ENTERQUEUE",
            "",
            call.chan.caller_num,
            call.position,
        )
        call.patience_timer = self.sched.after(call.patience, self.abandon, call)
        self.kick()

    def _leave(self, q: QueueState, call: Call) -> None:
        q.entries.remove(call)
        self.qe.caller_leave(call, len(q.entries))
        for pos, other in enumerate(q.entries, 1):
            other.position = pos

    def kick(self) -> None:
        """Run :meth:`dispatch` once after the current step (coalesces many triggers)."""
        if not self._dispatch_pending:
            self._dispatch_pending = True
            self.sched.after(0.0, self.dispatch)

    def dispatch(self) -> None:
        self._dispatch_pending = False
        for q in self._order:
            for call in list(q.entries):
                if call.attempts or call.retry_timer is not None:
                    continue
                free = self._available(q, call)
                if not free:
                    if call.scripted_agent is None:
                        break
                    continue
                self._ring(q, call, self._choose(q, free))

    def _available(self, q: QueueState, call: Call) -> list[Member]:
        now = self.sched.now
        free = [
            m
            for m in q.members.values()
            if not m.paused
            and m.device.call is None
            and m.device.ringing is None
            and m.device.wrapup_until <= now
            and m.device.status != 5
            and (
                call.scripted_agent is None
                or m.device.interface.lower() == call.scripted_agent.lower()
            )
        ]
        if not free:
            return free
        low = min(m.penalty for m in free)
        return [m for m in free if m.penalty == low]

    def _choose(self, q: QueueState, free: list[Member]) -> list[Member]:
        strategy = q.config.strategy
        if strategy == "ringall":
            return free
        if strategy == "leastrecent":
            return [min(free, key=lambda m: m.device.last_call)]
        if strategy == "fewestcalls":
            return [min(free, key=lambda m: m.calls_taken)]
        if strategy == "random":
            return [free[self.rng.randrange(len(free))]]
        order = list(q.members.values())
        if strategy == "linear":
            return [min(free, key=order.index)]
        # rrmemory: the next member after the one rung last, wrapping round.
        n = len(order)
        for step in range(n):
            m = order[(q.rr_next + step) % n]
            if m in free:
                q.rr_next = (order.index(m) + 1) % n
                return [m]
        return [free[0]]

    def _leg(self, call: Call, dev: Device, name: str, exten: str) -> Channel:
        """A channel towards ``dev`` for ``call`` (the caller's line is its connected line)."""
        return Channel(
            name=name,
            uniqueid=self.ids.uniqueid(self.sched.epoch()),
            linkedid=call.chan.linkedid,
            state=DOWN,
            caller_num=exten,
            caller_name=dev.name,
            connected_num=call.chan.caller_num,
            connected_name=call.chan.caller_name,
            context="from-queue",
            exten=exten,
            created=self.sched.now,
            language=call.chan.language,
            variables=dict(call.chan.variables),
        )

    def _ring_local(self, call: Call, m: Member, exten: str) -> RingAttempt:
        """Ring a Local member: ;1 for the queue, ;2 dialling the phone."""
        dev = m.device
        half1_name, half2_name = self.ids.local_names(dev.location)
        half1 = self._leg(call, dev, half1_name, exten)
        half2 = self._leg(call, dev, half2_name, exten)
        phone = self._leg(call, dev, self.ids.channel_name(dev.phone), exten)
        attempt = RingAttempt(call, m, half1, self.sched.now, local=LocalLegs(half2, phone))
        self.w.newchannel(half1)
        self.w.newchannel(half2)
        self.set_status(dev, DEV_RINGING)
        self.qe.agent_called(call, m, half1)
        self.w.dial_begin(call.chan, half1, dev.location)
        self.w.newchannel(phone)
        self.w.dial_begin(half2, phone, dev.endpoint)
        for ch in (phone, half2, half1):
            ch.state = RINGING
            self.w.newstate(ch)
        return attempt

    def _ring(self, q: QueueState, call: Call, members: list[Member]) -> None:
        for m in members:
            dev = m.device
            exten = dev.endpoint.rsplit("-", 1)[-1]
            if dev.is_local:
                attempt = self._ring_local(call, m, exten)
                call.attempts.append(attempt)
                dev.ringing = attempt
                continue
            chan = Channel(
                name=self.ids.channel_name(dev.interface),
                uniqueid=self.ids.uniqueid(self.sched.epoch()),
                linkedid=call.chan.linkedid,
                state=DOWN,
                caller_num=exten,
                caller_name=dev.name,
                connected_num=call.chan.caller_num,
                connected_name=call.chan.caller_name,
                context="from-queue",
                exten=exten,
                created=self.sched.now,
                language=call.chan.language,
                variables=dict(call.chan.variables),
            )
            attempt = RingAttempt(call, m, chan, self.sched.now)
            call.attempts.append(attempt)
            dev.ringing = attempt
            self.w.newchannel(chan)
            self.set_status(dev, DEV_RINGING)
            self.qe.agent_called(call, m, chan)
            self.w.dial_begin(call.chan, chan, dev.location)
            chan.state = RINGING
            self.w.newstate(chan)
        timer = self.sched.after(q.config.timeout, self.ring_timeout, call)
        for attempt in call.attempts:
            attempt.timer = timer
        for attempt in list(call.attempts):
            self.listener.on_ring(attempt)

    def _drop_attempt(self, attempt: RingAttempt, status: str, cause: int) -> None:
        call, dev = attempt.call, attempt.member.device
        call.attempts.remove(attempt)
        dev.ringing = None
        self.w.dial_end(call.chan, attempt.chan, status)
        self.w.hangup(attempt.chan, cause)
        if attempt.local is not None:  # the ;1 half went: ;2 cancels its dial of the phone
            self.w.dial_end(attempt.local.half2, attempt.local.phone, "CANCEL")
            self.w.hangup(attempt.local.phone, cause)
            self.w.hangup(attempt.local.half2, cause)
        self.set_status(dev, NOT_INUSE)

    def end_local(self, call: Call) -> None:
        """Hang up a connected Local member's ;2 half and phone (after its ;1 half)."""
        legs, call.local = call.local, None
        if legs is None:
            return
        if legs.bridge is not None:
            for ch in (legs.phone, legs.half2):
                if ch in legs.bridge.channels:
                    legs.bridge.channels.remove(ch)
                ch.bridge = None
                self.w.bridge_leave(legs.bridge, ch)
            self.w.bridge_destroy(legs.bridge)
        for ch in (legs.phone, legs.half2):
            if not ch.hungup:
                self.w.hangup(ch)

    def _answer_local(self, legs: LocalLegs) -> None:
        """The phone answers the ;2 half's dial: they are bridged before the queue hears of it."""
        legs.phone.state = legs.half2.state = UP
        self.w.newstate(legs.phone)
        self.w.dial_end(legs.half2, legs.phone, "ANSWER")
        self.w.newstate(legs.half2)
        bridge = Bridge(self.ids.uuid())
        legs.bridge = bridge
        self.w.bridge_create(bridge)
        for ch in (legs.half2, legs.phone):
            bridge.channels.append(ch)
            ch.bridge = bridge
            self.w.bridge_enter(bridge, ch)

    def ring_timeout(self, call: Call) -> None:
        q = self.queues[call.queue or ""]
        for attempt in list(call.attempts):
            m, ms = attempt.member, int((self.sched.now - attempt.started) * 1000)
            self.qe.agent_ring_no_answer(call, m, attempt.chan, ms)
            self._drop_attempt(attempt, "NOANSWER", 19)
            self.qlog.write(
                self.sched.epoch(), call.chan.uniqueid, q.name, m.device.name, "RINGNOANSWER", ms
            )
            if q.config.autopause != "no":
                self.set_paused(
                    m.device.interface,
                    True,
                    "Auto-Pause",
                    None if q.config.autopause == "all" else q.name,
                )
                self.listener.on_auto_paused(m.device)
        call.retry_timer = self.sched.after(q.config.retry, self._retry, call)

    def _retry(self, call: Call) -> None:
        call.retry_timer = None
        self.kick()

    def answer(self, attempt: RingAttempt) -> bool:
        """The member's phone answers; returns False if it is no longer ringing."""
        call = attempt.call
        if attempt not in call.attempts or call.state != "queued":
            return False
        q, m, dev = self.queues[call.queue or ""], attempt.member, attempt.member.device
        if attempt.timer is not None:
            attempt.timer.cancel()
        for other in [a for a in call.attempts if a is not attempt]:
            self._drop_attempt(other, "CANCEL", 26)
        call.attempts.clear()
        if call.patience_timer is not None:
            call.patience_timer.cancel()
        dev.ringing, dev.call = None, call
        call.member, call.agent_chan, call.state = m, attempt.chan, "connected"
        call.local = attempt.local
        if attempt.local is not None:
            self._answer_local(attempt.local)
        holdtime = int(self.sched.now - call.enqueued_at)
        call.ring_seconds = int(self.sched.now - attempt.started)
        self.set_status(dev, INUSE)
        attempt.chan.state = UP
        self.w.newstate(attempt.chan)
        self.w.dial_end(call.chan, attempt.chan, "ANSWER")
        self.w.moh_stop(call.chan)
        self._leave(q, call)
        self.qe.agent_connect(call, m, attempt.chan, holdtime, call.ring_seconds)
        self.qlog.write(
            self.sched.epoch(),
            call.chan.uniqueid,
            q.name,
            dev.name,
            "CONNECT",
            holdtime,
            attempt.chan.uniqueid,
            call.ring_seconds,
        )
        q.holdtime = (3 * q.holdtime + holdtime) >> 2
        if holdtime <= q.config.servicelevel:
            q.completed_in_sl += 1
        bridge = Bridge(self.ids.uuid())
        call.bridge, call.answered_at = bridge, self.sched.now
        self.w.bridge_create(bridge)
        for ch in (attempt.chan, call.chan):
            bridge.channels.append(ch)
            ch.bridge = bridge
            self.w.bridge_enter(bridge, ch)
        self.listener.on_connected(call)
        return True

    def abandon(self, call: Call) -> None:
        """The caller's patience ran out while queued: hang up and record the abandon."""
        if call.state != "queued":
            return
        q = self.queues[call.queue or ""]
        if call.retry_timer is not None:
            call.retry_timer.cancel()
        self.w.hangup_request(call.chan)
        for attempt in list(call.attempts):
            if attempt.timer is not None:
                attempt.timer.cancel()
            ms = int((self.sched.now - attempt.started) * 1000)
            self._drop_attempt(attempt, "CANCEL", 16)
            self.qlog.write(
                self.sched.epoch(),
                call.chan.uniqueid,
                q.name,
                attempt.member.device.name,
                "RINGCANCELED",
                ms,
            )
        wait = int(self.sched.now - call.enqueued_at)
        call.chan.set_var("ABANDONED", "TRUE")
        self.w.varset(call.chan, "ABANDONED", "TRUE")
        self.qe.caller_abandon(call, wait)
        self.qlog.write(
            self.sched.epoch(),
            call.chan.uniqueid,
            q.name,
            "NONE",
            "ABANDON",
            call.position,
            call.original_position,
            wait,
        )
        self._leave(q, call)
        q.abandoned += 1
        if wait <= q.config.servicelevel:
            q.abandoned_in_sl += 1
        call.state = "ended"
        self.w.hangup(call.chan)
        self.kick()

    def withdraw(self, call: Call, info: str) -> None:
        """``QueueWithdrawCaller``: the caller leaves the queue back to the dialplan.

        The order and lines are app_queue.c's (18.11+/20): ``record_abandoned``
        (so ``QueueCallerAbandon`` and the queue's abandoned count, as Asterisk
        does), the ``WITHDRAW`` queue_log line, ``QUEUE_WITHDRAW_INFO``, then
        ``QueueCallerLeave`` and ``QUEUESTATUS=WITHDRAW``. The simulator has no
        dialplan after the queue, so the caller is then hung up.
        """
        if call.state != "queued":
            return
        q = self.queues[call.queue or ""]
        for timer in (call.retry_timer, call.patience_timer):
            if timer is not None:
                timer.cancel()
        for attempt in list(call.attempts):
            if attempt.timer is not None:
                attempt.timer.cancel()
            self._drop_attempt(attempt, "CANCEL", 16)
        wait = int(self.sched.now - call.enqueued_at)
        call.chan.set_var("ABANDONED", "TRUE")
        self.w.varset(call.chan, "ABANDONED", "TRUE")
        self.qe.caller_abandon(call, wait)
        q.abandoned += 1
        if wait <= q.config.servicelevel:
            q.abandoned_in_sl += 1
        # Asterisk writes the info with "%.40s": at most 40 characters.
        self.qlog.write(self.sched.epoch(), call.chan.uniqueid, q.name, "NONE", "WITHDRAW",
                        call.position, call.original_position, wait, info[:40])  # fmt: skip
        if info:
            call.chan.set_var("QUEUE_WITHDRAW_INFO", info)
            self.w.varset(call.chan, "QUEUE_WITHDRAW_INFO", info)
        self.w.moh_stop(call.chan)
        self._leave(q, call)
        call.chan.set_var("QUEUESTATUS", "WITHDRAW")
        self.w.varset(call.chan, "QUEUESTATUS", "WITHDRAW")
        call.state = "ended"
        self.w.hangup(call.chan)
        self.kick()

    def finish_member(self, call: Call, talktime: int) -> None:
        """Book-keeping when a connected call leaves its member (hangup or transfer)."""
        member, q = call.member, self.queues[call.queue or ""]
        assert member is not None
        dev = member.device
        q.completed += 1
        q.talktime = (3 * q.talktime + talktime) >> 2
        member.calls_taken += 1
        member.last_call = dev.last_call = self.sched.epoch()
        dev.call = None
        dev.wrapup_until = self.sched.now + q.config.wrapuptime
        self.set_status(dev, NOT_INUSE)
        if q.config.wrapuptime > 0:
            self.sched.after(q.config.wrapuptime, self.kick)
        self.kick()
        self.listener.on_call_ended(call, member)
