"""``[scheduler]``, ``[smtp]`` and ``[sms]`` in the server's settings file.

::

    [scheduler]
    site = "london"          # one scheduler (one leader) per site; default "default"
    tick_seconds = 2         # how often due work is looked for
    lease_seconds = 30       # a silent leader is replaced after this long

    [smtp]                   # customer e-mail; leave out to send none
    host = "relay.bank.example"
    port = 587
    security = "starttls"    # starttls (default), tls (implicit, port 465) or none (loopback only)
    from_address = "service@bank.example"
    username = "agentdesk"               # optional
    password_file = "/etc/agentdesk/smtp.secret"   # 0600
    cafile = "/etc/agentdesk/relay-ca.pem"         # optional, else the system's CAs

    [sms]                    # customer SMS; leave out to send none
    gateway = "http"         # or "simulator" (kept in memory: demos and tests)
    url = "https://sms-gw.bank.example/v1/messages"
    token_file = "/etc/agentdesk/sms.token"        # 0600
    sender = "MyBank"

Customer notifications run when ``[smtp]`` or ``[sms]`` is given.
"""

from __future__ import annotations

import stat
from dataclasses import fields
from pathlib import Path
from typing import Any

from agentdesk.config import ConfigError
from agentdesk.server.scheduler.runner import SchedulerSettings
from agentdesk.services.notifications.channels import SmsSettings, SmtpSettings


def _known(table: str, raw: dict[str, Any], cls: type) -> None:
    unknown = set(raw) - {f.name for f in fields(cls)}
    if unknown:
        raise ConfigError(f"unknown [{table}] settings: {', '.join(sorted(unknown))}")


def _secret_path(table: str, key: str, value: Any) -> Path:
    path = Path(str(value)).expanduser()
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigError(f"[{table}] {key}: cannot read {path}: {exc}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"[{table}] {key}: {path} is readable by other users; chmod 600 it")
    return path


def parse_scheduler(raw: Any) -> SchedulerSettings:
    if raw is None:
        return SchedulerSettings()
    if not isinstance(raw, dict):
        raise ConfigError("[scheduler] must be a table")
    _known("scheduler", raw, SchedulerSettings)
    try:
        settings = SchedulerSettings(**raw)
        settings.check()
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from exc
    return settings


def parse_smtp(raw: Any) -> SmtpSettings | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError("[smtp] must be a table")
    _known("smtp", raw, SmtpSettings)
    values = dict(raw)
    if values.get("security", "starttls") not in ("starttls", "tls", "none"):
        raise ConfigError("[smtp] security must be starttls, tls or none")
    if values.get("password_file"):
        values["password_file"] = _secret_path("smtp", "password_file", values["password_file"])
    if values.get("cafile"):
        values["cafile"] = Path(str(values["cafile"])).expanduser()
    if values.get("username") and not values.get("password_file"):
        raise ConfigError("[smtp] username needs password_file")
    settings = SmtpSettings(**values)
    if settings.security == "none" and settings.host not in ("127.0.0.1", "::1", "localhost"):
        raise ConfigError(
            f"[smtp] refusing to send customer e-mail in clear to {settings.host}: "
            "use security = 'starttls' or 'tls'"
        )
    if "@" not in settings.from_address:
        raise ConfigError("[smtp] from_address must be an e-mail address")
    return settings


def parse_sms(raw: Any) -> SmsSettings | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError("[sms] must be a table")
    _known("sms", raw, SmsSettings)
    values = dict(raw)
    gateway = values.get("gateway", "simulator")
    if gateway not in ("simulator", "http"):
        raise ConfigError("[sms] gateway must be 'http' or 'simulator'")
    if gateway == "http":
        url = str(values.get("url") or "")
        if not url.startswith("https://") and not url.startswith(
            ("http://127.0.0.1", "http://localhost")
        ):
            raise ConfigError("[sms] url must be an https:// address")
    if values.get("token_file"):
        values["token_file"] = _secret_path("sms", "token_file", values["token_file"])
    return SmsSettings(**values)
