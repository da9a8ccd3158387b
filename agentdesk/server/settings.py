"""The server's own settings: where to listen, its certificate, sign-in policy, directory.

Read from the same TOML file as the rest (``--config``) in these tables::

    [listen]
    host = "0.0.0.0"            # plain HTTP is refused unless this is a loopback address
    port = 8443
    certfile = "/etc/agentdesk/server.pem"   # the site's certificate chain (PEM)
    keyfile = "/etc/agentdesk/server.key"    # its private key (0600)
    field_key_file = "/etc/agentdesk/field.key"  # else $AGENTDESK_FIELD_KEY_FILE or the keyring
    full_replica_roles = ["admin"]          # roles whose desktops hold every customer
    trusted_proxies = ["10.0.0.5"]          # load balancers whose X-Forwarded-For is believed

    [auth]   # sign-in policy, see agentdesk.services.platform.signin
    [ldap]   # optional directory sign-in, see agentdesk.services.platform.ldap_directory
    [[pbx]]  # zero or more PBXs for the CTI gateway, see agentdesk.server.cti.config
    [scheduler] [smtp] [sms]  # timed work and customer notifications,
                              # see agentdesk.server.scheduler.config
    [report_mail]  # the daily queue report e-mailed as PDF and CSV through [smtp]
                   # (see agentdesk.services.supervisor.report_mail)
    [bus]    # several instances: NATS url, this instance's name, lease_ttl (see server/bus.py)
    [corebank]  # the core-banking system behind the 360 view: url, timeout, breaker
                # (see docs/corebank.md); absent: products as the CRM stored them

The database is ``[central]`` as for every other command; the server is the
only process that opens it. ``[central] standby_url`` names a PostgreSQL hot
standby the reports read from (see ``agentdesk.store.standby``).
"""

from __future__ import annotations

import ipaddress
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentdesk.config import ConfigError, default_config_path
from agentdesk.server.bus import BusSettings, parse_bus
from agentdesk.server.cti.config import PbxConfig, parse_pbx_list
from agentdesk.server.scheduler.config import parse_scheduler, parse_sms, parse_smtp
from agentdesk.server.scheduler.runner import SchedulerSettings
from agentdesk.services.corebank.client import CoreBankSettings, parse_corebank
from agentdesk.services.notifications.channels import SmsSettings, SmtpSettings
from agentdesk.services.supervisor.report_mail import (
    ReportMailError,
    ReportMailSettings,
    parse_report_mail,
)


@dataclass(frozen=True)
class ListenSettings:
    """Where the server listens and with which certificate."""

    host: str = "127.0.0.1"
    port: int = 8443
    certfile: Path | None = None
    keyfile: Path | None = None
    field_key_file: Path | None = None
    full_replica_roles: tuple[str, ...] = ()
    # Addresses (or networks) of the load balancers in front (deploy/haproxy.cfg): from
    # these, X-Forwarded-For names the desktop, for sign-in audit entries. From anyone
    # else it is ignored, so a desktop cannot put another address in the audit log.
    trusted_proxies: tuple[str, ...] = ()

    @property
    def tls(self) -> bool:
        return self.certfile is not None

    def check(self) -> None:
        """Refuse settings that would expose customer data: plain HTTP off the loopback."""
        if (self.certfile is None) != (self.keyfile is None):
            raise ConfigError("[listen] needs both certfile and keyfile, or neither")
        if not self.tls and not is_loopback(self.host):
            raise ConfigError(
                f"refusing plain HTTP on {self.host}: give [listen] certfile and keyfile "
                "(the site's certificate), or listen on 127.0.0.1"
            )
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy)  # as uvicorn reads it: 10.0.0.0/24, not 10.0.0.1/24
            except ValueError:
                raise ConfigError(
                    f"[listen] trusted_proxies: {proxy!r} is not an address or a network"
                ) from None
        for path in (self.certfile, self.keyfile, self.field_key_file):
            if path is not None and not path.is_file():
                raise ConfigError(f"{path} does not exist or is not a file")


@dataclass(frozen=True)
class ServerSettings:
    """Everything ``agentdesk server`` reads beyond the common settings."""

    listen: ListenSettings = field(default_factory=ListenSettings)
    auth: dict[str, Any] = field(default_factory=dict)
    ldap: dict[str, Any] = field(default_factory=dict)
    # The PBXs whose AMI the CTI gateway logs in to (none: no CTI).
    pbx: tuple[PbxConfig, ...] = ()
    # Timed work (one leader per site) and customer notifications (none without a channel).
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    smtp: SmtpSettings | None = None
    sms: SmsSettings | None = None
    # The daily queue report by e-mail, through [smtp] (none: not sent).
    report_mail: ReportMailSettings | None = None
    corebank: CoreBankSettings | None = None
    # The bus between several server instances (none: one instance, everything in process).
    bus: BusSettings = field(default_factory=BusSettings)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _report_mail(raw: Any) -> ReportMailSettings | None:
    try:
        return parse_report_mail(raw)
    except ReportMailError as exc:
        raise ConfigError(str(exc)) from exc


def load_server_settings(path: Path | None = None) -> ServerSettings:
    file_path = path or default_config_path()
    if not file_path.exists():
        return ServerSettings()
    try:
        data = tomllib.loads(file_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {file_path}: {exc}") from exc
    raw = dict(data.get("listen", {}))
    known = set(ListenSettings.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"unknown [listen] settings: {', '.join(sorted(unknown))}")
    for key in ("certfile", "keyfile", "field_key_file"):
        if raw.get(key):
            raw[key] = Path(str(raw[key])).expanduser()
    for key in ("full_replica_roles", "trusted_proxies"):
        if key in raw:
            raw[key] = tuple(str(v) for v in raw[key])
    return ServerSettings(
        ListenSettings(**raw),
        dict(data.get("auth", {})),
        dict(data.get("ldap", {})),
        parse_pbx_list(data.get("pbx")),
        scheduler=parse_scheduler(data.get("scheduler")),
        smtp=parse_smtp(data.get("smtp")),
        sms=parse_sms(data.get("sms")),
        report_mail=_report_mail(data.get("report_mail")),
        corebank=parse_corebank(data.get("corebank")),
        bus=parse_bus(data.get("bus")),
    )
