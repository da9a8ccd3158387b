"""Timed work on the server: one scheduler per site (leader lease), durable timers, jobs.

:func:`build_scheduler` makes the site's scheduler from the server's settings,
with customer notifications as its jobs when ``[smtp]`` or ``[sms]`` is set.
"""

from __future__ import annotations

from agentdesk.server.scheduler.clock import Clock, ManualClock, system_clock
from agentdesk.server.scheduler.report_mail import add_report_mail
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
from agentdesk.services.supervisor.report_mail import ReportMailSettings
from agentdesk.services.tickets import escalation as escalation_mod
from agentdesk.services.tickets import reminders as reminders_mod
from agentdesk.services.tickets.escalation import EscalationPolicy, EscalationService
from agentdesk.services.tickets.feed_follower import TimerOps
from agentdesk.services.tickets.policy_reminders import PolicyReminders
from agentdesk.services.tickets.reminders import ReminderService
from agentdesk.services.tickets.sla import SlaPolicy, load_policy
from agentdesk.store.sync.central import CentralStore

__all__ = [
    "Clock",
    "Firing",
    "ManualClock",
    "Scheduler",
    "SchedulerSettings",
    "TickReport",
    "add_followups",
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
    sla: SlaPolicy | None = None,
    escalation: EscalationPolicy | None = None,
    report_mail: ReportMailSettings | None = None,
) -> Scheduler:
    """The site's scheduler: SLA escalation and reminders always, notification intake and
    dispatch when a channel is set, the daily queue report by e-mail with ``[report_mail]``.

    Templates and the SLA and escalation policies are loaded and checked here: a broken
    one stops the server at start.
    """
    scheduler = Scheduler(store.engine, settings, clock=clock, holder=holder)
    add_followups(scheduler, store, clock=clock, sla=sla, escalation=escalation)
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
    if report_mail is not None:
        add_report_mail(scheduler, store.engine, report_mail, smtp, clock=clock)
    return scheduler


def add_followups(
    scheduler: Scheduler,
    store: CentralStore,
    *,
    clock: Clock = system_clock,
    sla: SlaPolicy | None = None,
    escalation: EscalationPolicy | None = None,
) -> tuple[EscalationService, ReminderService]:
    """Register SLA escalation and reminders: their timer handlers and feed-following jobs."""
    ops = TimerOps(schedule, cancel)
    escalations = EscalationService(
        store, sla or load_policy(), escalation, timers=ops, clock=clock
    )
    scheduler.on_timer(escalation_mod.TIMER_KIND, escalations.handle)
    scheduler.add_job("escalation.reconcile", escalations.reconcile)
    # Automatic reminders from resources/reminders.toml (loaded here: a broken file stops
    # the server at start), before the reminders job so their timers are set in the same tick.
    policy = PolicyReminders(store, clock=clock)
    scheduler.add_job("reminders.policy", policy.reconcile)
    reminders = ReminderService(store, timers=ops, clock=clock)
    scheduler.on_timer(reminders_mod.TIMER_KIND, reminders.handle)
    scheduler.add_job("reminders.reconcile", reminders.reconcile)
    scheduler.escalations = escalations
    scheduler.reminders = reminders
    return escalations, reminders
