"""WITHDRAW (QueueWithdrawCaller, Asterisk 18.11+/20): the caller leaves the queue by request.

app_queue.c writes ``WITHDRAW|position|origposition|waittime|info`` and, on AMI,
``QueueCallerAbandon`` (record_abandoned), ``QueueCallerLeave`` and ``VarSet
QUEUESTATUS=WITHDRAW``. The caller must stop counting as waiting, and must count
as having left the queue unanswered (a flow-out), never as an abandon.
"""

from __future__ import annotations

from agentdesk.services.supervisor.queue_log import QueueLogReader
from agentdesk.services.supervisor.queue_metrics import LiveQueueMetrics, MetricsConfig
from agentdesk.telephony.codec import AmiMessage
from agentdesk.telephony.events import QueueCallerWithdraw, decode
from tests.supervisor.simfloor import SimFloor

T0 = 1_700_000_000


def lines(*rows: tuple[int, str, str]) -> list[str]:
    return [f"{T0 + t}|1.1|general|NONE|{event}|{data}" for t, event, data in rows]


def test_withdraw_line_reads_its_fields_and_counts_as_flow_out_not_abandon() -> None:
    records = list(
        QueueLogReader().read_lines(
            lines((0, "ENTERQUEUE", "|+447700900001|1"), (40, "WITHDRAW", "1|1|40|callback"))
        )
    )
    withdraw = records[1]
    assert withdraw.field("waittime") == "40" and withdraw.field("withdrawinfo") == "callback"
    live = LiveQueueMetrics(MetricsConfig())
    live.feed(records[0])
    assert live.waiting(now=T0 + 10)[0] == 1
    live.feed(withdraw)
    assert live.waiting(now=T0 + 41) == (0, 0.0)
    row = live.today(queue="general", now=T0 + 41)
    assert (row.offered, row.abandoned, row.flowed_out) == (1, 0, 1)


def withdraw(floor: SimFloor, channel: str, info: str = "") -> AmiMessage:
    request = AmiMessage.build(
        ("Action", "QueueWithdrawCaller"), ("ActionID", "w1"), ("Queue", "general"),
        ("Caller", channel), ("WithdrawInfo", info),
    )  # fmt: skip
    (reply,) = floor.sim.actions.queue_withdraw_caller(None, request)  # type: ignore[arg-type]
    return reply


def test_simulator_withdraws_a_waiting_caller_like_asterisk() -> None:
    floor = SimFloor(agents=0)
    qlog: list[str] = []
    floor.sim.qlog.add_listener(qlog.append)
    placed = floor.sim.place_call("+447700900001", queue="general")
    floor.run(5)
    assert floor.board.snapshot(floor.now).queues[0].waiting == 1
    first = withdraw(floor, placed.channel, "x" * 50)
    assert (first.response, first.get("Message")) == ("Success", "Withdraw requested successfully")
    again = withdraw(floor, placed.channel)
    assert again.get("Message") == "Unable to request withdraw from queue: Already requested"
    start = len(floor.events)
    floor.run(1)
    names = [(m.event, m.get("Variable")) for m in floor.events[start:]]
    wanted = {("QueueCallerAbandon", None), ("QueueCallerLeave", None), ("VarSet", "QUEUESTATUS")}
    order = [n for n in names if n in wanted]
    assert order[-3:] == [
        ("QueueCallerAbandon", None), ("QueueCallerLeave", None), ("VarSet", "QUEUESTATUS"),
    ]  # fmt: skip
    assert ("VarSet", "QUEUE_WITHDRAW_INFO") in names
    typed = [decode(m) for m in floor.events[start:]]
    assert any(isinstance(e, QueueCallerWithdraw) and e.uniqueid == placed.uniqueid for e in typed)
    assert floor.board.snapshot(floor.now).queues[0].waiting == 0
    (line,) = [x for x in qlog if "|WITHDRAW|" in x]
    assert line.endswith("|WITHDRAW|1|1|5|" + "x" * 40)
    gone = withdraw(floor, placed.channel)
    assert gone.get("Message") == "Unable to request withdraw from queue: No such caller"
