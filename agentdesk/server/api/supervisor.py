"""Supervisor and administrator endpoints: floor history, breached tickets, sessions, audit.

Every route here needs a supervisor or administrator session (403 for an
agent's token, whatever else it carries); the administrator-only ones say so.

Ring → pop latency, the breached tickets and the audit chain walk are reports:
they read the hot standby when one is configured (``store/standby.py``; the
walk then covers the chain as far as the standby has replayed it). The escalations stay on
the primary (an alert marked read here must not come back unread from a
standby that has not replayed the write yet).
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import TypeAdapter
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from agentdesk.models import Role, TicketAlert
from agentdesk.server.auth import Principal, supervisor
from agentdesk.server.context import Ctx
from agentdesk.server.problems import Problem, forbidden
from agentdesk.services.supervisor.floor_stats import (
    BreachedTickets,
    WorkstationLatency,
    breached_tickets,
    pop_latency_by_workstation,
)
from agentdesk.services.tickets.escalation import (
    AlertView,
    EscalationView,
    alerts_for,
    escalated_tickets,
)
from agentdesk.store.audit_log import ChainReport, verify_chain
from agentdesk.store.mutations import MutationRejected

router = APIRouter(prefix="/supervisor", tags=["supervisor"])

Supervisor = Annotated[Principal, Depends(supervisor)]
LATENCY = TypeAdapter(tuple[WorkstationLatency, ...])
BREACHED = TypeAdapter(BreachedTickets)
ESCALATED = TypeAdapter(list[EscalationView])
ALERTS = TypeAdapter(list[AlertView])


@router.get("/pop-latency")
def pop_latency(
    day: dt.date,
    principal: Supervisor,
    ctx: Ctx,
    tz: Annotated[str, Query(max_length=64)] = "UTC",
) -> Any:
    """Ring→pop p50/p95 per workstation over the calls offered on ``day`` (in ``tz``)."""
    try:
        zone = zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise Problem(400, "invalid-request", "Unknown time zone", tz) from exc
    latency = ctx.read_report(lambda engine: pop_latency_by_workstation(engine, day, zone))
    return LATENCY.dump_python(latency, mode="json")


@router.get("/breached-tickets")
def breached(principal: Supervisor, ctx: Ctx) -> Any:
    """Open tickets past their first-response or resolution due time, most overdue first."""
    now = dt.datetime.now(dt.UTC)
    return BREACHED.dump_python(
        ctx.read_report(lambda engine: breached_tickets(engine, now)), mode="json"
    )


@router.get("/escalations")
def escalations(
    principal: Supervisor, ctx: Ctx, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> dict[str, Any]:
    """Open escalated tickets (highest level first, then the longest overdue) of the
    supervisor's teams (every team for a full replica), and the escalation alerts
    addressed to this supervisor that are not read yet."""
    teams = None if principal.full_replica else principal.team_ids
    return {
        "tickets": ESCALATED.dump_python(
            escalated_tickets(ctx.engine, team_ids=teams, limit=limit), mode="json"
        ),
        "alerts": ALERTS.dump_python(alerts_for(ctx.engine, principal.agent_id), mode="json"),
    }


@router.post("/alerts/{alert_id}/read")
def read_alert(alert_id: uuid.UUID, principal: Supervisor, ctx: Ctx) -> dict[str, Any]:
    """Mark one escalation alert addressed to this supervisor read (``ticket_alert.read``,
    audited); 404 for an alert that is not theirs, so ids of others' alerts are not told."""
    with Session(ctx.engine) as session:
        alert = session.get(TicketAlert, alert_id)
        recipient = None if alert is None else alert.recipient_id
    if recipient != principal.agent_id:
        raise Problem(404, "not-found", "No such alert", "no escalation alert of yours has this id")
    try:
        outcome = ctx.store.write("ticket_alert.read", {"id": str(alert_id)}, principal.login)
    except MutationRejected as exc:
        raise Problem(409, "rejected", "The alert could not be marked read", str(exc)) from exc
    return dict(outcome.result)


@router.post("/agents/{agent_id}/revoke-sessions")
def revoke_sessions(agent_id: uuid.UUID, principal: Supervisor, ctx: Ctx) -> dict[str, int]:
    """End every session of an agent at once (a lost badge, a left employee); audited."""
    ended = ctx.signin.revoke_agent(agent_id, actor=principal.login, reason="revoked by supervisor")
    return {"revoked": ended}


@router.get("/audit/verify")
def audit_verify(principal: Supervisor, ctx: Ctx) -> dict[str, Any]:
    """Walk the audit hash chain (administrators only)."""
    if principal.role is not Role.ADMIN:
        raise forbidden("Only administrators may verify the audit chain.")

    def walk(engine: Engine) -> ChainReport:
        with Session(engine) as session:
            return verify_chain(session)

    report = ctx.read_report(walk)
    return {
        "ok": report.ok,
        "entries": report.entries,
        "head": f"{report.head_seq}:{report.head_hash}",
        "broken": None if report.broken is None else str(report.broken),
    }
