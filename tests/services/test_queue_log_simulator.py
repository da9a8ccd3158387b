"""The PBX simulator's queue_log read back: every line parses and the metrics match its events.

Also shows the wallboard wiring: the simulator's queue_log listener feeds a
``LiveQueueMetrics`` line by line while the same lines go to the file.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC
from pathlib import Path

from agentdesk.services.supervisor.queue_log import QueueLogReader
from agentdesk.services.supervisor.queue_metrics import LiveQueueMetrics, MetricsConfig
from agentdesk.services.supervisor.reports import GroupBy, Interval, build_report, build_store
from agentdesk.telephony.sim.config import load_config
from agentdesk.telephony.sim.simulator import PbxSimulator

EPOCH = 1709542800.0  # 2024-03-04 09:00 UTC
HOURS = 2


def test_simulator_queue_log_reads_back_consistently(tmp_path: Path) -> None:
    path = tmp_path / "queue_log"
    config = MetricsConfig(tz=UTC)
    live = LiveQueueMetrics(config, window_s=3 * 3600)
    live_reader = QueueLogReader()

    def on_line(line: str) -> None:
        record = live_reader.parse_line(line, live_reader.lines + 1)
        if record is not None:
            live.feed(record)

    sim = PbxSimulator(load_config(), seed=7, queue_log=path, epoch=EPOCH)
    sim.qlog.add_listener(on_line)
    sim.run_for(HOURS * 3600)
    sim.close()

    reader = QueueLogReader()
    records = list(reader.read_file(path))
    summary = reader.summary()
    assert summary.records == sim.stats().queue_log_lines > 100
    assert (summary.skipped, summary.flagged, summary.unknown_events) == (0, 0, ())
    # The listener was added after the constructor wrote QUEUESTART.
    assert live_reader.summary().records == summary.records - 1

    events = Counter(r.event for r in records)
    transfers = events["TRANSFER"] + events["BLINDTRANSFER"] + events["ATTENDEDTRANSFER"]
    store = build_store(records, config)
    report = build_report(store, config, interval=Interval.MIN60, group_by=GroupBy.AGENT)
    total = report.grand_total.row
    assert total.offered == events["ENTERQUEUE"]
    assert total.answered == events["CONNECT"]
    assert total.abandoned == events["ABANDON"]
    assert total.transfers == transfers
    assert total.handled == events["COMPLETECALLER"] + events["COMPLETEAGENT"] + transfers
    assert total.answered + total.abandoned + total.flowed_out <= total.offered
    for value in (total.service_level, total.abandon_rate, total.occupancy):
        assert value is not None and 0.0 <= value <= 1.0
    agents = {line.row.agent for line in report.lines}
    assert agents and not any("/" in name for name in agents)  # PAUSEALL's interface names

    today = live.today(now=EPOCH + HOURS * 3600)
    for name in ("offered", "answered", "answered_within", "abandoned", "handled", "transfers"):
        assert getattr(today, name) == getattr(total, name), name
    assert today.talk_s == total.talk_s
