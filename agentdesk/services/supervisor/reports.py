"""Historical report tables from a queue_log: per interval × queue or agent, as rows, CSV and text.

The data structures are plain frozen values so any renderer (the CLI's text
table, CSV, the desktop's QPdfWriter pages and charts) walks the same
``Report``: ``report.columns`` says what to show and how to format it,
``report.lines`` holds one ``ReportLine`` per interval and group, and
``report.totals`` one per group over the whole range.

Intervals are local wall-clock periods in ``MetricsConfig.tz`` (15, 30, 60
minutes or a day); a queue's calls count in the interval they entered the
queue, an agent's in the interval the agent connected (see
``agentdesk.services.supervisor.queue_interpreter``). Beside the actual staffing, each
queue line shows the agents Erlang C says the interval needed for its
actual offered calls and AHT under the service-level target.

A report also carries what a manager reads first: the KPI summary
(``kpi_summary``), day totals (``Report.days``), wait-time and abandon-time
distributions (``distribution_rows``) and time per pause reason per queue or
agent (``pause_rows``). Agents still logged in when the file ends are
counted up to the end of the requested period, or now (``report_until``).
"""

from __future__ import annotations

import csv
import io
import itertools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import IO

from agentdesk.services.supervisor.erlang import (
    ErlangInputError,
    StaffingInfeasibleError,
    StaffingResult,
    StaffingTarget,
    required_agents,
    service_level_definition,
    unreachable_reason,
)
from agentdesk.services.supervisor.queue_log import ParseSummary, QueueLogReader, QueueLogRecord
from agentdesk.services.supervisor.queue_metrics import (
    AGENT_LEVEL,
    DAY_MINUTES,
    CellStore,
    Counters,
    LocalPeriods,
    MetricsConfig,
    MetricsRow,
    QueueLogInterpreter,
    local_midnight,
    make_row,
    rollup,
    wait_bin_labels,
)

BASE_BUCKET_S = 900  # finest report interval; 30 min, 60 min and days are sums of these


class Interval(StrEnum):
    """Length of a report period."""

    MIN15 = "15"
    MIN30 = "30"
    MIN60 = "60"
    DAY = "day"

    @property
    def minutes(self) -> int:
        return DAY_MINUTES if self is Interval.DAY else int(self.value)


class GroupBy(StrEnum):
    """What each report line is about."""

    QUEUE = "queue"
    AGENT = "agent"
    TOTAL = "total"


class ColumnKind(StrEnum):
    """How a column's value is formatted."""

    TEXT = "text"
    COUNT = "count"
    PERCENT = "percent"
    SECONDS = "seconds"
    DECIMAL = "decimal"


class Scope(StrEnum):
    """Which reports show a summary column: all, queue/total reports, agent reports."""

    ALL = "all"
    CALLS = "calls"
    AGENT = "agent"


@dataclass(frozen=True)
class Column:
    """One report column: key into ``ReportLine.value``, header, kind, shown in the summary?

    Every column is in the CSV; ``in_summary`` columns are in the text, window and PDF
    tables of the reports ``scope`` names (``summary_columns``).
    """

    key: str
    header: str
    kind: ColumnKind
    in_summary: bool = True
    scope: Scope = Scope.ALL

    def shown_for(self, group_by: GroupBy) -> bool:
        if not self.in_summary:
            return False
        if self.scope is Scope.AGENT:
            return group_by is GroupBy.AGENT
        return self.scope is Scope.ALL or group_by is not GroupBy.AGENT


@dataclass(frozen=True, slots=True)
class ReportLine:
    """One interval for one group, plus the Erlang C staffing that interval needed."""

    row: MetricsRow
    required_agents: int | None

    def value(self, key: str) -> str | float | int | None:
        if key == "required_agents":
            return self.required_agents
        if key == "group":
            return self.row.queue or self.row.agent or "all"
        if key == "pause_by_reason":
            return "; ".join(
                f"{reason or '(none)'}={sec:.0f}" for reason, sec in self.row.pause_by_reason
            )
        value = getattr(self.row, key)
        return value.isoformat() if isinstance(value, datetime) else value


_CALLS, _AGENT = Scope.CALLS, Scope.AGENT
COLUMNS: tuple[Column, ...] = (
    Column("start", "Interval start", ColumnKind.TEXT),
    Column("end", "Interval end", ColumnKind.TEXT, in_summary=False),
    Column("group", "Queue/agent", ColumnKind.TEXT),
    Column("offered", "Offered", ColumnKind.COUNT, scope=_CALLS),
    Column("presented", "Presented", ColumnKind.COUNT, scope=_AGENT),
    Column("ring_cancelled", "Ring cancelled", ColumnKind.COUNT, scope=_AGENT),
    Column("answered", "Answered", ColumnKind.COUNT),
    Column("completed_by_caller", "Caller ended", ColumnKind.COUNT, scope=_AGENT),
    Column("completed_by_agent", "Agent ended", ColumnKind.COUNT, scope=_AGENT),
    Column("abandoned", "Abandoned", ColumnKind.COUNT, scope=_CALLS),
    Column("short_abandoned", "Short abandons", ColumnKind.COUNT, scope=_CALLS),
    Column("timed_out", "Timeout", ColumnKind.COUNT, scope=_CALLS),
    Column("exit_empty", "Exit empty", ColumnKind.COUNT, scope=_CALLS),
    Column("exit_key", "Key press", ColumnKind.COUNT, scope=_CALLS),
    Column("withdrawn", "Withdrawn", ColumnKind.COUNT, scope=_CALLS),
    Column("flowed_out", "Flowed out", ColumnKind.COUNT, in_summary=False),
    Column("answered_within", "Answered in SL", ColumnKind.COUNT, in_summary=False),
    Column("service_level", "SL %", ColumnKind.PERCENT, scope=_CALLS),
    Column("asa_s", "ASA s", ColumnKind.SECONDS),
    Column("aht_s", "AHT s", ColumnKind.SECONDS),
    Column("aht_talk_s", "AHT excl. wrap-up s", ColumnKind.SECONDS, in_summary=False),
    Column("talk_s", "Talk s", ColumnKind.SECONDS, in_summary=False),
    Column("wrapup_s", "Wrap-up s", ColumnKind.SECONDS, in_summary=False),
    Column("abandon_rate", "Aband %", ColumnKind.PERCENT, scope=_CALLS),
    Column("max_wait_s", "Longest wait s", ColumnKind.SECONDS, in_summary=False),
    Column("transfers", "Transfers", ColumnKind.COUNT, scope=_AGENT),
    Column("ring_no_answers", "Ring no answer", ColumnKind.COUNT, in_summary=False),
    Column("logged_in_s", "Logged in s", ColumnKind.SECONDS, in_summary=False),
    Column("paused_s", "Paused s", ColumnKind.SECONDS, in_summary=False),
    Column("occupancy", "Occ %", ColumnKind.PERCENT),
    Column("staffed_agents", "Staffed", ColumnKind.DECIMAL, scope=_CALLS),
    Column("required_agents", "Needed", ColumnKind.COUNT, scope=_CALLS),
    Column("pause_by_reason", "Pause by reason s", ColumnKind.TEXT, in_summary=False),
)


@dataclass(frozen=True)
class Report:
    """A finished report: its setup, lines per interval and group, totals, the read's issues."""

    title: str
    interval: Interval
    group_by: GroupBy
    definition: str
    start: datetime | None
    end: datetime | None
    columns: tuple[Column, ...]
    lines: tuple[ReportLine, ...]
    totals: tuple[ReportLine, ...]
    grand_total: ReportLine
    parse: ParseSummary | None
    days: tuple[ReportLine, ...] = ()  # all queues per local day, oldest first
    notes: tuple[str, ...] = ()  # e.g. why "Needed" is empty

    def summary_columns(self) -> list[Column]:
        """The columns a text, window or PDF table shows for this report's grouping."""
        return [c for c in self.columns if c.shown_for(self.group_by)]


def build_store(
    records: Iterable[QueueLogRecord],
    config: MetricsConfig,
    *,
    until: float | Callable[[float], float | None] | None = None,
    interval: Interval | None = None,
    keep_agents: bool = True,
) -> CellStore:
    """Interpret records into quarter-hour cells, or into ``interval``'s report periods.

    A store of periods makes reports at that interval only, in a fraction of the
    memory (a year at 30 minutes is half the cells of a year of quarter hours).
    Agents still logged in after the last record are counted up to ``until``
    (the end of the requested period, or now: see ``report_until``); without
    it, up to the last record. ``keep_agents=False`` keeps queue and total
    figures only (see ``CellStore``), for reports not grouped by agent.
    """
    periods = None if interval is None else LocalPeriods(config.tz, interval.minutes)
    store = CellStore(BASE_BUCKET_S, periods=periods, keep_agents=keep_agents)
    interpreter = QueueLogInterpreter(config, store)
    interpreter.feed_all(records)
    last = interpreter.last_timestamp
    if last is not None:
        close_at = until(last) if callable(until) else until
        interpreter.close(max(last, close_at if close_at is not None else last))
    return store


def report_until(
    last_timestamp: float | None, end: datetime | None, config: MetricsConfig, now: float
) -> float | None:
    """Where open agent time ends: the requested end, else the end of the last record's day.

    Never past ``now``, never before the last record."""
    if end is not None:
        return min(end.timestamp(), now)
    if last_timestamp is None:
        return None
    day_end = local_midnight(local_midnight(last_timestamp, config.tz) + 26 * 3600, config.tz)
    return max(last_timestamp, min(day_end, now))


def period_start(bucket: int, interval: Interval, config: MetricsConfig) -> datetime:
    """Local start of the report period holding a quarter-hour bucket (DST-safe)."""
    start, _ = LocalPeriods(config.tz, interval.minutes).span(bucket)
    return datetime.fromtimestamp(start, config.tz)


def period_end(start: datetime, interval: Interval, config: MetricsConfig) -> datetime:
    """Local end of the report period that begins at ``start`` (a day may be 23 or 25 h)."""
    _, end = LocalPeriods(config.tz, interval.minutes).span(start.timestamp())
    return datetime.fromtimestamp(end, config.tz)


def _staffing(row: MetricsRow, config: MetricsConfig) -> int | None:
    """Agents Erlang C needed for this row's actual calls and AHT, under the SL target."""
    if not row.offered or not row.aht_s or row.start is None or row.end is None:
        return None
    definition = config.service_level
    target = StaffingTarget(service_level=definition.target, threshold_s=definition.threshold_s)
    span = row.end.timestamp() - row.start.timestamp()  # elapsed, not wall-clock (DST)
    try:
        return required_agents(row.offered, span, row.aht_s, target).agents
    except (ErlangInputError, StaffingInfeasibleError):
        return None


def _groups(store: CellStore, group_by: GroupBy, keep: set[int]) -> list[str]:
    names: set[str] = set()
    for bucket, queue, agent in store.cells:
        if bucket not in keep:
            continue
        if group_by is GroupBy.QUEUE and queue != AGENT_LEVEL:
            names.add(queue)
        elif group_by is GroupBy.AGENT and agent:
            names.add(agent)
    return sorted(names) if group_by is not GroupBy.TOTAL else [""]


def _rollup(
    cells: list[tuple[tuple[int, str, str], Counters]], group_by: GroupBy, name: str
) -> Counters:
    return rollup(
        cells,
        queue=name if group_by is GroupBy.QUEUE else None,
        agent=name if group_by is GroupBy.AGENT else None,
    )


def _line(
    total: Counters,
    group_by: GroupBy,
    name: str,
    config: MetricsConfig,
    start: datetime | None,
    end: datetime | None,
    with_staffing: bool,
) -> ReportLine:
    queue = name if group_by is GroupBy.QUEUE else ""
    agent = name if group_by is GroupBy.AGENT else ""
    row = make_row(total, config.service_level, start=start, end=end, queue=queue, agent=agent)
    return ReportLine(row, _staffing(row, config) if with_staffing else None)


def _add(into: Counters, other: Counters) -> None:
    into.merge_calls(other)
    into.merge_time(other)


def build_report(
    store: CellStore,
    config: MetricsConfig,
    *,
    interval: Interval = Interval.MIN30,
    group_by: GroupBy = GroupBy.QUEUE,
    start: datetime | None = None,
    end: datetime | None = None,
    parse: ParseSummary | None = None,
    title: str = "Queue report",
    release: bool = False,
) -> Report:
    """Lines per period and group for buckets in [start, end); totals per group and overall.

    Totals and day totals are sums of the periods' own rollups, so one pass over the
    periods makes everything; ``release=True`` drops each period's cells from the
    store once it is reported (the store is then spent), so the cells and the
    report's lines are never both whole in memory.
    """
    if store.periods is not None and store.periods != LocalPeriods(config.tz, interval.minutes):
        raise ValueError("this store holds another interval's periods: it makes those reports only")
    if not store.keep_agents and group_by is GroupBy.AGENT:
        raise ValueError("this store was built without agents (keep_agents=False)")
    lo = start.timestamp() if start else float("-inf")
    hi = end.timestamp() if end else float("inf")
    buckets = {b for b, _, _ in store.cells if lo <= b < hi}
    starts = {b: period_start(b, interval, config) for b in buckets}
    periods: dict[datetime, list[tuple[tuple[int, str, str], Counters]]] = {}
    for key, cell in store.cells.items():
        if key[0] in buckets:
            periods.setdefault(starts[key[0]], []).append((key, cell))
    groups = _groups(store, group_by, buckets)
    staffing = group_by is not GroupBy.AGENT
    group_sums = {name: Counters() for name in groups}
    grand_sum = Counters()
    day_sums: dict[datetime, Counters] = {}
    lines = []
    for begin in sorted(periods):
        cells = periods.pop(begin)
        finish = period_end(begin, interval, config)
        for name in groups:
            summed = _rollup(cells, group_by, name)
            _add(group_sums[name], summed)
            line = _line(summed, group_by, name, config, begin, finish, staffing)
            if line.row.offered or line.row.logged_in_s or line.row.handled:
                lines.append(line)
        whole = _rollup(cells, GroupBy.TOTAL, "")
        _add(grand_sum, whole)
        day = period_start(int(begin.timestamp()), Interval.DAY, config)
        _add(day_sums.setdefault(day, Counters()), whole)
        if release:
            for key, _ in cells:
                del store.cells[key]
    first = min(starts.values(), default=None)
    last = period_end(max(starts.values()), interval, config) if starts else None
    totals = tuple(_line(group_sums[n], group_by, n, config, first, last, False) for n in groups)
    grand = _line(grand_sum, GroupBy.TOTAL, "", config, first, last, False)
    if interval is Interval.DAY and group_by is GroupBy.TOTAL:
        days = tuple(lines)
    else:
        days = tuple(
            _line(day_sums[day], GroupBy.TOTAL, "", config, day,
                  period_end(day, Interval.DAY, config), False)
            for day in sorted(day_sums)
        )  # fmt: skip
    notes = []
    reason = unreachable_reason(
        StaffingTarget(config.service_level.target, config.service_level.threshold_s)
    )
    if reason and group_by is not GroupBy.AGENT:
        notes.append(f"Needed: {reason}.")
    return Report(
        title=title,
        interval=interval,
        group_by=group_by,
        definition=config.service_level.describe(),
        start=start or first,
        end=end or last,
        columns=COLUMNS,
        lines=tuple(lines),
        totals=totals,
        grand_total=grand,
        parse=parse,
        days=days,
        notes=tuple(notes),
    )


def report_from_queue_log(
    path: str | Path,
    config: MetricsConfig,
    *,
    interval: Interval = Interval.MIN30,
    group_by: GroupBy = GroupBy.QUEUE,
    start: datetime | None = None,
    end: datetime | None = None,
    now: float | None = None,
) -> Report:
    """Stream a queue_log file and build its report (raises OSError if it cannot be read).

    Open agent time runs to ``end`` or to the end of the last record's day, never
    past ``now`` (default: the clock). The store keeps cells per report period,
    not per quarter hour, and a report not by agent keeps no per-agent cells: a
    year of queue_log fits.
    """
    reader = QueueLogReader()
    clock = time.time() if now is None else now
    store = build_store(
        reader.read_file(path), config,
        until=lambda last: report_until(last, end, config, clock),
        interval=interval, keep_agents=group_by is GroupBy.AGENT,
    )  # fmt: skip
    return build_report(
        store, config, interval=interval, group_by=group_by, start=start, end=end,
        parse=reader.summary(), title=f"Queue report: {Path(path).name}", release=True,
    )  # fmt: skip


def format_value(value: str | float | int | None, kind: ColumnKind) -> str:
    """Display text of one cell; empty when the figure is undefined (no calls, no time)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if kind is ColumnKind.PERCENT:
        return f"{value * 100:.1f}"
    if kind is ColumnKind.SECONDS:
        return f"{value:.1f}"
    if kind is ColumnKind.DECIMAL:
        return f"{value:.2f}"
    return f"{int(value)}"


def write_csv(report: Report, out: str | Path | IO[str]) -> None:
    """All columns, one line per interval and group, then per-group totals and a grand total."""
    if isinstance(out, str | Path):
        with open(out, "w", newline="", encoding="utf-8") as handle:
            write_csv(report, handle)
        return
    writer = csv.writer(out)
    writer.writerow(["Line", *(column.header for column in report.columns)])
    labelled = [("interval", line) for line in report.lines]
    labelled += [("total", line) for line in report.totals]
    labelled.append(("grand total", report.grand_total))
    for label, line in labelled:
        cells = (format_value(line.value(c.key), c.kind) for c in report.columns)
        writer.writerow([label, *cells])


_SEP = "\x1f"  # between a held row's cells (the ASCII unit separator)


def _write_table(
    out: IO[str],
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    text_columns: int = 1,
) -> None:
    """Fixed-width table: the first ``text_columns`` left-aligned, numbers right-aligned.

    Rows are formatted once and held as one joined string each until the widths
    are known: a year at 15 minutes is 140,000 rows of 30 cells."""
    widths = [len(h) for h in headers]
    joined = []
    for cells in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, cells, strict=True)]
        row = _SEP.join(cells)
        if row.count(_SEP) != len(cells) - 1:  # a name from the file carried one
            row = _SEP.join(c.replace(_SEP, " ") for c in cells)
        joined.append(row)
    for cells in itertools.chain((headers,), (row.split(_SEP) for row in joined)):
        padded = [
            c.ljust(w) if i < text_columns else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        out.write("  ".join(padded).rstrip() + "\n")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], text_columns: int = 1) -> str:
    out = io.StringIO()
    _write_table(out, headers, rows, text_columns)
    return out.getvalue()


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f} s"


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f} %"


def kpi_summary(report: Report) -> tuple[tuple[str, str], ...]:
    """What a manager reads first, over the whole report: (label, text) pairs."""
    row = report.grand_total.row
    pairs = [("Offered", str(row.offered)), ("Answered", str(row.answered))]
    pairs += [(f"SL {t:g} s", _percent(sl)) for t, sl in row.sl_at]
    pairs += [
        ("ASA", _seconds(row.asa_s)),
        ("AHT", _seconds(row.aht_s)),
        ("AHT excl. wrap-up", _seconds(row.aht_talk_s)),
        ("Abandon rate", _percent(row.abandon_rate)),
        ("Longest wait", _seconds(row.max_wait_s if row.offered else None)),
        ("Abandoned", str(row.abandoned)),
        ("Timed out", str(row.timed_out)),
        ("Exit empty", str(row.exit_empty)),
        ("Key press", str(row.exit_key)),
        ("Withdrawn", str(row.withdrawn)),
    ]
    return tuple(pairs)


def distribution_rows(line: ReportLine) -> list[list[str]]:
    """Wait of answered calls and of abandoned calls per bin, with cumulative shares."""
    row = line.row
    answered, abandoned = row.wait_distribution, row.abandon_distribution
    if not answered:
        return []
    total_answered, total_abandoned = sum(answered) or None, sum(abandoned) or None
    out, run_answered, run_abandoned = [], 0, 0
    for label, n_answered, n_abandoned in zip(wait_bin_labels(), answered, abandoned, strict=True):
        run_answered += n_answered
        run_abandoned += n_abandoned
        out.append([
            label,
            str(n_answered), _percent(total_answered and run_answered / total_answered),
            str(n_abandoned), _percent(total_abandoned and run_abandoned / total_abandoned),
        ])  # fmt: skip
    return out


DISTRIBUTION_HEADERS = ("Wait", "Answered", "Cum. answered", "Abandoned", "Cum. abandoned")
PAUSE_HEADERS = ("Queue/agent", "Reason", "Pauses", "Time s", "Share of paused")


def pause_rows(report: Report) -> list[list[str]]:
    """Per queue or agent (the report's grouping) and pause reason: pauses, time, share."""
    lines = report.totals if report.group_by is not GroupBy.TOTAL else (report.grand_total,)
    out = []
    for line in lines:
        counts = dict(line.row.pause_counts)
        paused = line.row.paused_s
        for reason, seconds in line.row.pause_by_reason:
            share = seconds / paused if paused > 0 else None
            out.append([str(line.value("group") or "all"), reason or "(none)",
                        str(counts.get(reason, 0)), f"{seconds:.0f}", _percent(share)])  # fmt: skip
    return out


def format_text(report: Report) -> str:
    """``write_text`` into a string."""
    out = io.StringIO()
    write_text(report, out)
    return out.getvalue()


def write_text(report: Report, out: IO[str]) -> None:
    """A fixed-width report for a terminal: the KPI summary first, then the table, day totals,
    wait distributions and pause reasons. Streamed: a year at 15 minutes is 24 MB of text."""
    columns = report.summary_columns()

    def cells(line: ReportLine, label: str | None = None) -> list[str]:
        values = [format_value(line.value(c.key), c.kind) for c in columns]
        if label is not None:
            values[0] = label
        elif line.row.start is not None:
            values[0] = line.row.start.strftime("%Y-%m-%d %H:%M")
        return values

    def rows() -> Iterable[list[str]]:
        yield from (cells(line) for line in report.lines)
        yield from (cells(line, "total") for line in report.totals)
        yield cells(report.grand_total, "grand total")

    def day_rows() -> Iterable[list[str]]:
        for line in report.days:
            yield cells(line, line.row.start.strftime("%Y-%m-%d") if line.row.start else "")

    head = [report.title, report.definition]
    if report.parse is not None:
        head.append(report.parse.describe())
    head.extend(report.notes)
    kpis = kpi_summary(report)
    summary = "Summary: " + "   ".join(f"{label} {value}" for label, value in kpis if value)
    headers = [c.header for c in columns]
    out.write("\n".join(head) + "\n\n" + summary + "\n\n")
    _write_table(out, headers, rows(), text_columns=2)
    if len(report.days) > 1 or (report.days and report.interval is not Interval.DAY):
        out.write("\nDay totals (all queues)\n")
        _write_table(out, headers, day_rows(), text_columns=2)
    distribution = distribution_rows(report.grand_total)
    if any(r[1] != "0" or r[3] != "0" for r in distribution):
        out.write("\nWait before answer / before abandoning (all queues)\n")
        _write_table(out, DISTRIBUTION_HEADERS, distribution)
    pauses = pause_rows(report)
    if pauses:
        out.write("\nPause reasons\n")
        _write_table(out, PAUSE_HEADERS, pauses, text_columns=2)


def format_staffing(
    results: Sequence[StaffingResult], target: StaffingTarget, patience_s: float | None = None
) -> str:
    """The agents needed per forecast interval, with what that many agents achieve,
    and what the service level means under the model used."""
    headers = ["Interval", "Calls", "Erlangs", "Agents", "SL %", "ASA s", "Aband %", "Occ %"]
    rows = [
        [
            str(index),
            f"{r.calls:g}",
            f"{r.traffic_erlangs:.2f}",
            str(r.agents),
            f"{r.service_level * 100:.1f}",
            f"{r.asa_s:.1f}",
            "" if r.p_abandon is None else f"{r.p_abandon * 100:.1f}",
            f"{r.occupancy * 100:.1f}",
        ]
        for index, r in enumerate(results, start=1)
    ]
    model = results[0].model if results else "erlang-c"
    definition = service_level_definition(model, target.threshold_s, patience_s)
    return (
        f"Staffing ({model}): {target.describe()}\n\n"
        + _table(headers, rows)
        + (f"\n{definition}\n")
    )


_STAFFING_HEADER = (
    "interval", "calls", "interval_s", "aht_s", "erlangs", "agents", "model", "service_level",
    "asa_s", "p_abandon", "occupancy",
)  # fmt: skip


def write_staffing_csv(results: Sequence[StaffingResult], out: str | Path) -> None:
    """One CSV line per forecast interval: inputs, agents needed, and what they achieve."""
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(_STAFFING_HEADER)
        for index, r in enumerate(results, start=1):
            abandon = "" if r.p_abandon is None else f"{r.p_abandon:.4f}"
            writer.writerow(
                (index, f"{r.calls:g}", f"{r.interval_s:g}", f"{r.aht_s:g}",
                 f"{r.traffic_erlangs:.4f}", r.agents, r.model, f"{r.service_level:.4f}",
                 f"{r.asa_s:.2f}", abandon, f"{r.occupancy:.4f}")
            )  # fmt: skip
