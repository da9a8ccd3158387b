"""Rebuild the board from the PBX's own lists after a (re)login or a periodic resync.

``QueueStatus`` gives queues (QueueParams), members with pause state, device
state and calls taken (QueueMember), and waiting callers with their wait so
far (QueueEntry); ``CoreShowChannels`` gives the calls in progress, from
which an agent already talking at login gets their caller, queue and talk
time; ``QueueSummary`` lists queues that may have neither members nor
callers. Anything the events told us that the lists contradict is replaced:
the PBX is the source of truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from agentdesk.services.queue_log import QueueLogRecord
from agentdesk.services.supervisor.floor import (
    BUSY_STATES,
    Agent,
    Call,
    Member,
    caller_label,
    flag,
    number,
    text,
)
from agentdesk.services.supervisor.records import AmiEvent
from agentdesk.services.supervisor.views import AgentStatus, WaitingCaller

if TYPE_CHECKING:
    from agentdesk.services.supervisor.board import LiveBoard


def _duration(value: str) -> float:
    """CoreShowChannel ``Duration`` (HH:MM:SS) in seconds; 0 when unreadable."""
    parts = value.split(":")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() and len(p) <= 6 for p in parts):
        return 0.0
    hours, minutes, seconds = (int(p) for p in parts)
    return float(hours * 3600 + minutes * 60 + seconds)


def _epoch(value: int, now: float) -> float | None:
    """A PBX epoch field (0 = never) clamped to now."""
    return min(float(value), now) if value > 0 else None


def _rebuild_waiting(board: LiveBoard, entries: Sequence[AmiEvent], now: float) -> None:
    fresh: dict[str, dict[str, WaitingCaller]] = {}
    for entry in entries:
        queue, uid = text(entry, "Queue"), text(entry, "Uniqueid")
        if not queue or not uid:
            continue
        known = board.waiting.get(queue, {}).get(uid)
        since = known.since if known else now - number(entry, "Wait")
        caller = known.caller if known else caller_label(entry)
        fresh.setdefault(queue, {})[uid] = WaitingCaller(uid, queue, caller, since)
    board.waiting = fresh


def _call_from_channels(agent: Agent, channels: Sequence[AmiEvent], now: float) -> Call | None:
    prefix = agent.interface.lower() + "-"
    leg = next((c for c in channels if text(c, "Channel").lower().startswith(prefix)), None)
    if leg is None:
        return None
    bridge = text(leg, "BridgeId")
    queue, uniqueid = "", ""
    for other in channels:
        if other is leg or not bridge or text(other, "BridgeId") != bridge:
            continue
        if text(other, "Application").lower() == "queue":
            queue = text(other, "ApplicationData").split(",", 1)[0]
        uniqueid = text(other, "Uniqueid")
    caller = caller_label(leg, "ConnectedLine")
    since = now - _duration(text(leg, "Duration"))
    return Call(caller, queue, uniqueid, text(leg, "Channel"), since)


def _member_times(agent: Agent, rows: Sequence[AmiEvent], now: float) -> float | None:
    """When the agent's current state most likely began, from LastPause/LastCall/LoginTime."""
    if agent.status is AgentStatus.PAUSED:
        pauses = [_epoch(number(r, "LastPause"), now) for r in rows]
        return max((p for p in pauses if p is not None), default=None)
    if agent.status is AgentStatus.AVAILABLE:
        marks = [_epoch(number(r, k), now) for r in rows for k in ("LastCall", "LoginTime")]
        return max((m for m in marks if m is not None), default=None)
    return None


def apply_resync(
    board: LiveBoard,
    queue_status: Sequence[AmiEvent],
    channels: Sequence[AmiEvent],
    summary: Sequence[AmiEvent],
    now: float,
) -> None:
    by_kind: dict[str, list[AmiEvent]] = {}
    for item in queue_status:
        by_kind.setdefault(text(item, "Event").lower(), []).append(item)
    for item in (*by_kind.get("queueparams", ()), *summary):
        if text(item, "Queue"):
            board.queue_names.add(text(item, "Queue"))
    _rebuild_waiting(board, by_kind.get("queueentry", ()), now)
    rows: dict[str, list[AmiEvent]] = {}
    for row in by_kind.get("queuemember", ()):
        if text(row, "Location") and text(row, "Queue"):
            rows.setdefault(text(row, "Location").lower(), []).append(row)
    floor = board.floor
    for key in [k for k in floor.agents if k not in rows]:
        agent = floor.agents.pop(key)
        floor.end_call(agent)
    for key, member_rows in rows.items():
        _resync_agent(board, key, member_rows, channels, now)


def _resync_agent(
    board: LiveBoard, key: str, rows: list[AmiEvent], channels: Sequence[AmiEvent], now: float
) -> None:
    floor = board.floor
    fresh = key not in floor.agents
    agent = floor.agent(text(rows[0], "Location"), text(rows[0], "Name"), now)
    agent.members = {}
    for row in rows:
        member = Member(text(row, "Queue"), flag(row, "Paused"), "", number(row, "Penalty"),
                        number(row, "CallsTaken"))  # fmt: skip
        member.reason = text(row, "PausedReason") if member.paused else ""
        agent.members[member.queue] = member
    agent.device = max(number(r, "Status", 1) for r in rows)
    in_call = any(flag(r, "InCall") for r in rows) or agent.device in BUSY_STATES
    agent.handled = max(agent.handled, sum(m.calls_taken for m in agent.members.values()))
    if in_call and agent.call is None:
        agent.call = _call_from_channels(agent, channels, now)
        if agent.call is not None and agent.call.channel:
            floor.channels[agent.call.channel] = key
    elif not in_call and agent.call is not None:
        _close_missed_call(board, agent, now)
    changed = floor.derive(agent, now)
    if fresh or changed:
        started = _member_times(agent, rows, now)
        if agent.call is not None:
            started = agent.call.since
        agent.since = min(now, started) if started is not None else now


def _close_missed_call(board: LiveBoard, agent: Agent, now: float) -> None:
    """The call ended while the link was down: count it, with the talk time seen so far."""
    call = agent.call
    assert call is not None
    talk = str(int(max(0.0, now - call.since)))
    record = QueueLogRecord(0, now, call.uniqueid or "NONE", call.queue, agent.name,
                            "COMPLETECALLER", ("", talk, ""))  # fmt: skip
    if call.queue:
        board.feed(record)
    board.floor.end_call(agent)
