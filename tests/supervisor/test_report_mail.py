"""The daily queue report e-mailed as PDF and CSV by the site's scheduler, through a real SMTP
server (aiosmtpd) on loopback, on a hand-moved clock.

The scheduler is the one the server builds (``build_scheduler`` with ``[report_mail]`` and
``[smtp]``); the report is built from the server's stored queue records, so its figures are
the wallboard's. It goes out once per day at the set time, survives a restart without
sending again, and a relay that is down is tried again until the mail goes out.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from email.message import EmailMessage
from types import SimpleNamespace

import pytest
from sqlalchemy import Engine

from agentdesk.server.scheduler import ManualClock, SchedulerSettings, build_scheduler
from agentdesk.server.settings import ConfigError, load_server_settings
from agentdesk.services.supervisor.plain_pdf import text_pdf
from agentdesk.services.supervisor.report_mail import (
    ReportMailSettings,
    due_day,
    last_sent,
    parse_report_mail,
)
from agentdesk.services.supervisor.settings import load_settings
from agentdesk.store.sync.central import CentralStore
from tests.server.test_abandoned_api import DAY, store
from tests.services.notifications.conftest import Relay, relay  # noqa: F401 - the fixture

SETTINGS = ReportMailSettings(to=("floor@bank.example", "lead@bank.example"))


def _attachments(message: EmailMessage) -> dict[str, bytes]:
    return {
        part.get_filename() or "": part.get_payload(decode=True)  # type: ignore[misc]
        for part in message.iter_attachments()
    }


def check_pdf(data: bytes) -> int:
    """A well-formed PDF: every object where the xref says, startxref at the xref; pages."""
    assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF")
    start = int(data.rsplit(b"startxref", 1)[1].split()[0])
    assert data[start:].startswith(b"xref")
    offsets = re.findall(rb"(\d{10}) 00000 n ", data[start:])
    for number, offset in enumerate(offsets, 1):
        assert data[int(offset) :].startswith(b"%d 0 obj" % number)
    return len(re.findall(rb"/Type /Page ", data))


def _scheduler(central: Engine, relay: Relay, clock: ManualClock, holder: str):  # type: ignore[no-untyped-def]  # noqa: F811
    return build_scheduler(
        CentralStore(central),
        SchedulerSettings(site="mail", tick_seconds=1, lease_seconds=30),
        smtp=relay.settings(),
        clock=clock,
        holder=holder,
        report_mail=SETTINGS,
    )


@pytest.mark.parametrize("central", ["sqlite"], indirect=True)
def test_the_days_report_is_mailed_once_at_its_time_as_pdf_and_csv(
    central: Engine,
    relay: Relay,  # noqa: F811
) -> None:
    store(SimpleNamespace(engine=central))  # type: ignore[arg-type]  # the day's queue records
    tz = load_settings().metrics.tz
    next_day = DAY.date() + dt.timedelta(days=1)
    clock = ManualClock(dt.datetime.combine(next_day, dt.time(6, 29), tzinfo=tz))
    scheduler = _scheduler(central, relay, clock, "one")
    assert scheduler.tick().jobs["reports.mail"] == 0  # not yet 06:30 (and nothing old)
    assert relay.mailbox.messages == []

    clock.set(dt.datetime.combine(next_day, dt.time(6, 31), tzinfo=tz))
    assert scheduler.tick().jobs["reports.mail"] == 1
    [mail] = relay.mailbox.messages
    assert mail["Subject"] == "Queue report Tue 01 Dec 2026"
    assert mail["X-Envelope-To"] == "floor@bank.example, lead@bank.example"
    assert "The same figures as the wallboard" in mail.get_body().get_content()  # type: ignore[union-attr]
    files = _attachments(mail)
    assert set(files) == {"queue-report-2026-12-01.csv", "queue-report-2026-12-01.pdf"}
    rows = list(csv.reader(io.StringIO(files["queue-report-2026-12-01.csv"].decode())))
    header, total = rows[0], rows[-1]
    assert total[0] == "grand total"
    assert int(total[header.index("Offered")]) == 5
    assert int(total[header.index("Abandoned")]) == 4
    pdf = files["queue-report-2026-12-01.pdf"]
    assert check_pdf(pdf) >= 1 and b"(Queue report" in pdf
    assert last_sent(central) == DAY.date()

    assert scheduler.tick().jobs["reports.mail"] == 0  # once a day
    scheduler.lease.release()
    again = _scheduler(central, relay, clock, "two")  # a restart, or another instance leads
    assert again.tick().jobs["reports.mail"] == 0
    assert len(relay.mailbox.messages) == 1


@pytest.mark.parametrize("central", ["sqlite"], indirect=True)
def test_a_relay_that_is_down_is_tried_again_until_the_mail_goes_out(
    central: Engine,
    relay: Relay,  # noqa: F811
) -> None:
    tz = load_settings().metrics.tz
    day = DAY.date()
    clock = ManualClock(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(6), tzinfo=tz))
    scheduler = _scheduler(central, relay, clock, "one")
    assert scheduler.tick().jobs["reports.mail"] == 0  # the first run sends nothing old
    assert last_sent(central) == day - dt.timedelta(days=1)
    relay.stop()
    clock.advance(dt.timedelta(hours=1))
    assert scheduler.tick().jobs["reports.mail"] == 0
    assert last_sent(central) == day - dt.timedelta(days=1)
    relay.start()
    clock.advance(dt.timedelta(seconds=10))
    assert scheduler.tick().jobs["reports.mail"] == 0  # backing off (30 s)
    clock.advance(dt.timedelta(seconds=25))
    assert scheduler.tick().jobs["reports.mail"] == 1
    [mail] = relay.mailbox.messages  # an empty day still gets its report
    assert mail["Subject"] == f"Queue report {day:%a %d %b %Y}"
    assert last_sent(central) == day


def test_due_day_and_settings() -> None:
    tz = dt.UTC
    at = dt.datetime(2026, 12, 2, 6, 29, tzinfo=tz)
    assert due_day(at, SETTINGS, tz) == dt.date(2026, 11, 30)
    assert due_day(at + dt.timedelta(minutes=1), SETTINGS, tz) == dt.date(2026, 12, 1)
    evening = ReportMailSettings(("a@b.example",), send_at=dt.time(23, 30), day="today")
    assert due_day(dt.datetime(2026, 12, 2, 23, 45, tzinfo=tz), evening, tz) == dt.date(2026, 12, 2)
    assert due_day(dt.datetime(2026, 12, 2, 12, 0, tzinfo=tz), evening, tz) == dt.date(2026, 12, 1)
    parsed = parse_report_mail({"to": "a@b.example", "send_at": "05:00", "interval": "30"})
    assert parsed is not None and parsed.to == ("a@b.example",) and parsed.send_at == dt.time(5)
    assert parse_report_mail(None) is None
    ok = {"to": ["a@b.example"]}
    for bad in ({"to": "nobody"}, ok | {"day": "monday"}, ok | {"send_at": "25:00"}, ok | {"x": 1}):
        with pytest.raises(ValueError):
            parse_report_mail(bad)


def test_the_server_settings_file_reads_report_mail(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "server.toml"  # type: ignore[operator]
    path.write_text('[report_mail]\nto = ["floor@bank.example"]\nsend_at = "06:00"\n')
    settings = load_server_settings(path)
    assert settings.report_mail is not None and settings.report_mail.send_at == dt.time(6)
    path.write_text('[report_mail]\nto = ["nobody"]\n')
    with pytest.raises(ConfigError, match="report_mail"):
        load_server_settings(path)


def test_a_long_report_pdf_pages_and_stays_well_formed() -> None:
    lines = [f"line {n:4d}  café (Zürich) \\ ☎" for n in range(200)]
    pdf = text_pdf("Queue report", lines)
    assert check_pdf(pdf) == 5  # 49 lines a page at 8 pt
    assert b"caf\xe9 \\(Z\xfcrich\\) \\\\ ?" in pdf  # WinAnsi, escaped, "?" outside it
