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

from agentdesk.services.supervisor.floor import BUSY_STATES, Agent, Call, Member, caller_label
from agentdesk.services.supervisor.queue_log import QueueLogRecord
from agentdesk.services.supervisor.views import AgentStatus, WaitingCaller
from agentdesk.telephony.events import (
    AmiEvent,
    CoreShowChannel,
    QueueEntry,
    QueueMember,
    QueueParams,
    QueueSummary,
)

if TYPE_CHECKING:
    from agentdesk.services.supervisor.board import LiveBoard


def _epoch(value: int | None, now: float) -> float | None:
    """A PBX epoch field (0 = never) clamped to now."""
    return min(float(value), now) if value else None


def _rebuild_waiting(board: LiveBoard, entries: Sequence[QueueEntry], now: float) -> None:
    fresh: dict[str, dict[str, WaitingCaller]] = {}
    for entry in entries:
        queue, uid = entry.queue, entry.uniqueid
        if not queue or not uid:
            continue
        known = board.waiting.get(queue, {}).get(uid)
        since = known.since if known else now - (entry.wait or 0)
        caller = known.caller if known else caller_label(entry.channel)
        fresh.setdefault(queue, {})[uid] = WaitingCaller(uid, queue, caller, since)
    board.waiting = fresh


def _call_from_channels(
    agent: Agent, channels: Sequence[CoreShowChannel], now: float
) -> Call | None:
    prefix = agent.interface.lower() + "-"
    leg = next((c for c in channels if c.channel.channel.lower().startswith(prefix)), None)
    if leg is None:
        return None
    bridge = leg.bridge_id
    queue, uniqueid = "", ""
    for other in channels:
        if other is leg or not bridge or other.bridge_id != bridge:
            continue
        if other.application.lower() == "queue":
            queue = other.application_data.split(",", 1)[0]
        uniqueid = other.uniqueid
    caller = caller_label(leg.channel, connected=True)
    since = now - float(leg.duration_s or 0)
    return Call(caller, queue, uniqueid, leg.channel.channel, since)


def _member_times(agent: Agent, rows: Sequence[QueueMember], now: float) -> float | None:
    """When the agent's current state most likely began, from LastPause/LastCall/LoginTime."""
    if agent.status is AgentStatus.PAUSED:
        pauses = [_epoch(r.last_pause, now) for r in rows]
        return max((p for p in pauses if p is not None), default=None)
    if agent.status is AgentStatus.AVAILABLE:
        marks = [_epoch(m, now) for r in rows for m in (r.last_call, r.login_time)]
        return max((m for m in marks if m is not None), default=None)
    return None


def apply_resync(
    board: LiveBoard,
    queue_status: Sequence[AmiEvent],
    channels: Sequence[CoreShowChannel],
    summary: Sequence[QueueSummary],
    now: float,
) -> None:
    names = [e.queue for e in queue_status if isinstance(e, QueueParams)]
    names += [s.queue for s in summary]
    board.queue_names.update(name for name in names if name)
    _rebuild_waiting(board, [e for e in queue_status if isinstance(e, QueueEntry)], now)
    rows: dict[str, list[QueueMember]] = {}
    for row in queue_status:
        if isinstance(row, QueueMember) and row.interface and row.queue:
            rows.setdefault(row.interface.lower(), []).append(row)
    floor = board.floor
    for key in [k for k in floor.agents if k not in rows]:
        agent = floor.agents.pop(key)
        floor.end_call(agent)
    for key, member_rows in rows.items():
        _resync_agent(board, key, member_rows, channels, now)


def _resync_agent(
    board: LiveBoard,
    key: str,
    rows: list[QueueMember],
    channels: Sequence[CoreShowChannel],
    now: float,
) -> None:
    floor = board.floor
    fresh = key not in floor.agents
    agent = floor.agent(rows[0].interface, rows[0].member_name, now)
    agent.members = {}
    for row in rows:
        member = Member(row.queue, row.paused, "", row.penalty or 0, row.calls_taken or 0)
        member.reason = row.paused_reason if member.paused else ""
        agent.members[member.queue] = member
    agent.device = max(int(r.status) if r.status is not None else 1 for r in rows)
    in_call = any(r.in_call for r in rows) or agent.device in BUSY_STATES
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
