"""AMI queue events as queue_log records, so live and historical figures share one definition.

The wallboard's service level, ASA, AHT and abandonment come from
:class:`~agentdesk.services.supervisor.queue_metrics.LiveQueueMetrics`, which reads
queue_log records. Each AMI queue event has a queue_log twin that
Asterisk's app_queue writes at the same moment; this module builds it:

======================  ==========================================
AMI event               queue_log line
======================  ==========================================
QueueCallerJoin         ENTERQUEUE
AgentConnect            CONNECT (holdtime, bridged uniqueid, ringtime)
AgentComplete           COMPLETECALLER / COMPLETEAGENT / TRANSFER
QueueCallerAbandon      ABANDON (position, original position, wait)
AgentRingNoAnswer       RINGNOANSWER (ring time in ms)
QueueMemberAdded        ADDMEMBER
QueueMemberRemoved      REMOVEMEMBER
QueueMemberPause        PAUSE / UNPAUSE (reason)
QueueCallerLeave        EXITWITHTIMEOUT, only when no answer follows
======================  ==========================================

``QueueCallerAbandon`` is ambiguous too: Asterisk 20 sends it for a caller
who hung up *and* for one withdrawn by ``QueueWithdrawCaller``
(:class:`AbandonResolver` below tells the two apart).

``QueueCallerLeave`` is ambiguous on its own: Asterisk sends it when an
agent answers (just *before* ``AgentConnect``), after an abandon, and when a
caller leaves unanswered (timeout, key press). :class:`LeaveResolver` holds
a leave briefly and turns it into a flow-out only if neither happened.
"""

from __future__ import annotations

from collections.abc import Callable

from agentdesk.services.supervisor.queue_log import QueueLogRecord
from agentdesk.telephony.events import (
    AgentComplete,
    AgentConnect,
    AgentRingNoAnswer,
    AmiEvent,
    CompleteReason,
    QueueCallerAbandon,
    QueueCallerJoin,
    QueueMemberAdded,
    QueueMemberPause,
    QueueMemberRemoved,
)


def _num(value: int | None) -> str:
    """A queue_log integer field: '' when the event had no readable number."""
    return "" if value is None else str(value)


def _record(
    at: float, call_id: str, queue: str, agent: str, event: str, *data: str
) -> QueueLogRecord:
    return QueueLogRecord(0, at, call_id or "NONE", queue, agent or "NONE", event, tuple(data))


def _complete(event: AgentComplete, at: float) -> QueueLogRecord:
    holdtime, talktime = _num(event.hold_time), _num(event.talk_time)
    uid, queue, member = event.uniqueid, event.queue, event.member_name
    if event.reason is CompleteReason.TRANSFER:
        return _record(at, uid, queue, member, "TRANSFER", "", "", holdtime, talktime, "")
    name = "COMPLETEAGENT" if event.reason is CompleteReason.AGENT else "COMPLETECALLER"
    return _record(at, uid, queue, member, name, holdtime, talktime, "")


def _pause(event: QueueMemberPause, at: float) -> QueueLogRecord:
    name = "PAUSE" if event.paused else "UNPAUSE"
    return _record(at, "NONE", event.queue, event.member_name, name, event.paused_reason)


def to_record(event: AmiEvent, at: float) -> QueueLogRecord | None:
    """The queue_log twin of ``event`` (None for events with none, or a Leave: see above)."""
    queue = getattr(event, "queue", "")
    if not queue:
        return None
    if isinstance(event, QueueCallerJoin):
        return _record(at, event.uniqueid, queue, "", "ENTERQUEUE", "",
                       event.channel.caller_num, _num(event.position))  # fmt: skip
    if isinstance(event, AgentConnect):
        return _record(at, event.uniqueid, queue, event.member_name, "CONNECT",
                       _num(event.hold_time), event.dest.uniqueid,
                       _num(event.ring_time))  # fmt: skip
    if isinstance(event, AgentComplete):
        return _complete(event, at)
    if isinstance(event, QueueCallerAbandon):
        return _record(at, event.uniqueid, queue, "", "ABANDON", _num(event.position),
                       _num(event.original_position), _num(event.hold_time))  # fmt: skip
    if isinstance(event, AgentRingNoAnswer):
        return _record(at, event.uniqueid, queue, event.member_name, "RINGNOANSWER",
                       _num(event.ring_time_ms))  # fmt: skip
    if isinstance(event, QueueMemberAdded):
        return _record(at, "MANAGER", queue, event.member_name, "ADDMEMBER", "")
    if isinstance(event, QueueMemberRemoved):
        return _record(at, "MANAGER", queue, event.member_name, "REMOVEMEMBER", "")
    if isinstance(event, QueueMemberPause):
        return _pause(event, at)
    return None


class LeaveResolver:
    """Turns a ``QueueCallerLeave`` that no answer or abandon explains into a flow-out.

    ``grace_s`` is how long to wait for the ``AgentConnect`` that follows a
    leave at answer; Asterisk sends the two within the same millisecond, so a
    couple of seconds is generous and still shows a timed-out caller leaving
    the figures almost at once.
    """

    def __init__(self, emit: Callable[[QueueLogRecord], None], grace_s: float = 2.0) -> None:
        self._emit = emit
        self._grace_s = grace_s
        self._pending: dict[tuple[str, str], tuple[float, float]] = {}  # key -> (at, waited)
        self._settled: dict[tuple[str, str], None] = {}  # answered or abandoned: leave expected

    def settle(self, uniqueid: str, queue: str) -> None:
        """An answer or abandon for this call: its leave is not a flow-out."""
        key = (uniqueid, queue)
        if self._pending.pop(key, None) is None:
            self._settled[key] = None
            if len(self._settled) > 10_000:
                del self._settled[next(iter(self._settled))]

    def leave(self, uniqueid: str, queue: str, at: float, waited: float) -> None:
        key = (uniqueid, queue)
        if key in self._settled:
            del self._settled[key]
            return
        self._pending[key] = (at, waited)

    def flush(self, now: float) -> None:
        """Emit the flow-outs whose grace has passed."""
        for key, (at, waited) in list(self._pending.items()):
            if now - at >= self._grace_s:
                del self._pending[key]
                uid, queue = key
                self._emit(_record(at, uid, queue, "", "EXITWITHTIMEOUT", "", "", str(int(waited))))


class AbandonResolver:
    """Holds an ABANDON until the caller's channel says whether it was a withdrawal.

    In Asterisk 20's app_queue.c a ``QueueWithdrawCaller`` request ends the
    caller's wait through the same ``record_abandoned()`` as a hang-up (so the
    AMI shows ``QueueCallerAbandon``), then writes the ``WITHDRAW`` queue_log
    line, sets ``QUEUE_WITHDRAW_INFO`` when the request carried info, sends
    ``QueueCallerLeave`` from ``leave_queue()`` and last sets
    ``QUEUESTATUS=WITHDRAW`` (``set_queue_result()``), all on the caller's
    channel in that order. A caller who hung up gets no ``QUEUESTATUS`` and
    their channel's ``Hangup`` follows. So the ABANDON waits here until the
    withdrawal arrives (it becomes the WITHDRAW record, a flow-out), the
    caller's ``Hangup`` arrives, or ``grace_s`` passes (then it is an abandon).
    """

    def __init__(
        self, emit: Callable[[QueueLogRecord], None], grace_s: float = 2.0, limit: int = 10_000
    ) -> None:
        self._emit = emit
        self._grace_s = grace_s
        self._limit = limit
        self._pending: dict[str, tuple[float, QueueLogRecord, str]] = {}  # uid -> (at, rec, info)

    def __len__(self) -> int:
        return len(self._pending)

    def abandon(self, uniqueid: str, record: QueueLogRecord, at: float) -> None:
        """A ``QueueCallerAbandon``'s ABANDON record: held until it is known what it was."""
        old = self._pending.pop(uniqueid, None)
        if old is not None:
            self._emit(old[1])
        self._pending[uniqueid] = (at, record, "")
        while len(self._pending) > self._limit:
            self._emit(self._pending.pop(next(iter(self._pending)))[1])

    def info(self, uniqueid: str, text: str) -> None:
        """``QUEUE_WITHDRAW_INFO`` of a held caller (comes before ``QUEUESTATUS``)."""
        held = self._pending.get(uniqueid)
        if held is not None:
            self._pending[uniqueid] = (held[0], held[1], text[:40])

    def withdraw(self, uniqueid: str) -> bool:
        """``QUEUESTATUS=WITHDRAW``: the held ABANDON becomes a WITHDRAW; False if none held."""
        held = self._pending.pop(uniqueid, None)
        if held is None:
            return False
        _, record, info = held
        position, origposition, waittime = (*record.data, "", "", "")[:3]
        self._emit(_record(record.timestamp, record.call_id, record.queue, "", "WITHDRAW",
                           position, origposition, waittime, info))  # fmt: skip
        return True

    def hangup(self, uniqueid: str) -> bool:
        """The caller's channel hung up: a held ABANDON was a real one."""
        held = self._pending.pop(uniqueid, None)
        if held is None:
            return False
        self._emit(held[1])
        return True

    def flush(self, now: float) -> bool:
        """Emit the held ABANDONs whose grace has passed; True when any was."""
        due = [uid for uid, (at, _, _) in self._pending.items() if now - at >= self._grace_s]
        for uid in due:
            self._emit(self._pending.pop(uid)[1])
        return bool(due)
