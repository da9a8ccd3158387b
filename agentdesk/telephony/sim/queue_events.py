"""app_queue.c events and list items, in Asterisk 20's header order and spellings."""

from __future__ import annotations

from agentdesk.telephony.sim.events import EventWriter, Pairs
from agentdesk.telephony.sim.model import Channel
from agentdesk.telephony.sim.state import Call, Member, QueueState


def member_blob(member: Member) -> Pairs:
    """queue_member_blob_create(): the body of QueueMemberStatus/Added/Removed/Pause."""
    dev = member.device
    return [
        ("Queue", member.queue),
        ("MemberName", dev.name),
        ("Interface", dev.interface),
        ("StateInterface", dev.phone),
        ("Membership", member.membership),
        ("Penalty", str(member.penalty)),
        ("CallsTaken", str(member.calls_taken)),
        ("LastCall", str(int(member.last_call))),
        ("LastPause", str(int(member.last_pause))),
        ("LoginTime", str(int(dev.login_time))),
        ("InCall", "1" if dev.call else "0"),
        ("Status", str(dev.status)),
        ("Paused", "1" if member.paused else "0"),
        ("PausedReason", member.paused_reason),
        ("Ringinuse", "0"),
        ("Wrapuptime", "0"),
    ]


class QueueEvents:
    """Emits the queue family of events through an :class:`EventWriter`."""

    def __init__(self, writer: EventWriter) -> None:
        self.w = writer

    def member(self, name: str, member: Member) -> None:
        """QueueMemberStatus, QueueMemberAdded, QueueMemberRemoved or QueueMemberPause."""
        self.w.emit(name, "agent", member_blob(member))

    def caller_join(self, call: Call, count: int) -> None:
        assert call.queue is not None
        body = [
            *self.w.snapshot(call.chan),
            ("Queue", call.queue),
            ("Position", str(call.position)),
            ("Count", str(count)),
        ]
        self.w.emit("QueueCallerJoin", "agent", body, chan=call.chan)

    def caller_leave(self, call: Call, count: int) -> None:
        assert call.queue is not None
        body = [
            *self.w.snapshot(call.chan),
            ("Queue", call.queue),
            ("Position", str(call.position)),
            ("Count", str(count)),
        ]
        self.w.emit("QueueCallerLeave", "agent", body, chan=call.chan)

    def caller_abandon(self, call: Call, holdtime: int) -> None:
        assert call.queue is not None
        body = [
            *self.w.snapshot(call.chan),
            ("Queue", call.queue),
            ("Position", str(call.position)),
            ("OriginalPosition", str(call.original_position)),
            ("HoldTime", str(holdtime)),
        ]
        self.w.emit("QueueCallerAbandon", "agent", body, chan=call.chan)

    def _agent_body(self, call: Call, member: Member, agent: Channel) -> Pairs:
        return [
            *self.w.snapshot(call.chan),
            *self.w.snapshot(agent, "Dest"),
            ("Queue", member.queue),
            ("Interface", member.device.interface),
            ("MemberName", member.device.name),
        ]

    def agent_called(self, call: Call, member: Member, agent: Channel) -> None:
        self.w.emit("AgentCalled", "agent", self._agent_body(call, member, agent))

    def agent_ring_no_answer(self, call: Call, member: Member, agent: Channel, ms: int) -> None:
        body = [*self._agent_body(call, member, agent), ("RingTime", str(ms))]
        self.w.emit("AgentRingNoAnswer", "agent", body)

    def agent_connect(
        self, call: Call, member: Member, agent: Channel, holdtime: int, ringtime: int
    ) -> None:
        body = [
            *self._agent_body(call, member, agent),
            ("HoldTime", str(holdtime)),
            ("RingTime", str(ringtime)),
        ]
        self.w.emit("AgentConnect", "agent", body)

    def agent_complete(
        self, call: Call, member: Member, agent: Channel, holdtime: int, talktime: int, reason: str
    ) -> None:
        body = [
            *self._agent_body(call, member, agent),
            ("HoldTime", str(holdtime)),
            ("TalkTime", str(talktime)),
            ("Reason", reason),
        ]
        self.w.emit("AgentComplete", "agent", body)


def queue_params(q: QueueState) -> Pairs:
    """QueueStatus's QueueParams item (note ``Holdtime`` and ``ServicelevelPerf``)."""
    return [
        ("Queue", q.name),
        ("Max", str(q.config.maxlen)),
        ("Strategy", q.config.strategy),
        ("Calls", str(len(q.entries))),
        ("Holdtime", str(q.holdtime)),
        ("TalkTime", str(q.talktime)),
        ("Completed", str(q.completed)),
        ("Abandoned", str(q.abandoned)),
        ("ServiceLevel", str(q.config.servicelevel)),
        ("ServicelevelPerf", f"{q.sl_perf():2.1f}"),
        ("ServicelevelPerf2", f"{q.sl_perf2():2.1f}"),
        ("Weight", str(q.config.weight)),
    ]


def queue_member(member: Member) -> Pairs:
    """QueueStatus's QueueMember item (``Name``/``Location``, not MemberName/Interface)."""
    dev = member.device
    return [
        ("Queue", member.queue),
        ("Name", dev.name),
        ("Location", dev.interface),
        ("StateInterface", dev.phone),
        ("Membership", member.membership),
        ("Penalty", str(member.penalty)),
        ("CallsTaken", str(member.calls_taken)),
        ("LastCall", str(int(member.last_call))),
        ("LastPause", str(int(member.last_pause))),
        ("LoginTime", str(int(dev.login_time))),
        ("InCall", "1" if dev.call else "0"),
        ("Status", str(dev.status)),
        ("Paused", "1" if member.paused else "0"),
        ("PausedReason", member.paused_reason),
        ("Wrapuptime", "0"),
    ]


def queue_entry(q: QueueState, call: Call, now: float) -> Pairs:
    ch = call.chan
    return [
        ("Queue", q.name),
        ("Position", str(call.position)),
        ("Channel", ch.name),
        ("Uniqueid", ch.uniqueid),
        ("CallerIDNum", ch.caller_num or "unknown"),
        ("CallerIDName", ch.caller_name or "unknown"),
        ("ConnectedLineNum", ch.connected_num or "unknown"),
        ("ConnectedLineName", ch.connected_name or "unknown"),
        ("Wait", str(int(now - call.enqueued_at))),
        ("Priority", "0"),
    ]


def queue_summary(q: QueueState, now: float) -> Pairs:
    logged_in = len(q.members)
    available = sum(
        1
        for m in q.members.values()
        if not m.paused and m.device.call is None and m.device.ringing is None
    )
    longest = max((int(now - c.enqueued_at) for c in q.entries), default=0)
    return [
        ("Queue", q.name),
        ("LoggedIn", str(logged_in)),
        ("Available", str(available)),
        ("Callers", str(len(q.entries))),
        ("HoldTime", str(q.holdtime)),
        ("TalkTime", str(q.talktime)),
        ("LongestHoldTime", str(longest)),
    ]
