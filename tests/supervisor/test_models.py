"""Every supervisor item model passes Qt's model tester, through inserts, moves and ticks."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import pytest
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from agentdesk.services.supervisor import (
    AgentRow,
    AgentStatus,
    QueueMembership,
    QueueRow,
    WorkstationLatency,
)
from agentdesk.services.supervisor.alerts import Alert, AlertKind, Severity
from agentdesk.services.supervisor.history import StaffingRow
from agentdesk.ui.supervisor.columns import (
    AGENT_COLUMNS,
    ALERT_COLUMNS,
    LATENCY_COLUMNS,
    QUEUE_COLUMNS,
    STAFFING_COLUMNS,
)
from agentdesk.ui.supervisor.live_model import SORT_ROLE, LiveColumn, LiveTableModel
from agentdesk.ui.supervisor.panels import LiveTable

pytestmark = pytest.mark.gui
NOW = 1_700_000_000.0


def queue(name: str, waiting: int = 0) -> QueueRow:
    return QueueRow(name, waiting, NOW - 30 if waiting else None, 0.8, 0.5, None, 0.9, 0.8,
                    12.0, 300.0, 0.05, 10, 9, 1, 4, 1, 2, 0, 1)  # fmt: skip


def agent(n: int, status: AgentStatus = AgentStatus.AVAILABLE) -> AgentRow:
    members = (QueueMembership("general", status is AgentStatus.PAUSED, ""),)
    return AgentRow(f"PJSIP/{n}", f"Agent {n}", status, "", NOW - n, n, None, "", "", members)


def alert(n: int, acked: bool = False) -> Alert:
    return Alert(f"A{n}", AlertKind.WAITING, f"q{n}", f"{n} waiting", n, 1, Severity.WARNING,
                 NOW - n, "sam" if acked else None, NOW if acked else None)  # fmt: skip


def check(qtmodeltester: ModelTester, model: LiveTableModel, batches: list[list[object]]) -> None:  # type: ignore[type-arg]
    qtmodeltester.check(model, force_py=True)
    for rows in batches:
        model.set_rows(rows, NOW)  # type: ignore[arg-type]
        model.tick(NOW + 5)
        assert list(model.rows) == rows
    qtmodeltester.check(model, force_py=True)


def test_queue_model(qtmodeltester: ModelTester) -> None:
    model: LiveTableModel[QueueRow] = LiveTableModel(QUEUE_COLUMNS, lambda r: r.name)
    check(qtmodeltester, model, [
        [queue("cards"), queue("general", 3)],
        [queue("cards", 1), queue("general", 3), queue("sales")],
        [queue("sales")],
        [],
        [queue("general", 2), queue("cards")],
    ])  # fmt: skip
    assert model.data(model.index(0, 2)) == "0:35"  # longest wait ticks with the model clock
    assert model.data(model.index(0, 3), SORT_ROLE) == pytest.approx(0.8)
    assert model.row_at(0) == queue("general", 2)


def test_agent_model(qtmodeltester: ModelTester) -> None:
    model: LiveTableModel[AgentRow] = LiveTableModel(AGENT_COLUMNS, lambda r: r.key)
    check(qtmodeltester, model, [
        [agent(1), agent(2), agent(3)],
        [agent(3), agent(1, AgentStatus.ON_CALL), agent(4)],
        [agent(4), agent(3), agent(1, AgentStatus.PAUSED)],
    ])  # fmt: skip
    assert model.data(model.index(2, 1)) == "Paused"
    assert model.data(model.index(2, 1), 9) is not None  # a state colour (ForegroundRole)


def test_alert_latency_and_staffing_models(qtmodeltester: ModelTester) -> None:
    alerts: LiveTableModel[Alert] = LiveTableModel(ALERT_COLUMNS, lambda a: a.id)
    check(qtmodeltester, alerts, [[alert(1), alert(2)], [alert(2, acked=True)], []])
    latency: LiveTableModel[WorkstationLatency] = LiveTableModel(
        LATENCY_COLUMNS, lambda r: r.workstation
    )
    rows = [WorkstationLatency("ws-1", 10, 12.0, 40.0, 90.0),
            WorkstationLatency("ws-2", 3, 250.0, 400.0, 500.0)]  # fmt: skip
    check(qtmodeltester, latency, [rows, rows[::-1], rows[1:]])
    start = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
    staffing: LiveTableModel[StaffingRow] = LiveTableModel(STAFFING_COLUMNS, lambda r: r.start)
    srows = [StaffingRow(start + dt.timedelta(minutes=30 * i), 10.0 * i, 300.0, i + 1, i + 0.2)
             for i in range(4)]  # fmt: skip
    check(qtmodeltester, staffing, [srows, srows[1:3], srows])


@dataclass(frozen=True)
class Item:
    key: int
    value: int


COLUMNS = (LiveColumn("k", lambda r, _n: str(r.key)), LiveColumn("v", lambda r, _n: str(r.value)))


def test_random_updates_never_reset_and_keep_the_selection(qtbot: QtBot) -> None:
    rng = random.Random(7)
    model: LiveTableModel[Item] = LiveTableModel(COLUMNS, lambda r: r.key)
    resets: list[bool] = []
    model.modelReset.connect(lambda: resets.append(True))
    table = LiveTable(model)
    qtbot.addWidget(table)
    model.set_rows([Item(k, 0) for k in range(20)])
    table.selectRow(5)
    for step in range(200):
        keys = rng.sample(range(30), rng.randrange(5, 25))
        if 5 not in keys:
            keys.append(5)
        rng.shuffle(keys)
        rows = [Item(k, rng.randrange(3)) for k in keys]
        model.set_rows(rows)
        assert list(model.rows) == rows, step
        assert table.selected_row().key == 5  # the selected agent stays selected
    assert resets == []
