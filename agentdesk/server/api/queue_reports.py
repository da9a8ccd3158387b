"""``/api/v1/supervisor/reports`` and ``/reconciliation``: reports from the server's queue records.

The reports are computed on the server from ``queue_record`` (the records the
live wallboard counted, ``server/cti/queue_store.py``) with the wallboard's own
``MetricsConfig`` and ``reports.build_report``: one source, one set of
definitions. Why an endpoint and not ``agentdesk report --from-server-db``:
the records and the definitions the board uses are the server's (its alerts
file, its time zone), supervisors already reach the server with a signed-in
session (no database credentials on a desk), and the desktop's Reports tab
can call it through ``ServerApi`` like every other read.

``GET /supervisor/reports?start=2026-12-13&end=2026-12-14&interval=30&by=queue[&site=lab]``:
the report as JSON (lines, per-group totals, grand total, the service-level
definition), ``format=csv`` for ``reports.write_csv``'s CSV. ``start`` is
inclusive, ``end`` exclusive (dates are local midnights in ``tz``, default the
board's), at most ``MAX_DAYS`` apart.

``GET /supervisor/reconciliation``: per site, the board's day totals against
the report over the same records and day (``drift`` 0 when they agree).

Reports read the hot standby when one is configured (``[central]
standby_url``, ``store/standby.py``), the primary otherwise or when it does not
answer. The reconciliation always reads the primary: it compares the live
board with the records it has just written, which a lagging standby may not
have replayed yet.

Supervisors and administrators only (403 otherwise).
"""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import TypeAdapter
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from agentdesk.server.auth import Principal, supervisor
from agentdesk.server.context import Ctx
from agentdesk.server.cti.floor import FloorHub
from agentdesk.server.cti.queue_store import report_from_db, stored_sites
from agentdesk.server.problems import Problem
from agentdesk.services.supervisor.alerts import AlertConfigError
from agentdesk.services.supervisor.queue_metrics import MetricsConfig, MetricsRow
from agentdesk.services.supervisor.reports import GroupBy, Interval, Report, write_csv
from agentdesk.services.supervisor.settings import load_settings

router = APIRouter(prefix="/supervisor", tags=["supervisor"])

Supervisor = Annotated[Principal, Depends(supervisor)]
MAX_DAYS = 366
_ROW = TypeAdapter(MetricsRow)


def _floor(request: Request) -> FloorHub | None:
    floor: FloorHub | None = getattr(request.app.state, "cti_floor", None)
    return floor


def _config(request: Request) -> MetricsConfig:
    """The live board's definitions (or the same file's, when no PBX is configured)."""
    floor = _floor(request)
    if floor is not None:
        return floor.settings.metrics
    try:
        return load_settings().metrics
    except AlertConfigError as exc:
        raise Problem(503, "unavailable", "Report settings unreadable", str(exc)) from exc


def _moment(text: str, tz: dt.tzinfo, name: str) -> dt.datetime:
    try:
        if len(text) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time.min, tzinfo=tz)
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise Problem(400, "invalid-request", f"Invalid {name}", text) from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def _line(line: Any) -> dict[str, Any]:
    body: dict[str, Any] = _ROW.dump_python(line.row, mode="json")
    body["required_agents"] = line.required_agents
    return body


def report_json(report: Report) -> dict[str, Any]:
    return {
        "title": report.title,
        "interval": report.interval.value,
        "by": report.group_by.value,
        "definition": report.definition,
        "start": report.start.isoformat() if report.start else None,
        "end": report.end.isoformat() if report.end else None,
        "lines": [_line(line) for line in report.lines],
        "totals": [_line(line) for line in report.totals],
        "grand_total": _line(report.grand_total),
        "days": [_line(line) for line in report.days],
        "notes": list(report.notes),
    }


@router.get("/reports", response_model=None)
async def reports(
    request: Request,
    principal: Supervisor,
    ctx: Ctx,
    start: Annotated[str, Query(max_length=40)],
    end: Annotated[str, Query(max_length=40)],
    interval: Interval = Interval.MIN30,
    by: GroupBy = GroupBy.QUEUE,
    site: Annotated[str | None, Query(max_length=64)] = None,
    tz: Annotated[str | None, Query(max_length=64)] = None,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Any:
    """A queue report over the server's stored queue records for [start, end)."""
    config = _config(request)
    zone: dt.tzinfo = config.tz
    if tz:
        try:
            zone = zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise Problem(400, "invalid-request", "Unknown time zone", tz) from exc
        config = MetricsConfig(
            service_level=config.service_level,
            wrapup_s=config.wrapup_s,
            acw_pause_reasons=config.acw_pause_reasons,
            tz=zone,
        )
    begin, finish = _moment(start, zone, "start"), _moment(end, zone, "end")
    if finish <= begin or (finish - begin) > dt.timedelta(days=MAX_DAYS):
        raise Problem(400, "invalid-request", "Invalid period", f"at most {MAX_DAYS} days")

    def build(engine: Engine) -> Report:
        sites = [site] if site else stored_sites(engine)
        return report_from_db(engine, config, sites, begin, finish, interval=interval, group_by=by)

    report = await run_in_threadpool(ctx.read_report, build)
    if format == "csv":
        out = io.StringIO()
        write_csv(report, out)
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8")
    return report_json(report)


@router.get("/reconciliation")
async def reconciliation(request: Request, principal: Supervisor) -> dict[str, Any]:
    """Per site: the live day totals vs the report over the same stored records (drift 0)."""
    floor = _floor(request)
    if floor is None:
        return {"sites": []}
    results = []
    for site, site_floor in floor.sites.items():
        if not floor.leads(site):  # another server instance computes it: its last figure
            mirrored = floor.reconciliation_of(site)
            if mirrored is not None:
                results.append(mirrored)
            continue
        result = await site_floor.reconcile()
        if result is not None:
            results.append(result.as_json())
    return {"sites": results}
