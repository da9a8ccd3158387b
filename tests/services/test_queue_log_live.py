"""The live aggregator a wallboard feeds event by event: today, last 15/30/60 minutes, states."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings

from agentdesk.services.supervisor.queue_log import QueueLogReader, QueueLogRecord, read_queue_log
from agentdesk.services.supervisor.queue_metrics import (
    AgentActivity,
    CellStore,
    LiveQueueMetrics,
    MetricsConfig,
    QueueLogInterpreter,
    ServiceLevelDefinition,
    make_row,
    rollup,
)
from tests.services.test_queue_log_metrics import T0, calls, history

FIXTURES = Path(__file__).parent / "fixtures" / "queue_log"


def fed(until: float | None = None, **kwargs: object) -> LiveQueueMetrics:
    live = LiveQueueMetrics(**kwargs)  # type: ignore[arg-type]
    records, _ = read_queue_log(FIXTURES / "basic_day.log")
    for record in records:
        if until is None or record.timestamp <= until:
            live.feed(record)
    return live


def test_today_matches_the_hand_computed_day() -> None:
    row = fed().today(now=T0 + 3600)
    assert (row.offered, row.answered, row.answered_within, row.abandoned) == (7, 4, 2, 2)
    assert row.service_level == pytest.approx(2 / 5)
    assert row.asa_s == pytest.approx(85 / 4)
    assert row.logged_in_s == 7200.0
    assert row.start is not None and row.start.isoformat() == "2024-03-04T00:00:00+00:00"


def test_last_15_30_60_minutes_by_enqueue_time() -> None:
    live = fed()
    now = T0 + 3600
    last15 = live.last(15, now=now)
    assert (last15.offered, last15.answered, last15.answered_within) == (1, 1, 1)  # c7 only
    assert last15.busy_s == 300.0 and last15.idle_s == 1500.0
    assert last15.staffed_agents == pytest.approx(2.0)
    assert live.last(30, now=now).offered == 2  # c6 and c7
    assert live.last(30, now=now).flowed_out == 1
    assert live.last(60, now=now).offered == 7
    assert live.last(60, queue="sales", now=now).offered == 1
    assert live.today(agent="bob", now=now).answered == 3
    with pytest.raises(ValueError):
        live.last(61, now=now)


def test_open_state_time_counts_up_to_now() -> None:
    live = fed(until=T0 + 1000)
    at_1000 = live.today(agent="alice", now=T0 + 1000)
    assert at_1000.paused_s == 100.0  # paused at 09:15:00, read at 09:16:40
    assert at_1000.pause_by_reason == (("Lunch", 100.0),)
    later = live.today(agent="alice", now=T0 + 1300)
    assert later.paused_s == 400.0
    assert live.last(15, queue="support", now=T0 + 1300).pause_by_reason == (("Lunch", 400.0),)


def test_agent_states_and_waiting_calls() -> None:
    live = fed(until=T0 + 2100)
    states = {s.agent: s for s in live.agents(now=T0 + 2100)}
    alice, bob = states["alice"], states["bob"]
    assert (alice.activity, alice.reason, alice.since) == (AgentActivity.PAUSED, "Lunch", T0 + 900)
    assert (bob.activity, bob.since, bob.on_call_queue) == (AgentActivity.TALK, T0 + 1740, "sales")
    assert bob.queues == ("sales", "support")
    assert live.waiting(now=T0 + 2100) == (1, 100.0)  # c6 entered at 09:33:20
    assert live.waiting(queue="sales", now=T0 + 2100) == (0, 0.0)
    assert live.queues() == ("sales", "support")
    done = {s.agent: s for s in fed().agents(now=T0 + 3700)}
    assert done["alice"].activity is None


def test_configured_wrapup_shows_then_ends_on_its_own() -> None:
    config = MetricsConfig(wrapup_s={"support": 60})
    live = fed(until=T0 + 400, config=config)
    bob = {s.agent: s for s in live.agents(now=T0 + 420)}["bob"]
    assert (bob.activity, bob.since) == (AgentActivity.ACW, T0 + 390)
    bob = {s.agent: s for s in live.agents(now=T0 + 500)}["bob"]
    assert (bob.activity, bob.since) == (AgentActivity.IDLE, T0 + 450)


def test_day_rolls_over_at_local_midnight() -> None:
    tz = ZoneInfo("Europe/Paris")
    live = fed(config=MetricsConfig(tz=tz))
    assert live.today(now=T0 + 3600).offered == 7
    next_day = 1709593200 + 300  # 2024-03-05 00:05 in Paris
    live.feed(QueueLogRecord(1, next_day, "n1", "support", "NONE", "ENTERQUEUE", ("", "+44", "1")))
    row = live.today()
    assert row.offered == 1
    assert row.start is not None and row.start.isoformat() == "2024-03-05T00:00:00+01:00"


@settings(max_examples=40, deadline=None)
@given(calls)
def test_live_today_equals_the_batch_figures(generated: list) -> None:  # type: ignore[type-arg]
    lines = history(generated)
    definition = ServiceLevelDefinition()
    batch = CellStore(900)
    interpreter = QueueLogInterpreter(MetricsConfig(definition), batch)
    live = LiveQueueMetrics(MetricsConfig(definition), window_s=4 * 3600)
    for record in QueueLogReader().read_lines(lines):
        interpreter.feed(record)
        live.feed(record)
    expected = make_row(rollup(batch.cells.items(), queue=None, agent=None), definition)
    for actual in (live.today(now=T0 + 4 * 3600), live.last(240, now=T0 + 4 * 3600)):
        for name in (
            "offered",
            "answered",
            "answered_within",
            "abandoned",
            "flowed_out",
            "handled",
        ):
            assert getattr(actual, name) == getattr(expected, name), name
        assert actual.service_level == expected.service_level
        assert actual.talk_s == expected.talk_s


@pytest.mark.parametrize("now", [T0 + 1000, T0 + 2100, T0 + 3600])
def test_snapshot_equals_the_single_reads(now: int) -> None:
    live = fed(until=now)
    snap = live.snapshot(now=now)
    assert set(snap.today) == {"", "sales", "support"}
    assert snap.today[""] == live.today(now=now)
    for queue in ("sales", "support"):
        assert snap.today[queue] == live.today(queue=queue, now=now)
        for minutes in (15, 30, 60):
            assert snap.windows[minutes][queue] == live.last(minutes, queue=queue, now=now)
    assert snap.windows[30][""] == live.last(30, now=now)
    assert snap.waiting[""] == live.waiting(now=now)
    assert snap.agents == live.agents(now=now)
    assert snap.definition == ServiceLevelDefinition().describe()
    with pytest.raises(ValueError):
        live.snapshot(now=now, windows=(90,))
