"""Metrics from queue_log fixtures, checked against figures computed by hand.

basic_day.log (2024-03-04, UTC, T0 = 09:00:00), per call:
  c1 support  in 09:01:00, RNA alice, bob answers after 30 s, talks 300 s
  c2 support  in 09:02:00, abandons after 3 s (short)
  c3 support  in 09:03:20, abandons after 60 s
  c4 support  in 09:05:00, alice answers after 10 s, transfers after 300 s
  c5 sales    in 09:28:20, bob answers 09:29:00 after 40 s, talks to 09:39:00 (spans 09:30)
  c6 support  in 09:33:20, times out after 300 s (flows out)
  c7 support  in 09:50:00, bob answers after 5 s, talks 300 s
alice (support) pauses "Lunch" 09:15–09:45; bob is in support and sales; all leave at 10:00.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentdesk.services.supervisor.queue_log import QueueLogReader, read_queue_log
from agentdesk.services.supervisor.queue_metrics import (
    AgentActivity,
    CellStore,
    LiveQueueMetrics,
    MetricsConfig,
    MetricsRow,
    QueueLogInterpreter,
    ServiceLevelDefinition,
    make_row,
    rollup,
)

FIXTURES = Path(__file__).parent / "fixtures" / "queue_log"
T0 = 1709542800
HALF = 1800


def store_for(name: str, config: MetricsConfig | None = None, bucket_s: int = 900) -> CellStore:
    records, _ = read_queue_log(FIXTURES / name)
    store = CellStore(bucket_s)
    interpreter = QueueLogInterpreter(config or MetricsConfig(), store)
    interpreter.feed_all(records)
    assert interpreter.last_timestamp is not None
    interpreter.close(interpreter.last_timestamp)
    return store


def figures(
    store: CellStore,
    *,
    queue: str | None = None,
    agent: str | None = None,
    start: int | None = None,
    end: int | None = None,
    definition: ServiceLevelDefinition | None = None,
) -> MetricsRow:
    lo, hi = start if start is not None else 0, end if end is not None else 2**40
    cells = store.select(lambda b, q, a: lo <= b < hi)
    return make_row(rollup(cells, queue=queue, agent=agent), definition or ServiceLevelDefinition())


def test_first_half_hour_support() -> None:
    row = figures(store_for("basic_day.log"), queue="support", start=T0, end=T0 + HALF)
    assert (row.offered, row.answered, row.answered_within) == (4, 2, 1)
    assert (row.abandoned, row.short_abandoned, row.flowed_out) == (2, 1, 0)
    assert row.service_level == pytest.approx(1 / 3)  # 1 ÷ (2 answered + 2 abandoned − 1 short)
    assert row.asa_s == pytest.approx(20.0)  # (30 + 10) / 2
    assert row.aht_s == pytest.approx(300.0)
    assert row.abandon_rate == pytest.approx(1 / 3)  # (2 − 1) / (4 − 1)
    assert (row.transfers, row.ring_no_answers) == (1, 1)
    assert row.max_wait_s == 60.0
    # member time in support: alice talk 300, idle 600, Lunch 900; bob talk 360, idle 1440
    assert (row.busy_s, row.idle_s, row.paused_s) == (660.0, 2040.0, 900.0)
    assert row.pause_by_reason == (("Lunch", 900.0),)


def test_call_spanning_the_boundary_counts_where_it_entered_the_queue() -> None:
    store = store_for("basic_day.log")
    first = figures(store, queue="sales", start=T0, end=T0 + HALF)
    second = figures(store, queue="sales", start=T0 + HALF, end=T0 + 2 * HALF)
    assert (first.offered, first.answered, first.handled) == (1, 1, 1)
    assert first.service_level == 0.0  # waited 40 s
    assert first.aht_s == 600.0  # all its talk counts with the call …
    assert (second.offered, second.answered, second.handled) == (0, 0, 0)
    # … while bob's state time is split at 09:30: 60 s before, 540 s after.
    bob_first = figures(store, agent="bob", start=T0, end=T0 + HALF)
    bob_second = figures(store, agent="bob", start=T0 + HALF, end=T0 + 2 * HALF)
    assert bob_first.busy_s == 360.0  # c1 300 + c5 60
    assert bob_second.busy_s == 840.0  # c5 540 + c7 300
    assert bob_first.logged_in_s == bob_second.logged_in_s == 1800.0


def test_second_half_hour_flow_out_and_service_level_variants() -> None:
    store = store_for("basic_day.log")
    row = figures(store, queue="support", start=T0 + HALF, end=T0 + 2 * HALF)
    assert (row.offered, row.answered, row.flowed_out, row.abandoned) == (2, 1, 1, 0)
    assert row.service_level == 1.0  # flow-outs left out by default
    with_flowouts = ServiceLevelDefinition(count_flowouts=True)
    assert figures(
        store, queue="support", start=T0 + HALF, definition=with_flowouts
    ).service_level == pytest.approx(0.5)


def test_day_totals_and_definitions() -> None:
    store = store_for("basic_day.log")
    row = figures(store)
    assert (row.offered, row.answered, row.answered_within) == (7, 4, 2)
    assert (row.abandoned, row.short_abandoned, row.flowed_out, row.transfers) == (2, 1, 1, 1)
    assert row.service_level == pytest.approx(2 / 5)
    assert row.asa_s == pytest.approx((30 + 10 + 40 + 5) / 4)
    assert row.aht_s == pytest.approx((300 + 300 + 600 + 300) / 4)
    counted = ServiceLevelDefinition(exclude_short_abandons=False)
    assert figures(store, definition=counted).service_level == pytest.approx(2 / 6)
    answered_only = ServiceLevelDefinition(count_abandons=False)
    assert figures(store, definition=answered_only).service_level == pytest.approx(2 / 4)
    strict = ServiceLevelDefinition(threshold_s=5)
    assert (
        figures(
            store_for("basic_day.log", MetricsConfig(strict)), definition=strict
        ).answered_within
        == 1
    )


def test_short_abandon_threshold_is_configurable() -> None:
    longer = ServiceLevelDefinition(short_abandon_s=90)
    row = figures(store_for("basic_day.log", MetricsConfig(longer)), definition=longer)
    assert row.short_abandoned == 2
    assert row.service_level == pytest.approx(2 / 4)
    assert row.abandon_rate == pytest.approx(0.0)


def test_agent_occupancy_and_pause_by_reason() -> None:
    store = store_for("basic_day.log")
    alice = figures(store, agent="alice")
    assert (alice.busy_s, alice.idle_s, alice.paused_s) == (300.0, 1500.0, 1800.0)
    assert alice.pause_by_reason == (("Lunch", 1800.0),)
    assert alice.occupancy == pytest.approx(300 / 1800)
    assert (alice.answered, alice.handled, alice.transfers, alice.ring_no_answers) == (1, 1, 1, 1)
    everyone = figures(store)
    # agent-level time counts bob once though he is in two queues
    assert everyone.logged_in_s == 7200.0
    assert everyone.occupancy == pytest.approx((300 + 1200) / (7200 - 1800))


def test_by_queue_totals_add_up_to_the_whole() -> None:
    store = store_for("basic_day.log")
    whole = figures(store)
    parts = [figures(store, queue=q) for q in ("support", "sales")]
    for name in ("offered", "answered", "abandoned", "flowed_out", "handled", "transfers"):
        assert sum(getattr(p, name) for p in parts) == getattr(whole, name), name


def test_real_asterisk_style_file() -> None:
    reader = QueueLogReader()
    store = CellStore(900)
    interpreter = QueueLogInterpreter(MetricsConfig(), store)
    interpreter.feed_all(reader.read_file(FIXTURES / "asterisk_real.log"))
    interpreter.close(interpreter.last_timestamp or 0)
    summary = reader.summary()
    assert summary.skipped == 0 and summary.flagged == 0
    assert summary.unknown_events == (("CUSTOMSURVEY", 1),)
    row = figures(store)
    assert (row.offered, row.answered, row.answered_within) == (10, 6, 5)
    assert (row.abandoned, row.short_abandoned, row.flowed_out) == (2, 1, 2)
    assert (row.transfers, row.ring_no_answers, row.handled) == (3, 1, 6)
    assert row.service_level == pytest.approx(5 / 7)
    assert row.asa_s == pytest.approx(78 / 6)
    assert row.talk_s == 1600.0
    # the call whose ENTERQUEUE predates the file is rebuilt into the 08:45 interval
    early = figures(store, end=T0)
    assert (early.offered, early.answered, early.handled, early.talk_s) == (1, 1, 1, 700.0)
    alice, bob, carol = (
        figures(store, agent=a) for a in ("Alice Smith", "Bob Jones", "Carol White")
    )
    assert (alice.busy_s, alice.paused_s, alice.logged_in_s) == (600.0, 300.0, 1900.0)
    assert alice.pause_by_reason == (("Break", 300.0),)
    assert (bob.busy_s, bob.paused_s, bob.logged_in_s) == (300.0, 169.0, 1900.0)
    assert bob.pause_by_reason == (("Training", 169.0),)
    assert (carol.idle_s, carol.logged_in_s) == (1800.0, 1800.0)
    assert figures(store, queue="sales").flowed_out == 1


def lines_for(rows: list[tuple[int, str, str, str, str, str]]) -> list[str]:
    return [f"{T0 + t}|{c}|{q}|{a}|{e}|{d}" for t, c, q, a, e, d in rows]


def run(lines: list[str], config: MetricsConfig | None = None) -> CellStore:
    store = CellStore(900)
    interpreter = QueueLogInterpreter(config or MetricsConfig(), store)
    interpreter.feed_all(QueueLogReader().read_lines(lines))
    interpreter.close(interpreter.last_timestamp or 0)
    return store


def test_configured_wrapup_time_adds_to_aht_and_occupancy() -> None:
    lines = lines_for([
        (0, "NONE", "q", "a", "ADDMEMBER", ""),
        (10, "c1", "q", "NONE", "ENTERQUEUE", "|1|1"),
        (12, "c1", "q", "a", "CONNECT", "2|b|1"),
        (112, "c1", "q", "a", "COMPLETECALLER", "2|100|1"),
        (600, "NONE", "q", "a", "REMOVEMEMBER", ""),
    ])  # fmt: skip
    row = figures(run(lines, MetricsConfig(wrapup_s={"q": 30})), agent="a")
    assert (row.talk_s, row.wrapup_s, row.aht_s) == (100.0, 30.0, 130.0)
    assert (row.busy_s, row.acw_s, row.idle_s) == (100.0, 30.0, 470.0)
    assert row.occupancy == pytest.approx(130 / 600)


def test_after_call_work_pause_counts_as_wrapup_of_the_last_call() -> None:
    lines = lines_for([
        (0, "NONE", "q", "a", "ADDMEMBER", ""),
        (10, "c1", "q", "NONE", "ENTERQUEUE", "|1|1"),
        (12, "c1", "q", "a", "CONNECT", "2|b|1"),
        (112, "c1", "q", "a", "COMPLETEAGENT", "2|100|1"),
        (113, "NONE", "q", "a", "PAUSE", "ACW"),
        (158, "NONE", "q", "a", "UNPAUSE", ""),
        (200, "NONE", "NONE", "a", "PAUSEALL", "Coaching"),
        (260, "NONE", "NONE", "a", "UNPAUSEALL", ""),
        (600, "NONE", "q", "a", "REMOVEMEMBER", ""),
    ])  # fmt: skip
    row = figures(run(lines), agent="a")
    assert (row.wrapup_s, row.aht_s) == (45.0, 145.0)
    assert (row.acw_s, row.paused_s) == (45.0, 60.0)
    assert row.pause_by_reason == (("Coaching", 60.0),)


def test_agent_paused_in_one_of_two_queues_is_still_available() -> None:
    lines = lines_for([
        (0, "NONE", "q1", "a", "ADDMEMBER", ""),
        (0, "NONE", "q2", "a", "ADDMEMBER", ""),
        (100, "NONE", "q1", "a", "PAUSE", "Break"),
        (400, "NONE", "q2", "a", "REMOVEMEMBER", ""),
        (400, "NONE", "q1", "a", "REMOVEMEMBER", ""),
    ])  # fmt: skip
    store = run(lines)
    assert figures(store, agent="a").paused_s == 0.0
    assert figures(store, queue="q1").paused_s == 300.0
    assert figures(store, queue="q2").paused_s == 0.0


def test_pauseall_under_an_interface_name_creates_no_agent() -> None:
    lines = lines_for([
        (0, "NONE", "q", "Alice", "ADDMEMBER", ""),
        (10, "NONE", "NONE", "PJSIP/1001", "PAUSEALL", "Lunch"),
        (10, "NONE", "q", "Alice", "PAUSE", "Lunch"),
        (70, "NONE", "NONE", "PJSIP/1001", "UNPAUSEALL", ""),
        (70, "NONE", "q", "Alice", "UNPAUSE", ""),
        (100, "NONE", "q", "Alice", "REMOVEMEMBER", ""),
    ])  # fmt: skip
    store = run(lines)
    assert {a for _, _, a in store.cells} == {"Alice"}
    assert figures(store, agent="Alice").pause_by_reason == (("Lunch", 60.0),)


def test_queuestart_drops_calls_in_progress() -> None:
    lines = lines_for([
        (0, "NONE", "q", "a", "ADDMEMBER", ""),
        (10, "c1", "q", "NONE", "ENTERQUEUE", "|1|1"),
        (12, "c1", "q", "a", "CONNECT", "2|b|1"),
        (50, "NONE", "NONE", "NONE", "QUEUESTART", ""),
        (100, "c1", "q", "a", "COMPLETECALLER", "2|88|1"),  # a stale line after the restart
        (200, "NONE", "q", "a", "REMOVEMEMBER", ""),
    ])  # fmt: skip
    row = figures(run(lines), agent="a")
    assert row.busy_s == 38.0  # talk ends at the restart
    assert (row.answered, row.handled) == (1, 0)  # the stale completion is ignored


def test_orphan_abandon_and_duplicate_lines() -> None:
    lines = lines_for([
        (100, "c9", "q", "NONE", "ABANDON", "1|1|30"),  # entered before the file
        (200, "c1", "q", "NONE", "ENTERQUEUE", "|1|1"),
        (205, "c1", "q", "a", "CONNECT", "5|b|1"),
        (205, "c1", "q", "a", "CONNECT", "5|b|1"),  # duplicated line
        (206, "c1", "q", "NONE", "ABANDON", "1|1|6"),  # contradicts the answer: ignored
        (305, "c1", "q", "a", "COMPLETECALLER", "5|100|1"),
        (305, "c1", "q", "a", "COMPLETECALLER", "5|100|1"),  # overlapping rotated logs
        (400, "c1", "q", "NONE", "ENTERQUEUE", "|1|1"),  # the same caller queues again
        (410, "c1", "q", "NONE", "ABANDON", "1|1|10"),
    ])  # fmt: skip
    row = figures(run(lines))
    assert (row.offered, row.answered, row.abandoned, row.handled) == (3, 1, 2, 1)
    assert row.talk_s == 100.0
    minutes = CellStore(60)
    interpreter = QueueLogInterpreter(MetricsConfig(), minutes)
    interpreter.feed_all(QueueLogReader().read_lines(lines))
    assert minutes.cells[(T0 + 60, "q", "")].offered == 1  # c9 rebuilt as entering at 70 s


def test_definition_rejects_nonsense_and_describes_itself() -> None:
    with pytest.raises(ValueError):
        ServiceLevelDefinition(threshold_s=-1)
    with pytest.raises(ValueError):
        ServiceLevelDefinition(target=1.5)
    text = ServiceLevelDefinition(threshold_s=15, target=0.9).describe()
    assert text == (
        "Service level 90%/15 s: answered within 15 s ÷ (answered + abandoned (except under 5 s))"
    )
    assert "timed out" in ServiceLevelDefinition(count_flowouts=True).describe()
    assert "(answered)" in ServiceLevelDefinition(count_abandons=False).describe()


# -- properties over generated call histories ------------------------------------------------

calls = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=7200),  # enqueue offset
        st.sampled_from(["answer", "abandon", "timeout", "transfer", "waiting"]),
        st.integers(min_value=0, max_value=400),  # wait
        st.integers(min_value=1, max_value=900),  # talk
        st.sampled_from(["q1", "q2"]),
        st.sampled_from(["a1", "a2", "a3"]),
    ),
    max_size=40,
)


def history(generated: list[tuple[int, str, int, int, str, str]]) -> list[str]:
    events = []
    for n, (start, outcome, wait, talk, queue, agent) in enumerate(generated):
        call = f"17000.{n}"
        events.append((start, f"{call}|{queue}|NONE|ENTERQUEUE||+44|1"))
        if outcome in ("answer", "transfer"):
            events.append((start + wait, f"{call}|{queue}|{agent}|CONNECT|{wait}|b|1"))
            end = "COMPLETECALLER" if outcome == "answer" else "TRANSFER|100|ctx"
            events.append((start + wait + talk, f"{call}|{queue}|{agent}|{end}|{wait}|{talk}|1"))
        elif outcome == "abandon":
            events.append((start + wait, f"{call}|{queue}|NONE|ABANDON|1|1|{wait}"))
        elif outcome == "timeout":
            events.append((start + wait, f"{call}|{queue}|NONE|EXITWITHTIMEOUT|1|1|{wait}"))
    events.sort(key=lambda e: e[0])
    return [f"{T0 + t}|{text}" for t, text in events]


@settings(max_examples=60, deadline=None)
@given(calls)
def test_counts_are_consistent(generated: list[tuple[int, str, int, int, str, str]]) -> None:
    store = run(history(generated))
    total = figures(store)
    assert total.offered == len(generated)
    assert total.answered + total.abandoned + total.flowed_out <= total.offered
    assert total.short_abandoned <= total.abandoned
    assert total.answered_within <= total.answered
    assert total.handled == total.answered
    for value in (total.service_level, total.abandon_rate, total.occupancy):
        assert value is None or 0.0 <= value <= 1.0
    intervals = [figures(store, start=b, end=b + 900) for b in sorted({k[0] for k in store.cells})]
    assert sum(r.offered for r in intervals) == total.offered
    assert sum(r.answered_within for r in intervals) == total.answered_within
    by_queue = [figures(store, queue=q) for q in ("q1", "q2")]
    assert sum(r.answered for r in by_queue) == total.answered


def test_activities_cover_every_logged_in_second() -> None:
    store = store_for("basic_day.log", bucket_s=60)
    for (_, queue, _), cell in store.cells.items():
        if queue == "":
            seconds = cell.busy_s + cell.acw_s + cell.idle_s + cell.paused_s
            assert 0 < seconds <= 60
    assert {a.value for a in AgentActivity} == {"talk", "acw", "paused", "idle"}


EVENTS = sorted(
    {"ENTERQUEUE", "CONNECT", "COMPLETECALLER", "COMPLETEAGENT", "ABANDON", "EXITWITHTIMEOUT",
     "EXITWITHKEY", "EXITEMPTY", "RINGNOANSWER", "RINGCANCELED", "TRANSFER", "BLINDTRANSFER",
     "ATTENDEDTRANSFER", "ADDMEMBER", "REMOVEMEMBER", "PAUSE", "UNPAUSE", "PAUSEALL",
     "UNPAUSEALL", "AGENTLOGIN", "AGENTLOGOFF", "QUEUESTART", "SYSCOMPAT", "BOGUS"}
)  # fmt: skip
chaos = st.lists(
    st.tuples(
        st.integers(min_value=-600, max_value=5 * 3600),  # out of order on purpose
        st.sampled_from(["c1", "c2", "c3", "NONE"]),
        st.sampled_from(["q1", "q2", "NONE", ""]),
        st.sampled_from(["a1", "a2", "NONE", "", "PJSIP/a1"]),
        st.sampled_from(EVENTS),
        st.lists(
            st.sampled_from(["", "0", "5", "-7", "30", "900", "x", "ACW", "Lunch"]), max_size=6
        ),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(chaos)
def test_any_event_soup_keeps_the_invariants(
    soup: list[tuple[int, str, str, str, str, list[str]]],
) -> None:
    lines = [f"{T0 + t}|{c}|{q}|{a}|{e}|{'|'.join(d)}" for t, c, q, a, e, d in soup]
    config = MetricsConfig(wrapup_s={"q1": 20})
    store = run(lines, config)
    total = figures(store)
    assert total.answered + total.abandoned + total.flowed_out <= total.offered
    assert total.handled <= total.answered
    for row in [total, *(figures(store, queue=q) for q in ("q1", "q2", "NONE", ""))]:
        for name in ("busy_s", "acw_s", "idle_s", "paused_s", "talk_s", "wrapup_s", "max_wait_s"):
            assert getattr(row, name) >= 0.0, name
        for value in (row.service_level, row.abandon_rate, row.occupancy):
            assert value is None or 0.0 <= value <= 1.0
    assert "NONE" not in {a for _, _, a in store.cells}
    live = LiveQueueMetrics(config)
    for record in QueueLogReader().read_lines(lines):
        live.feed(record)
    snap = live.snapshot(now=T0 + 6 * 3600)
    assert snap.today[""].offered <= total.offered
