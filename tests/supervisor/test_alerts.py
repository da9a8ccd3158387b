"""Alert thresholds from the alerts file, each condition, and an alert's life."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from agentdesk.paths import resource
from agentdesk.services.supervisor.alerting import conditions_for
from agentdesk.services.supervisor.alerts import (
    AlertBook,
    AlertConfigError,
    AlertKind,
    AlertNotFound,
    AlertThresholds,
    Condition,
    QueueThresholds,
    Severity,
    thresholds_from,
)
from agentdesk.services.supervisor.queue_metrics import MetricsRow
from agentdesk.services.supervisor.settings import load_settings, settings_from
from agentdesk.services.supervisor.views import AgentRow, AgentStatus, BoardSnapshot, QueueRow

NOW = 1_700_000_000.0


def queue_row(name: str = "cards", waiting: int = 0, oldest: float | None = None) -> QueueRow:
    return QueueRow(name, waiting, oldest, None, None, None, None, 0.8, None, None, None,
                    0, 0, 0, 2, 1, 1, 0, 0)  # fmt: skip


def agent_row(status: AgentStatus, since: float, reason: str = "") -> AgentRow:
    return AgentRow("PJSIP/1001", "Ann", status, reason, since, 0, None, "", "", ())


def board(queues: tuple[QueueRow, ...] = (), agents: tuple[AgentRow, ...] = ()) -> BoardSnapshot:
    return BoardSnapshot(NOW, queues, agents, (), "", True)


def window(answered: int, within: int, abandoned: int = 0, short: int = 0) -> MetricsRow:
    denominator = answered + abandoned - short
    return MetricsRow(
        None, None, "cards", "", answered + abandoned, answered, within, abandoned, short, 0, 0,
        0, answered, within / denominator if denominator else None, None, None, 0, 0, None, 0,
        0, 0, 0, 0, 0, None, None, (),
    )  # fmt: skip


def test_the_shipped_file_loads_with_its_per_queue_and_per_reason_limits() -> None:
    loaded = load_settings()
    thresholds = loaded.thresholds
    assert thresholds.waiting_limit("cards") == 5 and thresholds.waiting_limit("sales") == 10
    assert thresholds.longest_wait_limit("cards") == 60
    assert thresholds.sl_target_for("cards") == pytest.approx(0.9)
    assert thresholds.sl_target_for("general") == pytest.approx(0.8)
    assert thresholds.pause_limit("Lunch") == 3600 and thresholds.pause_limit("Training") is None
    assert thresholds.pause_limit("Technical") == 900
    assert loaded.wrapup_s("sales") == 15 and loaded.is_acw("acw") and loaded.is_acw("Wrap-up")
    assert "80%/20 s" in loaded.definition.describe()
    assert loaded.resync_s >= 60


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[alerts]\nwaiting_above = -1", "cannot be negative"),
        ("[alerts]\nlongest_wait_above_s = 'soon'", "must be a number"),
        ("[alerts.queues.cards]\nsl_target_pct = 180", "percentage"),
        ("[alerts]\nqueues = 3", "must be tables"),
        ("[service_level]\ntarget_pct = 150", "target must be in"),
        ("[service_level]\nthreshold_s = true", "must be a number"),
        ("[wrapup]\nacw_reasons = 'ACW'", "list of pause reasons"),
        ("service_level = 1", r"\[service_level\] must be a table"),
    ],
)
def test_bad_thresholds_are_refused_with_where_and_why(text: str, match: str) -> None:
    with pytest.raises(AlertConfigError, match=match):
        settings_from(tomllib.loads(text))


def test_an_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "alerts.toml"
    bad.write_bytes(b"\xff\xfe[[[")
    with pytest.raises(AlertConfigError, match="cannot read"):
        load_settings(bad)
    with pytest.raises(AlertConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.toml")


def test_resync_is_never_faster_than_once_a_minute() -> None:
    assert settings_from(tomllib.loads("[pbx]\nresync_s = 5")).resync_s == 60


def test_queue_conditions_waiting_longest_wait_and_service_level() -> None:
    thresholds = thresholds_from(tomllib.loads(resource("alerts.toml").read_text())["alerts"], 0.8)
    snap = board((queue_row("cards", waiting=6, oldest=NOW - 130), queue_row("sales", 3)))
    found = conditions_for(snap, thresholds, {"cards": window(10, 6)}, 0, NOW)
    kinds = {(c.kind, c.subject): c for c in found}
    assert set(kinds) == {
        (AlertKind.WAITING, "cards"), (AlertKind.LONGEST_WAIT, "cards"),
        (AlertKind.SERVICE_LEVEL, "cards"),
    }  # fmt: skip
    assert kinds[(AlertKind.LONGEST_WAIT, "cards")].severity is Severity.CRITICAL  # 130 ≥ 2 × 60
    assert "2:10" in kinds[(AlertKind.LONGEST_WAIT, "cards")].message
    assert (
        "60% over the last 30 min (target 90%)" in kinds[(AlertKind.SERVICE_LEVEL, "cards")].message
    )


def test_service_level_needs_enough_calls_and_ignores_short_abandons() -> None:
    thresholds = AlertThresholds(sl_min_calls=5)
    snap = board((queue_row("general"),))
    assert conditions_for(snap, thresholds, {"general": window(3, 0)}, 0, NOW) == []
    # 4 answered (2 in time) + 3 abandoned of which 2 short: 5 calls count, SL 2/5.
    found = conditions_for(snap, thresholds, {"general": window(4, 2, 3, 2)}, 0, NOW)
    assert [c.value for c in found] == [pytest.approx(0.4)]


def test_agent_conditions_wrapup_and_pause_by_reason() -> None:
    thresholds = AlertThresholds(wrapup_beyond_s=180, paused_beyond_s=900,
                                 paused_limits={"Lunch": 3600, "Training": 0})  # fmt: skip
    cases = [
        (agent_row(AgentStatus.WRAP_UP, NOW - 200), AlertKind.WRAPUP_TOO_LONG),
        (agent_row(AgentStatus.WRAP_UP, NOW - 100), None),
        (agent_row(AgentStatus.PAUSED, NOW - 1000, "Break"), AlertKind.PAUSED_TOO_LONG),
        (agent_row(AgentStatus.PAUSED, NOW - 1000, "Lunch"), None),
        (agent_row(AgentStatus.PAUSED, NOW - 99_999, "Training"), None),
        (agent_row(AgentStatus.ON_CALL, NOW - 99_999), None),
    ]
    for row, expected in cases:
        found = conditions_for(board(agents=(row,)), thresholds, {}, 0, NOW)
        assert [c.kind for c in found] == ([expected] if expected else []), row


def test_breached_tickets_raise_one_alert() -> None:
    found = conditions_for(board(), AlertThresholds(), {}, 3, NOW)
    assert [(c.kind, c.message) for c in found] == [
        (AlertKind.TICKET_SLA, "3 open tickets past their SLA due time")
    ]
    assert conditions_for(board(), AlertThresholds(ticket_sla_breached=False), {}, 3, NOW) == []


def test_alert_book_lifecycle() -> None:
    book = AlertBook()
    waiting = Condition(AlertKind.WAITING, "general", 12, 10, "12 waiting")
    first = book.update([waiting], NOW)
    assert len(first.raised) == 1 and first.cleared == ()
    alert_id = first.raised[0].id
    second = book.update([Condition(AlertKind.WAITING, "general", 15, 10, "15 waiting")], NOW + 1)
    assert second.raised == () and second.active[0].message == "15 waiting"
    acked = book.acknowledge(alert_id, "sam", NOW + 2)
    assert book.acknowledge(alert_id, "someone else", NOW + 3).acknowledged_by == "sam"
    assert acked.acknowledged_at == NOW + 2
    assert book.update([waiting], NOW + 4).active[0].acknowledged
    cleared = book.update([], NOW + 5)
    assert [a.id for a in cleared.cleared] == [alert_id]
    with pytest.raises(AlertNotFound):
        book.acknowledge(alert_id, "sam", NOW + 6)
    again = book.update([waiting], NOW + 7)
    assert again.raised[0].id != alert_id and not again.raised[0].acknowledged


def test_unacknowledged_alerts_come_first_newest_first() -> None:
    book = AlertBook()
    book.update([Condition(AlertKind.WAITING, "a", 1, 0, "a")], NOW)
    changes = book.update(
        [
            Condition(AlertKind.WAITING, "a", 1, 0, "a"),
            Condition(AlertKind.WAITING, "b", 1, 0, "b"),
        ],
        NOW + 1,
    )
    assert [a.subject for a in changes.active] == ["b", "a"]
    book.acknowledge(changes.active[0].id, "sam", NOW + 2)
    assert [a.subject for a in book.active] == ["a", "b"]


def test_queue_override_without_value_keeps_the_floor_wide_limit() -> None:
    thresholds = AlertThresholds(waiting_above=7, queues={"x": QueueThresholds()})
    assert thresholds.waiting_limit("x") == 7
