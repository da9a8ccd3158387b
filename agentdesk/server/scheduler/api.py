"""Supervisor endpoints of the scheduler: the customer-notification outbox and the lease.

* ``GET /api/v1/supervisor/notifications?state=held&limit=100``: counts per state and
  the rows (held first, then those retrying), without addresses or texts.
* ``POST /api/v1/supervisor/notifications/{id}/retry``: send a held row again.
* ``GET /api/v1/supervisor/scheduler``: who leads the site's scheduler, timers waiting
  and failing.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import TypeAdapter
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agentdesk.models import NotificationState, ScheduledTimer, SchedulerLease
from agentdesk.server.auth import Principal, supervisor
from agentdesk.server.problems import Problem
from agentdesk.server.scheduler.runner import Scheduler
from agentdesk.services.notifications.outbox import NotificationService, NotificationView

router = APIRouter(prefix="/supervisor", tags=["supervisor"])

Supervisor = Annotated[Principal, Depends(supervisor)]
VIEWS = TypeAdapter(list[NotificationView])


def _scheduler(request: Request) -> Scheduler:
    scheduler: Scheduler | None = getattr(request.app.state.context, "scheduler", None)
    if scheduler is None:
        raise Problem(503, "unavailable", "No scheduler", "This server runs no scheduler.")
    return scheduler


def _notifications(request: Request) -> NotificationService:
    service = _scheduler(request).notifications
    if service is None:
        raise Problem(
            503,
            "unavailable",
            "Customer notifications are off",
            "Configure [smtp] or [sms] in the server's settings to send customer notifications.",
        )
    return service


@router.get("/notifications")
def notifications(
    principal: Supervisor,
    request: Request,
    state: Annotated[list[NotificationState] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    """The outbox: counts per state, and rows needing attention first."""
    service = _notifications(request)
    return {
        "counts": service.counts(),
        "items": VIEWS.dump_python(service.list(state or (), limit), mode="json"),
    }


@router.post("/notifications/{notification_id}/retry")
def retry_notification(
    notification_id: uuid.UUID, principal: Supervisor, request: Request
) -> dict[str, Any]:
    """Send a held notification again, with a fresh set of attempts."""
    if not _notifications(request).retry(notification_id):
        raise Problem(409, "conflict", "Not held", "Only a held notification can be sent again.")
    return {"id": str(notification_id), "state": NotificationState.PENDING.value}


@router.get("/scheduler")
def scheduler_status(principal: Supervisor, request: Request) -> dict[str, Any]:
    """The site's leader and its lease, and how many timers wait or keep failing."""
    scheduler = _scheduler(request)
    now = scheduler.clock()
    with Session(scheduler.engine) as s:
        lease = s.get(SchedulerLease, scheduler.lease.name)
        pending = s.scalar(
            select(func.count())
            .select_from(ScheduledTimer)
            .where(ScheduledTimer.fired_at.is_(None))
        )
        overdue = s.scalar(
            select(func.count())
            .select_from(ScheduledTimer)
            .where(ScheduledTimer.fired_at.is_(None), ScheduledTimer.due_at <= now)
        )
        failing = s.scalar(
            select(func.count())
            .select_from(ScheduledTimer)
            .where(ScheduledTimer.fired_at.is_(None), ScheduledTimer.last_error.is_not(None))
        )
    return {
        "site": scheduler.settings.site,
        "this_instance": scheduler.lease.holder,
        "this_instance_leads": scheduler.is_leader,
        "leader": None
        if lease is None
        else {
            "holder": lease.holder,
            "token": lease.token,
            "since": lease.acquired_at.isoformat(),
            "expires_at": lease.expires_at.isoformat(),
            "current": lease.expires_at > now,
        },
        "timers": {"pending": pending or 0, "overdue": overdue or 0, "failing": failing or 0},
        "notifications": None
        if scheduler.notifications is None
        else scheduler.notifications.counts(),
    }
