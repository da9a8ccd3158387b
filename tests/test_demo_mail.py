"""The demo's mail gateway: a real SMTP sink on loopback that the demo server's notifications
are sent through (SmtpMailer, as on a site), counted, kept in a Maildir and logged without
personal data."""

from __future__ import annotations

import logging
import mailbox
from email.message import EmailMessage
from pathlib import Path

import pytest

from agentdesk.commands.demo_mail import FROM_ADDRESS, start_mail_sink
from agentdesk.services.notifications.channels import SmtpMailer


def _message(to: str, subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = FROM_ADDRESS
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Dear Ada, your order is on its way.")
    return message


def test_the_demo_sends_customer_mail_to_its_local_sink(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sink, settings, line = start_mail_sink(tmp_path)
    assert sink is not None and settings is not None
    try:
        assert settings.host == "127.0.0.1" and settings.security == "none"
        assert line == (
            f"mail sink on 127.0.0.1:{settings.port}; customer e-mail kept in {tmp_path}/sent-mail"
        )
        mailer = SmtpMailer(settings)
        with caplog.at_level(logging.INFO, logger="agentdesk.commands.demo_mail"):
            mailer.send(_message("ada.lovelace@example.org", "Your order O-1001: Home insurance"))
            mailer.send(_message("ada.lovelace@example.org", "Your order O-1001 is complete"))
        assert sink.sent == 2
    finally:
        sink.stop()
    kept = sorted(str(m["Subject"]) for m in mailbox.Maildir(tmp_path / "sent-mail"))
    assert kept == ["Your order O-1001 is complete", "Your order O-1001: Home insurance"]
    lines = [r.getMessage() for r in caplog.records if r.name == "agentdesk.commands.demo_mail"]
    assert lines[-1].startswith("demo mail sink: message 2 accepted (")
    assert not any("ada" in text.lower() or "order" in text.lower() for text in lines)
