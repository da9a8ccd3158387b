"""The wallboard's and report window's chart: a legend entry only for a series with data
(the report window named 'offered 27 Nov' and 'SL 27 Nov' for a day without calls), and a
call axis whose quarter marks are whole calls (the wall screen read 1.5 and 4.5)."""

from __future__ import annotations

import datetime as dt

from agentdesk.services.supervisor.history import IntervalPoint, IntervalSeries
from agentdesk.services.supervisor.reports import Interval
from agentdesk.ui.supervisor.charts import ChartData, ChartPalette, _nice_max, legend_items

DAY = dt.date(2026, 12, 4)


def _series(*points: tuple[int, int, int, float | None]) -> IntervalSeries:
    return IntervalSeries(
        DAY,
        "",
        Interval.MIN30,
        tuple(
            IntervalPoint(
                dt.datetime(2026, 12, 4, 9, 30 * i, tzinfo=dt.UTC),
                offered,
                answered,
                abandoned,
                sl,
                None,
                None,
            )
            for i, (offered, answered, abandoned, sl) in enumerate(points)
        ),
    )


def _labels(data: ChartData) -> list[str]:
    return [label for _colour, label, _kind in legend_items(data, ChartPalette())]


def test_a_reference_day_without_calls_and_no_abandons_are_not_in_the_legend() -> None:
    today = _series((6, 6, 0, 1.0), (2, 2, 0, 0.5))
    empty_day = _series((0, 0, 0, None))
    labels = _labels(ChartData(today, empty_day, 0.8, reference_label="27 Nov"))
    assert labels == ["answered today", "SL today", "target 80%"]
    labels = _labels(ChartData(today, None, 0.8))
    assert "abandoned" not in labels and "other" not in labels


def test_every_series_with_data_is_named() -> None:
    today = _series((6, 3, 2, 0.5))  # one neither answered nor abandoned: "other"
    reference = _series((4, 4, 0, 1.0))
    assert _labels(ChartData(today, reference, 0.8)) == [
        "offered last week", "answered today", "abandoned", "other", "SL today",
        "SL last week", "target 80%",
    ]  # fmt: skip


def test_the_call_axis_quarters_into_whole_calls() -> None:
    for busiest in range(0, 2000):
        top = _nice_max(busiest)
        assert top >= busiest and top % 4 == 0, (busiest, top)
