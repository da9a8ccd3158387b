"""AMI queue events as queue_log records, so live and historical figures share one definition.

The wallboard's service level, ASA, AHT and abandonment come from
:class:`~agentdesk.services.queue_metrics.LiveQueueMetrics`, which reads
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

``QueueCallerLeave`` is ambiguous on its own: Asterisk sends it when an
agent answers (just *before* ``AgentConnect``), after an abandon, and when a
caller leaves unanswered (timeout, key press). :class:`LeaveResolver` holds
a leave briefly and turns it into a flow-out only if neither happened.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

from agentdesk.services.queue_log import QueueLogRecord


class AmiEvent(Protocol):
    """The part of an AMI message read here (``agentdesk.telephony.codec.AmiMessage``)."""

    def get(self, key: str, default: str | None = None) -> str | None: ...


def _text(event: AmiEvent, key: str) -> str:
    return (event.get(key) or "").strip()


_ASCII_INT = re.compile(r"-?[0-9]{1,18}")


def _int(event: AmiEvent, key: str) -> str:
    """The header as integer text ('' when missing or not an ASCII number)."""
    value = _text(event, key)
    return value if _ASCII_INT.fullmatch(value) else ""


def _record(
    at: float, call_id: str, queue: str, agent: str, event: str, *data: str
) -> QueueLogRecord:
    return QueueLogRecord(0, at, call_id or "NONE", queue, agent or "NONE", event, tuple(data))


def _complete(event: AmiEvent, at: float) -> QueueLogRecord:
    reason = _text(event, "Reason").lower()
    holdtime, talktime = _int(event, "HoldTime"), _int(event, "TalkTime")
    uid, queue, member = _text(event, "Uniqueid"), _text(event, "Queue"), _text(event, "MemberName")
    if reason == "transfer":
        return _record(at, uid, queue, member, "TRANSFER", "", "", holdtime, talktime, "")
    name = "COMPLETEAGENT" if reason == "agent" else "COMPLETECALLER"
    return _record(at, uid, queue, member, name, holdtime, talktime, "")


def _pause(event: AmiEvent, at: float) -> QueueLogRecord:
    paused = _text(event, "Paused") in ("1", "true", "yes")
    reason = _text(event, "PausedReason") or _text(event, "Reason")
    name = "PAUSE" if paused else "UNPAUSE"
    return _record(at, "NONE", _text(event, "Queue"), _text(event, "MemberName"), name, reason)


def to_record(event: AmiEvent, at: float) -> QueueLogRecord | None:
    """The queue_log twin of ``event`` (None for events with none, or a Leave: see above)."""
    name = _text(event, "Event").lower()
    uid, queue = _text(event, "Uniqueid"), _text(event, "Queue")
    if not queue:
        return None
    member = _text(event, "MemberName")
    if name == "queuecallerjoin":
        return _record(at, uid, queue, "", "ENTERQUEUE", "", _text(event, "CallerIDNum"),
                       _int(event, "Position"))  # fmt: skip
    if name == "agentconnect":
        return _record(at, uid, queue, member, "CONNECT", _int(event, "HoldTime"),
                       _text(event, "DestUniqueid"), _int(event, "RingTime"))  # fmt: skip
    if name == "agentcomplete":
        return _complete(event, at)
    if name == "queuecallerabandon":
        return _record(at, uid, queue, "", "ABANDON", _int(event, "Position"),
                       _int(event, "OriginalPosition"), _int(event, "HoldTime"))  # fmt: skip
    if name == "agentringnoanswer":
        return _record(at, uid, queue, member, "RINGNOANSWER", _int(event, "RingTime"))
    if name == "queuememberadded":
        return _record(at, "MANAGER", queue, member, "ADDMEMBER", "")
    if name == "queuememberremoved":
        return _record(at, "MANAGER", queue, member, "REMOVEMEMBER", "")
    if name == "queuememberpause":
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
