"""What keeps the wallboard's GUI thread short under 500 agents: each update does only its part.

The figures of ``bench/wallboard.py`` come from these behaviours: changed rows
announced in runs a view can repaint alone, why-callers-wait worked out once per
snapshot, text that changes every second without a window relayout, and only
the newest snapshot handed to the GUI thread.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from agentdesk.client.api import ServerApi
from agentdesk.client.floor import ServerFloorFeed
from agentdesk.models import Role
from agentdesk.services.supervisor import BoardSnapshot, SupervisorService, load_settings
from agentdesk.services.supervisor.views import AgentRow, AgentStatus, QueueMembership, QueueRow
from agentdesk.store.writer import LocalWriter
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.supervisor.charts import ChartData, IntervalChart
from agentdesk.ui.supervisor.feed import SupervisorFeed
from agentdesk.ui.supervisor.live_model import LiveColumn, LiveTableModel
from agentdesk.ui.supervisor.panels import BoardFrame, LiveTable, SteadyLabel, WaitReasons
from tests.supervisor.conftest import FakeSession

pytestmark = pytest.mark.gui
NOW = 1_000_000.0


def _queue(name: str, waiting: int, oldest: float | None) -> QueueRow:
    return QueueRow(name, waiting, oldest, None, None, None, None, 0.8, None, None, None,
                    1, 0, 0, 0, 0, 0, 0, 0)  # fmt: skip


def _agent(n: int, status: AgentStatus, *queues: str) -> AgentRow:
    members = tuple(QueueMembership(q, False, "") for q in queues)
    return AgentRow(f"PJSIP/{n}", f"Agent {n}", status, "", NOW - 5, 0, None, "", "", members)


# ---------------------------------------------------------------------- the live model
COLUMNS: tuple[LiveColumn[tuple[int, int]], ...] = (
    LiveColumn("n", lambda r, _n: str(r[0])),
    LiveColumn("v", lambda r, _n: str(r[1])),
)


def _spans(model: LiveTableModel[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    seen: list[tuple[int, int, int, int]] = []
    model.dataChanged.connect(
        lambda top, bottom, _roles=(): seen.append(
            (top.row(), bottom.row(), top.column(), bottom.column())
        )
    )
    return seen


def test_scattered_changes_are_announced_run_by_run() -> None:
    model: LiveTableModel[tuple[int, int]] = LiveTableModel(COLUMNS, lambda r: r[0])
    rows = [(n, 0) for n in range(200)]
    model.set_rows(rows)
    seen = _spans(model)
    changed = dict.fromkeys((3, 5, 120), 1)
    model.set_rows([(n, changed.get(n, 0)) for n in range(200)])
    # 3 and 5 are near enough to share a run; only the column that changed.
    assert seen == [(3, 5, 1, 1), (120, 120, 1, 1)]
    assert model.data(model.index(120, 1)) == "1" and model.data(model.index(4, 1)) == "0"


def test_many_scattered_changes_are_one_span_and_unchanged_rows_none() -> None:
    model: LiveTableModel[tuple[int, int]] = LiveTableModel(COLUMNS, lambda r: r[0])
    rows = [(n, 0) for n in range(400)]
    model.set_rows(rows)
    seen = _spans(model)
    model.set_rows(list(rows))  # equal rows (other objects): nothing to announce
    assert seen == []
    model.set_rows([(n, 1 if n % 10 == 0 else 0) for n in range(400)])  # 40 runs
    assert seen == [(0, 390, 1, 1)]


def test_new_rows_side_by_side_go_in_at_once_and_a_sorted_filtered_view_sees_them(
    qtbot: QtBot,
) -> None:
    model: LiveTableModel[tuple[int, int]] = LiveTableModel(COLUMNS, lambda r: r[0])
    table = LiveTable(model)
    qtbot.addWidget(table)
    table.sortByColumn(1, Qt.SortOrder.DescendingOrder)
    table.proxy.setFilterFixedString("7")
    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _parent, first, last: inserted.append((first, last)))
    model.set_rows([(n, n % 10) for n in range(500)])
    assert inserted == [(0, 499)]
    shown = [table.proxy.index(r, 1).data() for r in range(table.proxy.rowCount())]
    assert len(shown) == sum(1 for n in range(500) if "7" in f"{n}{n % 10}")
    assert shown == sorted(shown, reverse=True) and shown[0] == "9"
    inserted.clear()
    model.set_rows([(n, n % 10) for n in (*range(250), 1000, 1001, 1007, *range(250, 500))])
    assert inserted == [(250, 252)]
    assert model.data(model.index(252, 0)) == "1007" and model.data(model.index(253, 0)) == "250"
    assert table.proxy.rowCount() == len(shown) + 1  # 1007 passes the filter


# ---------------------------------------------------------------------- why callers wait
def test_wait_reasons_count_an_agent_once_per_queue_and_put_the_longest_wait_first() -> None:
    queues = (_queue("sales", 1, NOW - 30), _queue("general", 2, NOW - 90),
              _queue("cards", 1, None), _queue("idle", 0, None))  # fmt: skip
    twice = _agent(1, AgentStatus.PAUSED, "general", "general")  # listed twice by the PBX
    agents = (twice, _agent(2, AgentStatus.AVAILABLE, "sales"))
    lines = WaitReasons(queues, agents).lines(NOW)
    assert [line.split(":")[0] for line in lines] == ["general", "sales", "cards"]
    assert lines[0].startswith("general: 2 waiting, longest 1:30 — 1 of 1 members paused")
    assert "not in that queue: 1 available in other queues only" in lines[0]
    assert lines[2] == ("cards: 1 waiting — no agent is logged in to cards; not in that "
                        "queue: 1 available in other queues only")  # fmt: skip


def test_a_frame_counts_the_floor_once_for_the_header() -> None:
    snapshot = BoardSnapshot(
        NOW, (_queue("general", 2, NOW - 90), _queue("sales", 1, NOW - 30)),
        (_agent(1, AgentStatus.ON_CALL, "general"), _agent(2, AgentStatus.AVAILABLE, "sales"),
         _agent(3, AgentStatus.LOGGED_OUT, "sales"), _agent(4, AgentStatus.AVAILABLE)),
        (), "", True,
    )  # fmt: skip
    frame = BoardFrame.of(snapshot)
    assert (frame.waiting, frame.oldest, frame.staffed) == (3, NOW - 90, 2)
    assert frame.states[AgentStatus.AVAILABLE] == 2


# ---------------------------------------------------------------------- text without relayout
class _LayoutRequests(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, _watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:
            self.count += 1
        return False


def test_steady_label_asks_for_a_relayout_only_when_it_needs_more_lines(qtbot: QtBot) -> None:
    box = QWidget()
    qtbot.addWidget(box)
    label = SteadyLabel("totals", box)
    layout = QVBoxLayout(box)
    layout.addWidget(label)
    layout.addWidget(QWidget(box), 1)
    box.resize(QSize(300, 200))
    label.setText("Waiting 3   Longest 0:41")
    box.show()
    qtbot.waitExposed(box)
    qtbot.wait(20)  # the first layout settles
    one_line = label.height()
    requests = _LayoutRequests()
    box.installEventFilter(requests)
    for second in range(42, 50):  # a clock ticking: same lines, new text
        label.setText(f"Waiting 3   Longest 0:{second}")
        qtbot.wait(1)
    assert requests.count == 0
    assert label.text() == "Waiting 3   Longest 0:49"
    label.setText("Why callers wait: " + "general: 3 waiting, 2 of 2 members paused " * 4)
    qtbot.waitUntil(lambda: requests.count > 0)
    assert label.height() > one_line  # wrapped over more lines, and laid out for them


class _Paints(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, _watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def test_the_chart_repaints_only_when_its_figures_change(qtbot: QtBot) -> None:
    chart = IntervalChart()
    qtbot.addWidget(chart)
    chart.show()
    qtbot.waitExposed(chart)
    paints = _Paints()
    chart.installEventFilter(paints)
    chart.set_data(ChartData(None, None, 0.8))
    qtbot.waitUntil(lambda: paints.count == 1)
    chart.set_data(ChartData(None, None, 0.8))  # the same day again, another object
    qtbot.wait(30)
    assert paints.count == 1
    chart.set_data(ChartData(None, None, 0.9))
    qtbot.waitUntil(lambda: paints.count == 2)


# ---------------------------------------------------------------------- newest snapshot only
def test_the_feed_hands_the_gui_thread_only_the_newest_frame(
    qtbot: QtBot, audit: LocalWriter
) -> None:
    service = SupervisorService(FakeSession("sam", Role.SUPERVISOR), load_settings(),
                                audit=audit)  # fmt: skip
    bridge = Bridge()
    feed = SupervisorFeed(service, ServerFloorFeed(ServerApi("http://127.0.0.1:9")), bridge)
    got: list[BoardFrame] = []
    feed.snapshot_ready.connect(got.append)
    frames = [BoardFrame.of(BoardSnapshot(NOW + n, (), (), (), "", True)) for n in range(3)]
    try:
        for frame in frames:  # published faster than the GUI thread takes them
            feed._hand_over(frame)
        qtbot.waitUntil(lambda: bool(got))
        qtbot.wait(20)  # anything else queued would be delivered by now
        assert got == [frames[-1]]
        feed._hand_over(frames[0])
        qtbot.waitUntil(lambda: len(got) == 2)
        assert got[1] is frames[0]
    finally:
        bridge.shutdown()
