"""How a notification leaves the building: e-mail through an SMTP relay, SMS through a gateway.

Both raise :class:`DeliveryError` when a message did not go out, saying
whether trying again can help (``permanent=False``: the relay is down, a
4xx answer) or not (``permanent=True``: the address bounced at the relay, the
gateway refused the number). Error texts never hold the address or the
message (they end up in logs and in the supervisors' list).

SMS gateway interface (:class:`SmsGateway`): ``send(to, text, reference)``
hands one message to the gateway and returns the gateway's id for it.
``to`` is an E.164 number, ``text`` at most 480 characters (three
concatenated segments), ``reference`` the notification's id, which a gateway
that de-duplicates may use as its idempotency key. Two implementations:

* :class:`HttpSmsGateway`: a JSON ``POST`` to the site's gateway
  (``{"to", "text", "reference"}``, bearer token read from a file); a 2xx
  answer with ``{"id": ...}`` is accepted, 400/403/404/422 are permanent,
  everything else (429, 5xx, no answer) is retried.
* :class:`SmsSimulator`: keeps what it was given in memory, for the demo and
  tests; it can be told to fail the next sends, transiently or permanently.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Literal, Protocol

import httpx

from agentdesk.logsafe import describe_error

Security = Literal["starttls", "tls", "none"]


class DeliveryError(Exception):
    """A message was not accepted; ``permanent`` when sending it again cannot help."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class SmtpSettings:
    """``[smtp]``: the relay customer e-mail goes through."""

    host: str = "127.0.0.1"
    port: int = 25
    security: Security = "starttls"
    from_address: str = "customer-service@localhost"
    username: str | None = None
    password_file: Path | None = None
    cafile: Path | None = None  # the relay's CA when it is not in the system store
    timeout: float = 20.0
    local_hostname: str | None = None


class SmtpMailer:
    """Sends one message per connection through the configured relay (``smtplib``)."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._password = (
            settings.password_file.read_text(encoding="utf-8").strip()
            if settings.password_file is not None
            else None
        )

    def _tls_context(self) -> ssl.SSLContext:
        cafile = None if self.settings.cafile is None else str(self.settings.cafile)
        return ssl.create_default_context(cafile=cafile)

    def send(self, message: EmailMessage) -> None:
        s = self.settings
        try:
            smtp: smtplib.SMTP
            if s.security == "tls":
                smtp = smtplib.SMTP_SSL(
                    s.host,
                    s.port,
                    timeout=s.timeout,
                    local_hostname=s.local_hostname,
                    context=self._tls_context(),
                )
            else:
                smtp = smtplib.SMTP(
                    s.host, s.port, timeout=s.timeout, local_hostname=s.local_hostname
                )
            with smtp:
                smtp.ehlo()
                if s.security == "starttls":
                    # Refuse to go on in clear if the relay offers no STARTTLS (downgrade).
                    if not smtp.has_extn("starttls"):
                        raise DeliveryError(
                            f"the SMTP relay {s.host}:{s.port} does not offer STARTTLS",
                            permanent=False,
                        )
                    smtp.starttls(context=self._tls_context())
                    smtp.ehlo()
                if s.username:
                    smtp.login(s.username, self._password or "")
                smtp.send_message(message)
        except DeliveryError:
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _msg in exc.recipients.values()]
            permanent = all(500 <= code < 600 for code in codes)
            raise DeliveryError(
                f"the relay refused the recipient (SMTP {', '.join(map(str, codes))})",
                permanent=permanent,
            ) from exc
        except smtplib.SMTPDataError as exc:
            raise DeliveryError(
                f"the relay refused the message (SMTP {exc.smtp_code})",
                permanent=500 <= exc.smtp_code < 600,
            ) from exc
        except smtplib.SMTPResponseException as exc:
            # Sender refused, authentication failed, …: the site's set-up, not this customer.
            raise DeliveryError(
                f"SMTP relay {s.host}:{s.port} answered {exc.smtp_code}", permanent=False
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(
                f"SMTP relay {s.host}:{s.port} unreachable ({describe_error(exc)})",
                permanent=False,
            ) from exc


class SmsGateway(Protocol):
    """Hands one SMS to the operator's gateway; see the module's docstring."""

    def send(self, to: str, text: str, reference: str) -> str: ...


@dataclass(frozen=True)
class SmsSettings:
    """``[sms]``: which gateway SMS go through."""

    gateway: Literal["simulator", "http"] = "simulator"
    url: str | None = None
    token_file: Path | None = None
    sender: str | None = None  # the alphanumeric sender id, when the gateway takes one
    timeout: float = 10.0


@dataclass(frozen=True)
class SimulatedSms:
    to: str
    text: str
    reference: str
    gateway_id: str
    at: dt.datetime


@dataclass
class SmsSimulator:
    """An SMS gateway in memory: what was sent, and failures on request."""

    sent: list[SimulatedSms] = field(default_factory=list)
    _failures: list[bool] = field(default_factory=list)  # permanent? per coming send
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, count: int = 1, *, permanent: bool = False) -> None:
        with self._lock:
            self._failures.extend([permanent] * count)

    def send(self, to: str, text: str, reference: str) -> str:
        with self._lock:
            if self._failures:
                permanent = self._failures.pop(0)
                raise DeliveryError(
                    "simulated gateway refused the number"
                    if permanent
                    else "simulated gateway unavailable",
                    permanent=permanent,
                )
            gateway_id = f"sim-{len(self.sent) + 1}"
            self.sent.append(SimulatedSms(to, text, reference, gateway_id, dt.datetime.now(dt.UTC)))
            return gateway_id


class HttpSmsGateway:
    """The site's SMS gateway over HTTPS (see the module's docstring for the contract)."""

    PERMANENT = frozenset({400, 403, 404, 422})

    def __init__(self, settings: SmsSettings, client: httpx.Client | None = None) -> None:
        if not settings.url:
            raise ValueError("[sms] gateway = 'http' needs url")
        self.settings = settings
        token = (
            settings.token_file.read_text(encoding="utf-8").strip()
            if settings.token_file is not None
            else None
        )
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = client or httpx.Client(timeout=settings.timeout, headers=headers)

    def send(self, to: str, text: str, reference: str) -> str:
        body = {"to": to, "text": text, "reference": reference}
        if self.settings.sender:
            body["from"] = self.settings.sender
        assert self.settings.url is not None
        try:
            response = self._client.post(self.settings.url, json=body)
        except httpx.HTTPError as exc:
            raise DeliveryError(
                f"SMS gateway unreachable ({type(exc).__name__})", permanent=False
            ) from exc
        if response.is_success:
            try:
                return str(response.json()["id"])
            except (ValueError, KeyError, TypeError):
                return ""
        raise DeliveryError(
            f"SMS gateway answered {response.status_code}",
            permanent=response.status_code in self.PERMANENT,
        )

    def close(self) -> None:
        self._client.close()


def make_sms_gateway(settings: SmsSettings) -> SmsGateway:
    if settings.gateway == "http":
        return HttpSmsGateway(settings)
    return SmsSimulator()
