"""The demo's mail gateway: a local SMTP sink on loopback for the customers' e-mail.

``agentdesk demo`` has no relay to send through, so it runs this one (aiosmtpd, on its own
thread) and gives the demo server ``[smtp]`` pointing at it: the notifications of orders
and tickets are really sent over SMTP, as on a site. Each accepted message is counted,
logged in one line with no personal data (number, size, recipients counted, not named),
and kept in a Maildir in the demo's directory (``sent-mail/``), to be read with any mail
client or ``python -m mailbox``. aiosmtpd comes with the test extras that ``make demo``
installs; without it the demo runs with no customer e-mail and says so.
"""

from __future__ import annotations

import logging
import mailbox
import socket
import threading
from pathlib import Path
from typing import Any

from agentdesk.services.notifications.channels import SmtpSettings

log = logging.getLogger(__name__)
FROM_ADDRESS = "customer-service@demo-bank.example"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MailSink:
    """Accepts every message on 127.0.0.1 (aiosmtpd handler), counts and keeps it."""

    def __init__(self, maildir: Path | None) -> None:
        self.maildir = maildir
        self._count = 0
        self._lock = threading.Lock()
        self._controller: Any = None
        self._box = None if maildir is None else mailbox.Maildir(maildir, create=True)

    @property
    def sent(self) -> int:
        """Messages accepted so far."""
        with self._lock:
            return self._count

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = bytes(envelope.content)
        with self._lock:
            self._count += 1
            number = self._count
            if self._box is not None:
                self._box.add(content)
        log.info(
            "demo mail sink: message %d accepted (%d bytes, %d recipient(s))",
            number,
            len(content),
            len(envelope.rcpt_tos),
        )
        return "250 OK"

    def start(self) -> SmtpSettings:
        """Listen on a free loopback port; the ``[smtp]`` settings that send here."""
        from aiosmtpd.controller import Controller

        # aiosmtpd logs every connection (peer addresses) at INFO on "mail.log": our one
        # line per message is enough, and it names nobody.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        port = _free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=port, ready_timeout=10)
        self._controller.start()
        return SmtpSettings(
            host="127.0.0.1",
            port=port,
            security="none",  # loopback only: the message never leaves this machine
            from_address=FROM_ADDRESS,
            timeout=5.0,
        )

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def start_mail_sink(data_dir: Path) -> tuple[MailSink | None, SmtpSettings | None, str]:
    """(the sink, the ``[smtp]`` settings for the demo server, one line for the console)."""
    try:
        import aiosmtpd  # noqa: F401 - present with the test extras
    except ImportError:
        return None, None, "no mail sink (aiosmtpd is not installed): customer e-mail is off"
    sink = MailSink(data_dir / "sent-mail")
    settings = sink.start()
    where = sink.maildir
    return (
        sink,
        settings,
        f"mail sink on 127.0.0.1:{settings.port}; customer e-mail kept in {where}",
    )
