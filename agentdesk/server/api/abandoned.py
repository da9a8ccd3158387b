"""``/api/v1/supervisor/abandoned``: the abandoned-call worklist, and callback tasks from it.

Issue 15 item 4. ``GET /supervisor/abandoned?start=2026-12-03&end=2026-12-04``
lists the callers who abandoned in [start, end) and were not reached since
(``services/supervisor/abandoned.py``), from the server's queue records (every
site, or ``site=``), with the known customer by number (flagged when they asked
not to be phoned) and who holds an open callback task for it (from the
reminders and tickets themselves, so the marker survives restarts). ``start``/``end`` are
dates (local midnights in the board's time zone) or ISO times, at most
``MAX_DAYS`` apart. Records are read from a few hours before ``start`` (a call
queued before the period) up to now (a later answer or callback settles an
abandon).

``GET /supervisor/abandoned/targets``: the active agents and the teams a
callback can go to. ``POST /supervisor/abandoned/callback`` creates the callback task
(``services/supervisor/abandoned_callback.py``): a reminder for an agent, or a
ticket routed to a team; refused with 422 for a customer who asked not to be
phoned. Audited as ``supervisor.abandoned_callback`` (ids only, no number).

Supervisors and administrators only (403 otherwise).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from agentdesk.models import Agent, Team
from agentdesk.server.api.queue_reports import _config, _moment
from agentdesk.server.auth import Principal, supervisor
from agentdesk.server.context import Ctx, ServerContext
from agentdesk.server.cti.queue_store import MARGIN_S, iter_records, stored_sites
from agentdesk.server.problems import Problem
from agentdesk.services.supervisor.abandoned import (
    Worklist,
    build_worklist,
    callbacks_since,
    known_customers,
    open_tasks,
    recorded_intents,
)
from agentdesk.services.supervisor.abandoned_callback import (
    CallbackCreated,
    CallbackRefused,
    CallbackRequest,
    CallbackService,
)
from agentdesk.services.tickets.plan import TicketPlanner
from agentdesk.services.tickets.routing import RoutingError, load_rules
from agentdesk.services.tickets.sla import SlaPolicyError, load_policy
from agentdesk.store.audit_log import append_audit
from agentdesk.store.engine import read_session, write_session

router = APIRouter(prefix="/supervisor", tags=["supervisor"])

Supervisor = Annotated[Principal, Depends(supervisor)]
MAX_DAYS = 31
TASKS_BEFORE = dt.timedelta(days=7)  # an open callback task set this long before still counts
AUDITED = "supervisor.abandoned_callback"
_WORKLIST = TypeAdapter(Worklist)
_CREATED = TypeAdapter(CallbackCreated)


class CallbackIn(BaseModel):
    """Call back ``number`` (a worklist row): ``agent_id`` or ``team_id``, not both."""

    model_config = ConfigDict(extra="forbid")

    number: str = Field(min_length=1, max_length=64)
    queue: str = Field(default="", max_length=128)
    wait_s: int = Field(default=0, ge=0, le=86_400)
    agent_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    due_at: dt.datetime | None = None
    region: str = Field(default="GB", pattern="^[A-Z]{2}$")


@functools.cache
def _planner_parts() -> tuple[Any, Any]:
    policy = load_policy()
    return policy, load_rules(reasons=policy.reasons)


def _planner(ctx: ServerContext) -> TicketPlanner:
    try:
        policy, rules = _planner_parts()
    except (SlaPolicyError, RoutingError) as exc:
        raise Problem(503, "unavailable", "Ticket rules unreadable", str(exc)) from exc
    return TicketPlanner(ctx.engine, policy, rules)


@router.get("/abandoned")
async def abandoned(
    request: Request,
    principal: Supervisor,
    ctx: Ctx,
    start: Annotated[str, Query(max_length=40)],
    end: Annotated[str, Query(max_length=40)],
    site: Annotated[str | None, Query(max_length=64)] = None,
    region: Annotated[str, Query(pattern="^[A-Z]{2}$")] = "GB",
) -> Any:
    """The abandoned callers of [start, end) not reached since, most recent first."""
    zone = _config(request).tz
    lo, hi = _moment(start, zone, "start"), _moment(end, zone, "end")
    if hi <= lo:
        raise Problem(400, "invalid-request", "The period is empty", "end must be after start")
    if hi - lo > dt.timedelta(days=MAX_DAYS):
        raise Problem(400, "invalid-request", "The period is too long", f"at most {MAX_DAYS} days")

    def build() -> Worklist:
        engine = ctx.engine
        sites = [site] if site else stored_sites(engine)
        since = lo.timestamp() - MARGIN_S

        def records() -> Any:
            for name in sites:
                yield from iter_records(engine, name, since)

        return build_worklist(
            records(),
            lo,
            hi,
            callbacks=callbacks_since(engine, lo, region),
            customers=lambda keys: known_customers(engine, keys),
            intents=lambda calls: recorded_intents(engine, calls),
            tasks=open_tasks(engine, lo - TASKS_BEFORE, region),
            region=region,
        )

    work = await run_in_threadpool(build)
    return _WORKLIST.dump_python(work, mode="json")


@router.get("/abandoned/targets")
def targets(principal: Supervisor, ctx: Ctx) -> dict[str, list[dict[str, str]]]:
    """Who a callback can go to: the active agents and the teams, by name."""
    with read_session(ctx.engine) as session:
        agents = session.execute(
            select(Agent.id, Agent.display_name).where(Agent.active).order_by(Agent.display_name)
        ).all()
        teams = session.execute(select(Team.id, Team.name).order_by(Team.name)).all()
    return {
        "agents": [{"id": str(i), "name": n} for i, n in agents],
        "teams": [{"id": str(i), "name": n} for i, n in teams],
    }


@router.post("/abandoned/callback", status_code=201)
def callback(body: CallbackIn, principal: Supervisor, ctx: Ctx) -> Any:
    """Create the callback task (a reminder for an agent, a ticket for a team); audited."""
    service = CallbackService(ctx.engine, ctx.store.write, _planner(ctx), region=body.region)
    request = CallbackRequest(
        **{f.name: getattr(body, f.name) for f in dataclasses.fields(CallbackRequest)}
    )
    try:
        created = service.create(request, principal.login, principal.agent_id)
    except CallbackRefused as exc:
        raise Problem(exc.status, "callback-refused", "No callback task", str(exc)) from exc
    with write_session(ctx.engine) as session:
        append_audit(
            session,
            actor=principal.login,
            action=AUDITED,
            entity_type="ticket" if created.reminder_id is None else "reminder",
            entity_id=created.reminder_id or created.ticket_id,
            workstation=principal.workstation,
            details={
                "agent_id": str(body.agent_id) if body.agent_id else None,
                "team_id": str(body.team_id) if body.team_id else None,
                "ticket_id": str(created.ticket_id) if created.ticket_id else None,
                "customer_id": str(created.customer_id) if created.customer_id else None,
                "queue": body.queue[:128],
            },
        )
    return _CREATED.dump_python(created, mode="json")
