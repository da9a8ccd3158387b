"""Timed work on the server: one scheduler per site (leader lease), durable timers, jobs.

:func:`build_scheduler` makes the site's scheduler from the server's settings,
with customer notifications as its jobs when ``[smtp]`` or ``[sms]`` is set.
"""

from __future__ import annotations

from agentdesk.server.scheduler.clock import Clock, ManualClock, system_clock
from agentdesk.server.scheduler.runner import Scheduler, SchedulerSettings, TickReport
from agentdesk.server.scheduler.timers import Firing, cancel, schedule
from agentdesk.services.notifications.channels import (
    SmsGateway,
    SmsSettings,
    SmtpMailer,
    SmtpSettings,
    make_sms_gateway,
)
from agentdesk.services.notifications.outbox import NotificationService
from agentdesk.services.notifications.templates import load_catalog
from agentdesk.store.sync.central import CentralStore

__all__ = [
    "Clock",
    "Firing",
    "ManualClock",
    "Scheduler",
    "SchedulerSettings",
    "TickReport",
    "build_scheduler",
    "cancel",
    "schedule",
    "system_clock",
]


def build_scheduler(
    store: CentralStore,
    settings: SchedulerSettings,
    *,
    smtp: SmtpSettings | None = None,
    sms: SmsSettings | None = None,
    sms_gateway: SmsGateway | None = None,
    clock: Clock = system_clock,
    holder: str | None = None,
) -> Scheduler:
    """The site's scheduler, with notification intake and dispatch when a channel is set.

    Templates are loaded and checked here: a broken one stops the server at start.
    """
    scheduler = Scheduler(store.engine, settings, clock=clock, holder=holder)
    gateway = sms_gateway or (make_sms_gateway(sms) if sms is not None else None)
    if smtp is not None or gateway is not None:
        service = NotificationService(
            store,
            load_catalog(),
            mailer=None if smtp is None else SmtpMailer(smtp),
            sms=gateway,
            from_address=smtp.from_address if smtp is not None else "customer-service@localhost",
            clock=clock,
        )
        scheduler.notifications = service
        scheduler.on_start(service.start_cursor)
        scheduler.add_job("notifications.intake", service.intake)
        scheduler.add_job("notifications.dispatch", service.dispatch)
    return scheduler
