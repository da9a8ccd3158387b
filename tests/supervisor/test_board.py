"""The live board against the real simulator: hand-computed figures, states, waiting callers."""

from __future__ import annotations

import pytest

from agentdesk.services.supervisor import AgentStatus
from agentdesk.telephony.sim.config import QueueConfig
from tests.supervisor.simfloor import GENERAL, SimFloor, settings

IFACE = "PJSIP/agent-3001"


def test_resync_at_login_lists_queues_and_agents() -> None:
    floor = SimFloor(agents=2)
    snap = floor.board.snapshot(floor.now)
    assert [q.name for q in snap.queues] == ["general"]
    assert [a.interface for a in snap.agents] == ["PJSIP/agent-3001", "PJSIP/agent-3002"]
    assert {a.status for a in snap.agents} == {AgentStatus.AVAILABLE}
    queue = snap.queues[0]
    assert (queue.logged_in, queue.available, queue.waiting) == (2, 2, 0)


def test_hand_computed_service_level_asa_and_abandonment() -> None:
    """One agent; A answered after 2 s, B after 33 s, C abandons after 10 s.

    SL = answered within 20 s ÷ (answered + abandoned) = 1 ÷ 3; ASA = (2 + 33) ÷ 2;
    abandonment = 1 ÷ 3; AHT = talk ÷ handled = (30 + 30) ÷ 2.
    """
    floor = SimFloor(agents=1)
    floor.call("+447700900001", handle_time=30)
    floor.run(1)
    floor.call("+447700900002", handle_time=30)
    floor.run(1)
    floor.call("+447700900003", handle_time=30, patience=10)
    floor.run(0.5)
    queue = floor.board.snapshot(floor.now).queues[0]
    assert queue.waiting == 2
    assert floor.now - queue.oldest_since == pytest.approx(1.5)
    floor.run(200)
    queue = floor.board.snapshot(floor.now).queues[0]
    assert (queue.offered, queue.answered, queue.abandoned, queue.waiting) == (3, 2, 1, 0)
    assert queue.sl_today == pytest.approx(1 / 3)
    assert queue.asa_s == pytest.approx((2 + 33) / 2)
    assert queue.abandon_rate == pytest.approx(1 / 3)
    assert queue.aht_s == pytest.approx(30)
    agent = floor.board.snapshot(floor.now).agents[0]
    assert (agent.calls_handled, agent.aht_s) == (2, pytest.approx(30))


def test_agent_follows_ringing_call_wrapup_and_pause() -> None:
    queue = QueueConfig("general", timeout=15, retry=5, wrapuptime=12, servicelevel=20)
    floor = SimFloor(agents=1, queues={"general": queue},
                     board_settings=settings(wrapup_s={"general": 12}))  # fmt: skip
    floor.call("+447700900001", name="Ada Lovelace", handle_time=40)
    floor.run(1)
    agent = floor.board.snapshot(floor.now).agents[0]
    assert agent.status is AgentStatus.RINGING
    assert (agent.caller, agent.call_queue) == ("Ada Lovelace <+447700900001>", "general")
    floor.run(2)
    agent = floor.board.snapshot(floor.now).agents[0]
    assert agent.status is AgentStatus.ON_CALL
    assert (agent.caller, agent.call_queue) == ("Ada Lovelace <+447700900001>", "general")
    assert agent.since == pytest.approx(floor.now - 1, abs=0.01)
    floor.run(40)
    agent = floor.board.snapshot(floor.now).agents[0]
    assert agent.status is AgentStatus.WRAP_UP
    assert agent.caller == ""
    floor.run(12)
    agent = floor.board.snapshot(floor.now).agents[0]
    assert agent.status is AgentStatus.AVAILABLE
    # The wrap-up ended when wrapuptime ran out, not at the next tick; AHT = talk + wrap-up.
    assert agent.since == pytest.approx(floor.now - 1, abs=0.01)
    assert agent.aht_s == pytest.approx(40 + 12)
    floor.pbx(floor.sim.acd.set_paused, IFACE, True, "Lunch")
    agent = floor.board.snapshot(floor.now).agents[0]
    assert (agent.status, agent.reason) == (AgentStatus.PAUSED, "Lunch")
    assert floor.board.snapshot(floor.now).queues[0].paused == 1


def test_partial_pause_counts_per_queue() -> None:
    queues = {"general": GENERAL, "sales": QueueConfig("sales", servicelevel=30)}
    floor = SimFloor(agents=1, queues=queues)
    floor.pbx(floor.sim.acd.set_paused, IFACE, True, "Training", "sales")
    snap = floor.board.snapshot(floor.now)
    assert snap.agents[0].status is AgentStatus.AVAILABLE
    rows = {q.name: q for q in snap.queues}
    assert (rows["general"].available, rows["general"].paused) == (1, 0)
    assert (rows["sales"].available, rows["sales"].paused) == (0, 1)


def test_queue_remove_and_add_show_at_once() -> None:
    floor = SimFloor(agents=1)
    floor.pbx(floor.sim.acd.remove_member, "general", IFACE)
    agent = floor.board.snapshot(floor.now).agents[0]
    assert agent.status is AgentStatus.LOGGED_OUT
    assert floor.board.snapshot(floor.now).queues[0].logged_in == 0
    floor.pbx(floor.sim.acd.add_member, "general", IFACE, "Agent 3001")
    assert floor.board.snapshot(floor.now).agents[0].status is AgentStatus.AVAILABLE


def test_reconnect_resync_replaces_what_events_missed() -> None:
    floor = SimFloor(agents=1)
    floor.pbx(floor.sim.acd.set_paused, IFACE, True, "Break")
    floor.call("+447700900001", handle_time=60)
    floor.run(1)
    # The link drops: the unpause, the answer and a second caller are missed.
    floor.online = False
    floor.pbx(floor.sim.acd.set_paused, IFACE, False, "")
    floor.run(5)
    floor.call("+447700900002", handle_time=60)
    floor.run(1)
    floor.online = True
    assert floor.board.snapshot(floor.now).agents[0].status is AgentStatus.PAUSED
    floor.resync()
    snap = floor.board.snapshot(floor.now)
    agent = snap.agents[0]
    assert agent.status is AgentStatus.ON_CALL
    assert "+447700900001" in agent.caller and agent.call_queue == "general"
    assert snap.queues[0].waiting == 1
    assert floor.now - snap.queues[0].oldest_since == pytest.approx(1, abs=1)
