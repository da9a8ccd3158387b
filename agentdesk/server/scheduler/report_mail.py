"""Wires the daily e-mailed queue report into the site's scheduler (``[report_mail]``).

The report is the one ``/supervisor/reports`` serves: the server's stored queue
records of every site, under the board's definitions (``supervisor.toml``), for
one local day; ``services/supervisor/report_mail.py`` decides when, builds the
mail and remembers what was sent. The mail goes through the ``[smtp]`` relay
customer notifications use.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from agentdesk.server.cti.queue_store import report_from_db, stored_sites
from agentdesk.server.scheduler.clock import Clock
from agentdesk.server.scheduler.runner import Scheduler
from agentdesk.services.notifications.channels import SmtpMailer, SmtpSettings
from agentdesk.services.supervisor.queue_metrics import MetricsConfig
from agentdesk.services.supervisor.report_mail import DailyReportMail, ReportMailSettings
from agentdesk.services.supervisor.reports import GroupBy, Interval, Report
from agentdesk.services.supervisor.settings import load_settings

JOB = "reports.mail"


def add_report_mail(
    scheduler: Scheduler,
    engine: Engine,
    settings: ReportMailSettings,
    smtp: SmtpSettings | None,
    *,
    clock: Clock,
    metrics: MetricsConfig | None = None,
) -> DailyReportMail:
    """Register the job; ``[report_mail]`` without ``[smtp]`` is a set-up error."""
    if smtp is None:
        raise ValueError("[report_mail] needs [smtp]: the report is sent through that relay")
    config = metrics or load_settings().metrics

    def build(day: dt.date, interval: Interval, by: GroupBy) -> Report:
        start = dt.datetime.combine(day, dt.time.min, tzinfo=config.tz)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=config.tz)
        sites = stored_sites(engine)
        return report_from_db(engine, config, sites, start, end, interval=interval, group_by=by)

    job = DailyReportMail(
        engine, settings, build=build, send=SmtpMailer(smtp).send,
        sender=smtp.from_address, tz=config.tz, clock=clock,
        sl_target=config.service_level.target,
    )  # fmt: skip
    scheduler.add_job(JOB, job.run)
    return job
