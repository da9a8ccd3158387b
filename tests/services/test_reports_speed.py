"""The report's fast paths give the figures of their plain definitions (issue 15 speed work).

A year of queue_log must be reported in 10 s, so the hot paths are spelled out:
the parser checks integer fields by index and skips strip/upper for known event
names, the interpreter writes an agent's state time to every queue from one
classification, wait bins come from a bisect. Each is checked here against the
plain definition it replaced, on a multi-day log from the PBX simulator (agents
pausing with reasons, a queue with configured wrap-up, a pause reason that
counts as after-call work).
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agentdesk.services.supervisor.queue_interpreter import QueueLogInterpreter, _Agent
from agentdesk.services.supervisor.queue_log import QueueLogReader, QueueLogRecord
from agentdesk.services.supervisor.queue_metrics import (
    AGENT_LEVEL,
    DAY_MINUTES,
    NO_AGENT,
    WAIT_EDGES,
    AgentActivity,
    CellStore,
    LocalPeriods,
    MetricsConfig,
    MetricsSink,
    wait_bin,
)
from agentdesk.services.supervisor.reports import (
    GroupBy,
    Interval,
    Report,
    ReportLine,
    _table,
    build_report,
    build_store,
)
from agentdesk.telephony.sim.config import load_config
from agentdesk.telephony.sim.simulator import PbxSimulator

EPOCH = 1709510400.0  # 2024-03-04 00:00 UTC
DAYS = 3
CONFIG = MetricsConfig(wrapup_s={"general": 15.0}, acw_pause_reasons=frozenset({"lunch"}))


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("speed") / "queue_log"
    sim = PbxSimulator(load_config(), seed=11, queue_log=path, epoch=EPOCH, events=False)
    for _ in range(DAYS):
        sim.run_for(86400)
    sim.close()
    return path


@pytest.fixture(scope="module")
def records(log: Path) -> list[QueueLogRecord]:
    reader = QueueLogReader()
    out = list(reader.read_file(log))
    assert reader.summary().skipped == 0
    return out


class _PlainInterpreter(QueueLogInterpreter):
    """State time written the way it was defined before the speed work: ``_classify``
    asked once for the agent and once for each queue."""

    def _emit_piece(
        self, name: str, agent: _Agent, t0: float, t1: float, sink: MetricsSink
    ) -> None:
        state = self._classify(agent, t0, None)
        if state is None:
            return
        sink.add_time(t0, t1, AGENT_LEVEL, name, *state)
        if state[0] is AgentActivity.ACW and agent.last_call is not None:
            enqueued, queue, connected = agent.last_call
            sink.add_call(enqueued, queue, NO_AGENT, {"wrapup_s": t1 - t0})
            assert isinstance(sink, CellStore)
            sink.add_agent_call(connected, queue, name, {"wrapup_s": t1 - t0})
        for queue in agent.memberships:
            if queue != "NONE":
                queue_state = self._classify(agent, t0, queue)
                assert queue_state is not None
                sink.add_time(t0, t1, queue, name, *queue_state)


def _cells(
    interpreter: type[QueueLogInterpreter], records: list[QueueLogRecord], **store: object
) -> dict[tuple[int, str, str], object]:
    cells = CellStore(900, **store)  # type: ignore[arg-type]
    reader = interpreter(CONFIG, cells)
    reader.feed_all(records)
    assert reader.last_timestamp is not None
    reader.close(reader.last_timestamp + 3600)
    return dict(cells.cells)


@pytest.mark.parametrize(
    "store",
    [
        {},
        {"keep_agents": False},
        {"periods": LocalPeriods(CONFIG.tz, DAY_MINUTES), "keep_agents": False},
    ],
)
def test_state_time_per_queue_matches_the_plain_classification(
    records: list[QueueLogRecord], store: dict[str, object]
) -> None:
    fast = _cells(QueueLogInterpreter, records, **store)
    plain = _cells(_PlainInterpreter, records, **store)
    assert fast.keys() == plain.keys()
    assert fast == plain
    # The log exercised every state, in queues and for agents as a whole.
    totals = [c for (_, q, _), c in fast.items() if q != AGENT_LEVEL]
    for figure in ("busy_s", "acw_s", "idle_s", "paused_s", "wrapup_s"):
        assert sum(getattr(c, figure) for c in totals) > 0, figure


def test_known_events_parse_as_the_general_path_does(log: Path) -> None:
    """An event name in lower case with spaces takes the general path; same record."""
    reader, general = QueueLogReader(), QueueLogReader()
    lines = log.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        parts = line.split("|")
        parts[4] = f" {parts[4].lower()} "
        assert reader.parse_line(line, number) == general.parse_line("|".join(parts), number)
    assert reader.summary() == general.summary()
    assert reader.summary().records == len(lines) > DAYS * 1000


@pytest.mark.parametrize(
    "text",
    [
        "1|c|q|A|CONNECT|12x|u|4",
        "1|c|q|A|CONNECT|7|u|٤",
        "1|c|q|A|ATTENDEDTRANSFER|LINK|a|b|1_0|9|1",
    ],
)
def test_odd_numbers_are_still_flagged(text: str) -> None:
    reader = QueueLogReader()
    assert reader.parse_line(text, 1) is not None
    assert reader.summary().flagged == 1


def test_wait_bins_by_bisect_match_the_edges() -> None:
    waits = [0.0, 0.5, 299.5, 300.0, 300.5, 1e9]
    waits += [edge + delta for edge in WAIT_EDGES for delta in (-0.001, 0.0, 0.001)]
    for wait in waits:
        plain = next((i for i, edge in enumerate(WAIT_EDGES) if wait <= edge), len(WAIT_EDGES))
        assert wait_bin(wait) == plain, wait


@pytest.fixture(scope="module")
def dst_records(tmp_path_factory: pytest.TempPathFactory) -> list[QueueLogRecord]:
    """Two simulated days across Europe's spring-forward night (2024-03-31 01:00 UTC)."""
    path = tmp_path_factory.mktemp("dst") / "queue_log"
    sim = PbxSimulator(load_config(), seed=5, queue_log=path, epoch=1711756800.0, events=False)
    sim.run_for(2 * 86400)
    sim.close()
    return list(QueueLogReader().read_file(path))


def _figures(report: Report) -> list[tuple[object, ...]]:
    def one(line: ReportLine) -> tuple[object, ...]:
        row = line.row
        return (row.start, row.queue, row.agent, row.offered, row.answered, row.abandoned,
                round(row.talk_s, 6), round(row.logged_in_s, 6), round(row.paused_s, 6),
                row.wait_distribution, line.required_agents)  # fmt: skip

    return [one(x) for x in (*report.lines, *report.totals, report.grand_total, *report.days)]


@pytest.mark.parametrize("zone", ["Europe/Paris", "Asia/Kolkata", "Asia/Kathmandu"])
@pytest.mark.parametrize("interval", [Interval.MIN30, Interval.MIN60, Interval.DAY])
def test_a_store_of_report_periods_gives_the_quarter_hour_stores_figures(
    dst_records: list[QueueLogRecord], zone: str, interval: Interval
) -> None:
    """Cells kept per report period (the memory saving) add up to the same report as
    quarter-hour cells rolled up at report time: across a DST change and in zones whose
    offset is not whole hours (+5:30, +5:45)."""
    config = MetricsConfig(tz=ZoneInfo(zone))
    fine = build_store(dst_records, config, keep_agents=False)
    coarse = build_store(dst_records, config, interval=interval, keep_agents=False)
    assert len(coarse.cells) < len(fine.cells)
    for group in (GroupBy.QUEUE, GroupBy.TOTAL):
        expected = build_report(fine, config, interval=interval, group_by=group)
        got = build_report(coarse, config, interval=interval, group_by=group)
        assert _figures(got) == _figures(expected)
        assert len(got.lines) > 0
    with pytest.raises(ValueError, match="another interval"):
        build_report(coarse, config, interval=Interval.MIN15)


def test_the_text_table_keeps_a_queue_named_with_the_row_separator_in_its_column() -> None:
    """Rows are held as joined strings while the widths are measured; a name read from
    the file that contains the joining character stays one cell."""
    table = _table(["Queue", "Calls"], [["sales\x1fnight", "3"], ["general", "12"]])
    assert table.splitlines() == [
        "Queue        Calls",
        "sales night      3",
        "general         12",
    ]
