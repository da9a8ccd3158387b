"""A real SMTP server on loopback (aiosmtpd), customers and tickets on a real central store."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import ssl
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from sqlalchemy import Engine

from agentdesk.server.scheduler import ManualClock
from agentdesk.services.notifications import (
    NotificationService,
    SmsSimulator,
    SmtpMailer,
    SmtpSettings,
    load_catalog,
)
from agentdesk.store.sync.central import CentralStore
from tests.sync.factories import person, seed_reference
from tests.ui_workspace.builders import FIELD_KEYRING

T0 = dt.datetime(2026, 12, 11, 9, 0, tzinfo=dt.UTC)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Mailbox:
    """What the SMTP server accepted; addresses in ``refuse`` bounce at RCPT (550)."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address.lower() in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        message["X-Was-TLS"] = "yes" if session.ssl is not None else "no"
        with self.lock:
            self.messages.append(message)
        return "250 OK"


@dataclass
class Relay:
    host: str
    port: int
    mailbox: Mailbox
    controller: Controller | None
    cafile: Path | None = None

    def settings(self, **extra: Any) -> SmtpSettings:
        values: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "security": "starttls" if self.cafile else "none",
            "from_address": "service@bank.example",
            "cafile": self.cafile,
            "timeout": 5.0,
        }
        values.update(extra)
        return SmtpSettings(**values)

    def start(self, tls: ssl.SSLContext | None = None) -> None:
        kwargs: dict[str, Any] = {}
        if tls is not None:
            kwargs.update(tls_context=tls, require_starttls=True)
        self.controller = Controller(
            self.mailbox, hostname=self.host, port=self.port, ready_timeout=10, **kwargs
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def relay() -> Iterator[Relay]:
    """A plain SMTP server on loopback."""
    r = Relay("127.0.0.1", free_port(), Mailbox(), None)
    r.start()
    yield r
    r.stop()


@pytest.fixture
def tls_relay(tmp_path: Path) -> Iterator[Relay]:
    """An SMTP server on loopback that requires STARTTLS, with a certificate from a test CA."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cafile = tmp_path / "relay-ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    r = Relay("127.0.0.1", free_port(), Mailbox(), None, cafile)
    r.start(context)
    yield r
    r.stop()


@dataclass
class World:
    engine: Engine
    store: CentralStore
    clock: ManualClock
    sms: SmsSimulator

    def service(self, smtp: SmtpSettings | None, **extra: Any) -> NotificationService:
        svc = NotificationService(
            self.store,
            load_catalog(),
            mailer=None if smtp is None else SmtpMailer(smtp),
            sms=self.sms,
            from_address="service@bank.example",
            clock=self.clock,
            **extra,
        )
        svc.start_cursor()
        return svc

    def customer(self, **extra: Any) -> uuid.UUID:
        args = person(**extra)
        self.store.write("customer.create", args, "alice")
        return uuid.UUID(str(args["id"]))

    def ticket(self, customer_id: uuid.UUID, **extra: Any) -> uuid.UUID:
        from tests.sync.factories import ticket

        args = ticket(customer_id=customer_id, **extra)
        self.store.write("ticket.create", args, "alice")
        return uuid.UUID(str(args["id"]))

    def status(self, ticket_id: uuid.UUID, status: str) -> None:
        self.store.write(
            "ticket.update", {"id": str(ticket_id), "changes": {"status": status}}, "alice"
        )


@pytest.fixture
def world(central: Engine) -> World:
    seed_reference(central)
    return World(central, CentralStore(central, FIELD_KEYRING), ManualClock(T0), SmsSimulator())
