"""``agentdesk report``: queue reports from an Asterisk queue_log, and Erlang staffing.

    agentdesk report --queue-log /var/log/asterisk/queue_log --interval 30 --by queue \\
        --from 2024-05-01 --to 2024-05-07 --sl-threshold 20 --short-abandon 5 --csv out.csv \\
        [--pdf out.pdf]
    agentdesk report --forecast 120,200,260 --interval 30 --aht 300 --sl-target 80 \\
        --sl-threshold 20 [--patience 180 --max-abandon 5]

The first prints a summary table and writes every column to ``--csv``; the
second prints the agents needed per forecast interval (Erlang C, or Erlang A
with ``--patience``).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agentdesk.services.supervisor.erlang import (
    ErlangInputError,
    StaffingInfeasibleError,
    StaffingTarget,
    staffing_plan,
)
from agentdesk.services.supervisor.queue_metrics import MetricsConfig, ServiceLevelDefinition
from agentdesk.services.supervisor.reports import (
    GroupBy,
    Interval,
    format_staffing,
    report_from_queue_log,
    write_csv,
    write_staffing_csv,
    write_text,
)

_SHOWN_ISSUES = 5


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "report",
        help="queue reports from a queue_log file, or Erlang staffing for a forecast",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--queue-log", metavar="PATH", help="Asterisk queue_log file to report on")
    source.add_argument(
        "--forecast", metavar="CALLS,…", help="calls per interval, comma-separated (staffing mode)"
    )
    parser.add_argument(
        "--interval",
        choices=[i.value for i in Interval],
        default="30",
        help="report period in minutes, or day (default 30)",
    )
    parser.add_argument(
        "--by",
        choices=[g.value for g in GroupBy],
        default="queue",
        help="one line per queue, per agent, or totals (default queue)",
    )
    parser.add_argument(
        "--from", dest="date_from", metavar="DATE", help="first day (YYYY-MM-DD[THH:MM])"
    )
    parser.add_argument(
        "--to", dest="date_to", metavar="DATE", help="last day, inclusive (or a time, exclusive)"
    )
    parser.add_argument("--tz", help="time zone for intervals (default: this machine's)")
    parser.add_argument(
        "--sl-threshold", type=float, default=20.0, metavar="S", help="answered within S seconds"
    )
    parser.add_argument(
        "--sl-target", type=float, default=80.0, metavar="PCT", help="service-level target %%"
    )
    parser.add_argument(
        "--short-abandon",
        type=float,
        default=5.0,
        metavar="S",
        help="abandons under S seconds are short abandons",
    )
    parser.add_argument(
        "--include-short-abandons",
        action="store_true",
        help="count short abandons in service level and abandonment",
    )
    parser.add_argument(
        "--exclude-abandons", action="store_true", help="service level over answered calls only"
    )
    parser.add_argument(
        "--count-flowouts",
        action="store_true",
        help="count timeouts and queue exits in the service-level denominator",
    )
    parser.add_argument(
        "--wrapup",
        action="append",
        default=[],
        metavar="QUEUE=S",
        help="Asterisk wrapuptime of a queue, added to AHT (repeatable)",
    )
    parser.add_argument(
        "--aht", type=float, metavar="S", help="average handle time (staffing mode)"
    )
    parser.add_argument(
        "--patience", type=float, metavar="S", help="mean caller patience: use Erlang A"
    )
    parser.add_argument(
        "--max-abandon", type=float, metavar="PCT", help="abandonment cap %% (Erlang A)"
    )
    parser.add_argument("--csv", metavar="OUT", help="write the full table to this CSV file")
    parser.add_argument(
        "--pdf", metavar="OUT", help="write the report with its interval chart as a PDF"
    )
    parser.set_defaults(func=run)


class _UsageError(ValueError):
    """A command-line value that cannot be used; printed without a traceback."""


def _zone(name: str | None) -> tzinfo:
    """The named zone, else $TZ, else /etc/localtime, else this process's current offset."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise _UsageError(f"unknown time zone {name!r}") from error
    try:
        if os.environ.get("TZ"):
            return ZoneInfo(os.environ["TZ"].lstrip(":"))
        with open("/etc/localtime", "rb") as handle:
            return ZoneInfo.from_file(handle, key="localtime")
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return datetime.now().astimezone().tzinfo or UTC


def _moment(text: str | None, tz: tzinfo, *, end: bool) -> datetime | None:
    """A day means its midnight (for --to, the next midnight: the day is included)."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text) + timedelta(days=1 if end else 0)
            return datetime.combine(day, datetime.min.time(), tzinfo=tz)
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise _UsageError(f"not a date: {text!r} (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def _wrapups(items: list[str]) -> dict[str, float]:
    wrapups = {}
    for item in items:
        queue, _, seconds = item.partition("=")
        try:
            wrapups[queue.strip()] = float(seconds)
        except ValueError as error:
            raise _UsageError(f"--wrapup wants QUEUE=SECONDS, got {item!r}") from error
    return wrapups


def _config(args: argparse.Namespace) -> MetricsConfig:
    definition = ServiceLevelDefinition(
        threshold_s=args.sl_threshold,
        short_abandon_s=args.short_abandon,
        count_abandons=not args.exclude_abandons,
        exclude_short_abandons=not args.include_short_abandons,
        count_flowouts=args.count_flowouts,
        target=args.sl_target / 100.0,
    )
    return MetricsConfig(
        service_level=definition, wrapup_s=_wrapups(args.wrapup), tz=_zone(args.tz)
    )


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector: reading a year of queue_log makes a million
    short-lived records and only a couple of thousand objects in cycles, so the
    collector would mostly rescan what is kept (about a tenth of the CPU time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _run_report(args: argparse.Namespace) -> int:
    config = _config(args)
    start = _moment(args.date_from, config.tz, end=False)
    end = _moment(args.date_to, config.tz, end=True)
    with _no_cycle_collection():
        report = report_from_queue_log(
            args.queue_log,
            config,
            interval=Interval(args.interval),
            group_by=GroupBy(args.by),
            start=start,
            end=end,
        )
    write_text(report, sys.stdout)
    if report.parse is not None:
        for issue in report.parse.issues[:_SHOWN_ISSUES]:
            kept = "skipped" if issue.skipped else "kept"
            print(
                f"line {issue.line_no}: {issue.reason} ({kept}): {issue.excerpt}", file=sys.stderr
            )
        more = report.parse.skipped + report.parse.flagged - _SHOWN_ISSUES
        if more > 0:
            print(f"… and {more} more problem lines", file=sys.stderr)
    if args.csv:
        write_csv(report, args.csv)
        print(f"wrote {args.csv}")
    if args.pdf:
        from agentdesk.ui.supervisor.report_pdf import export_pdf  # Qt only when asked

        pages = export_pdf(report, args.queue_log, config, args.pdf)
        print(f"wrote {args.pdf} ({pages} page{'s' if pages != 1 else ''})")
    return 0


def _run_staffing(args: argparse.Namespace) -> int:
    if args.interval == Interval.DAY.value:
        raise _UsageError("staffing needs --interval 15, 30 or 60")
    if args.aht is None:
        raise _UsageError("staffing needs --aht SECONDS")
    try:
        forecast = [float(x) for x in args.forecast.split(",") if x.strip()]
    except ValueError as error:
        raise _UsageError(
            f"--forecast wants numbers separated by commas: {args.forecast!r}"
        ) from error
    target = StaffingTarget(
        service_level=args.sl_target / 100.0,
        threshold_s=args.sl_threshold,
        max_abandon=None if args.max_abandon is None else args.max_abandon / 100.0,
    )
    results = staffing_plan(forecast, int(args.interval) * 60, args.aht, target, args.patience)
    sys.stdout.write(format_staffing(results, target, args.patience))
    if args.csv:
        write_staffing_csv(results, args.csv)
        print(f"wrote {args.csv}")
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        return _run_report(args) if args.queue_log else _run_staffing(args)
    except (_UsageError, ErlangInputError, StaffingInfeasibleError, ValueError) as error:
        print(f"agentdesk report: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"agentdesk report: cannot read or write: {error}", file=sys.stderr)
        return 1
