"""The day's queue report e-mailed as PDF and CSV on a schedule (issue 15 build item 3).

``[report_mail]`` in the server's settings names who gets it and when::

    [report_mail]
    to = ["floor-managers@bank.example"]
    send_at = "06:30"          # local time, in the board's time zone
    day = "yesterday"          # or "today" (a report sent at the end of the day)
    interval = "60"            # 15, 30, 60 or day
    by = "queue"               # queue, agent or total

The site's scheduler (leader only) runs :meth:`DailyReportMail.run` every tick:
once the send time of a day has passed and that day's report was not sent, it
builds the report from the server's queue records (the wallboard's figures and
definitions, as ``/supervisor/reports`` does), attaches it as CSV
(``reports.write_csv``) and as a PDF (``plain_pdf.report_pdf``, drawn without
Qt, which the server does not have: day totals on page one, a chart per queue,
then the tables), sends it through the notifications' SMTP relay (``SmtpMailer``) and then
records the day as sent in ``sync_state`` (key ``report_mail/last_day``), so a
restart or a new leader neither skips nor repeats a day. A send that fails is
tried again with back-off (30 s doubling to an hour). Delivery is at least once:
a crash between the relay's acceptance and the record sends that day again.
The first report goes out at the first send time after the scheduler first ran
with ``[report_mail]`` (nothing older is sent then); a server that was down over
several send times sends only the latest day when it is back.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Literal

from sqlalchemy import Engine

from agentdesk.logsafe import describe_error
from agentdesk.models import SyncState
from agentdesk.services.supervisor.plain_pdf import report_pdf
from agentdesk.services.supervisor.reports import GroupBy, Interval, Report, format_text, write_csv
from agentdesk.store.engine import read_session, write_session

log = logging.getLogger(__name__)

STATE_KEY = "report_mail/last_day"
FIRST_RETRY = dt.timedelta(seconds=30)
MAX_RETRY = dt.timedelta(hours=1)
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


class ReportMailError(ValueError):
    """``[report_mail]`` is not usable; the message says which setting and why."""


@dataclass(frozen=True)
class ReportMailSettings:
    """Who gets the daily report, when, and how it is cut."""

    to: tuple[str, ...]
    send_at: dt.time = dt.time(6, 30)
    day: Literal["yesterday", "today"] = "yesterday"
    interval: Interval = Interval.MIN60
    by: GroupBy = GroupBy.QUEUE


def parse_report_mail(raw: Any) -> ReportMailSettings | None:
    """``[report_mail]`` from the settings file (None when absent)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ReportMailError("[report_mail] must be a table")
    unknown = set(raw) - {"to", "send_at", "day", "interval", "by"}
    if unknown:
        raise ReportMailError(f"unknown [report_mail] settings: {', '.join(sorted(unknown))}")
    to = raw.get("to")
    if isinstance(to, str):
        to = [to]
    if not to or not all(isinstance(a, str) and _ADDRESS.match(a) for a in to):
        raise ReportMailError("[report_mail] to must be one or more e-mail addresses")
    try:
        send_at = dt.time.fromisoformat(str(raw.get("send_at", "06:30")))
        interval = Interval(str(raw.get("interval", "60")))
        by = GroupBy(str(raw.get("by", "queue")))
    except ValueError as exc:
        raise ReportMailError(f"[report_mail] {exc}") from exc
    day = raw.get("day", "yesterday")
    if day not in ("yesterday", "today"):
        raise ReportMailError("[report_mail] day must be 'yesterday' or 'today'")
    return ReportMailSettings(tuple(to), send_at, day, interval, by)


def due_day(now: dt.datetime, settings: ReportMailSettings, tz: dt.tzinfo) -> dt.date:
    """The latest report day whose send time is at or before ``now``."""
    local = now.astimezone(tz)
    sent_on = local.date()
    if local.time() < settings.send_at:  # today's send time is still ahead
        sent_on -= dt.timedelta(days=1)
    return sent_on - dt.timedelta(days=1) if settings.day == "yesterday" else sent_on


def report_message(
    report: Report,
    day: dt.date,
    settings: ReportMailSettings,
    sender: str,
    sl_target: float | None = None,
) -> EmailMessage:
    """The e-mail: the KPI text in the body, the report as CSV and PDF attachments (the
    charts dot ``sl_target`` across their service-level axis when given)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(settings.to)
    message["Subject"] = f"Queue report {day:%a %d %b %Y}"
    text = format_text(report)
    message.set_content(
        f"The queue report for {day:%A %d %B %Y} ({report.definition}).\n"
        "The same figures as the wallboard: computed on the server from its queue records.\n\n"
        + text
    )
    csv_out = io.StringIO()
    write_csv(report, csv_out)
    name = f"queue-report-{day.isoformat()}"
    message.add_attachment(
        csv_out.getvalue().encode("utf-8"), maintype="text", subtype="csv", filename=f"{name}.csv"
    )
    pdf = report_pdf(report, f"{report.title} - {day:%a %d %b %Y}", sl_target)
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"{name}.pdf")
    return message


def last_sent(engine: Engine) -> dt.date | None:
    with read_session(engine) as session:
        state = session.get(SyncState, STATE_KEY)
        return dt.date.fromisoformat(state.value) if state is not None else None


def record_sent(engine: Engine, day: dt.date) -> None:
    """Remember ``day`` as sent (never moving back)."""
    with write_session(engine) as session:
        state = session.get(SyncState, STATE_KEY, with_for_update=True)
        if state is None:
            session.add(SyncState(key=STATE_KEY, value=day.isoformat()))
        elif dt.date.fromisoformat(state.value) < day:
            state.value = day.isoformat()


class DailyReportMail:
    """The scheduler job: send the day's report once its time has come (module docstring)."""

    def __init__(
        self,
        engine: Engine,
        settings: ReportMailSettings,
        *,
        build: Callable[[dt.date, Interval, GroupBy], Report],
        send: Callable[[EmailMessage], None],
        sender: str,
        tz: dt.tzinfo,
        clock: Callable[[], dt.datetime],
        sl_target: float | None = None,
    ) -> None:
        self.engine, self.settings = engine, settings
        self._sl_target = sl_target
        self._build, self._send, self._sender = build, send, sender
        self._tz, self._clock = tz, clock
        self._failures = 0
        self._retry_at: dt.datetime | None = None
        self.sent: list[dt.date] = []  # days this process sent (for logs and tests)

    def run(self) -> int:
        """Send the due day's report if it was not sent yet; 1 when a mail went out."""
        now = self._clock()
        if self._retry_at is not None and now < self._retry_at:
            return 0
        day = due_day(now, self.settings, self._tz)
        done = last_sent(self.engine)
        if done is None:  # the first run: start from the next send time, send nothing old
            record_sent(self.engine, day)
            return 0
        if done >= day:
            return 0
        try:
            report = self._build(day, self.settings.interval, self.settings.by)
            message = report_message(report, day, self.settings, self._sender, self._sl_target)
            self._send(message)
        except Exception as exc:
            self._failures += 1
            delay = min(FIRST_RETRY * 2 ** (self._failures - 1), MAX_RETRY)
            self._retry_at = now + delay
            log.warning("report mail for %s not sent (%s); again in %s", day,
                        describe_error(exc), delay)  # fmt: skip
            return 0
        self._failures, self._retry_at = 0, None
        record_sent(self.engine, day)
        self.sent.append(day)
        log.info("report mail for %s sent to %d recipient(s)", day, len(self.settings.to))
        return 1
