"""``[[pbx]]`` in the server's settings file: which PBXs the gateway logs in to, and how.

::

    [[pbx]]
    site = "london"                      # a short name, shown in /ready and the logs
    host = "10.0.0.5"
    port = 5038
    username = "agentdesk-gw"            # the manager.conf user (docs/ami-user.md)
    secret_file = "/etc/agentdesk/ami-london.secret"   # 0600; or:
    # secret_keyring = "ami-london"      # an entry in the OS keyring (agentdesk.vault)
    auth = "md5"                         # md5 (challenge) or plain
    interfaces = ["PJSIP/1*"]            # optional: agents on this PBX (fnmatch patterns)
    transfer_context = "transfers"       # where transfers enter the dialplan
    dial_context = "from-internal"       # where click-to-dial calls enter it
    queue_transfers = { sales = "2100" } # optional: the transfer code of each queue

Several ``[[pbx]]`` tables may be given (one per site); none is fine (the
server then runs without CTI and says so in ``/ready``). The secret is read
when the gateway starts, never kept in this object.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

from agentdesk import vault
from agentdesk.config import ConfigError
from agentdesk.services.desk.pbx_actions import DialPlan

_SITE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
_CONTEXT = re.compile(r"^[A-Za-z0-9_.-]{1,79}$")


@dataclass(frozen=True)
class PbxConfig:
    """One PBX the gateway keeps an AMI link to."""

    site: str
    host: str
    port: int = 5038
    username: str = "agentdesk"
    secret_file: Path | None = None
    secret_keyring: str | None = None
    auth: Literal["md5", "plain"] = "md5"
    interfaces: tuple[str, ...] = ()
    transfer_context: str = "transfers"
    dial_context: str = "from-internal"
    # (queue, code): the extension in ``transfer_context`` that puts a caller in that queue,
    # offered by the agents' transfer directory (``server/api/cti_directory.py``).
    queue_transfers: tuple[tuple[str, str], ...] = ()

    @property
    def dial_plan(self) -> DialPlan:
        return DialPlan(transfer_context=self.transfer_context, dial_context=self.dial_context)

    def read_secret(self) -> str:
        """The AMI secret, from the 0600 file or the keyring; :class:`ConfigError` otherwise."""
        where = f"[[pbx]] site {self.site!r}"
        if self.secret_file is not None:
            try:
                mode = self.secret_file.stat().st_mode
                if mode & (stat.S_IRWXG | stat.S_IRWXO):
                    raise ConfigError(
                        f"{self.secret_file} is readable by other users; chmod 600 it ({where})"
                    )
                secret = self.secret_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"cannot read the AMI secret_file of {where}: {exc}") from exc
            if not secret:
                raise ConfigError(f"{self.secret_file} is empty ({where})")
            return secret
        assert self.secret_keyring is not None  # parse_pbx_list requires one of the two
        try:
            found = vault.get_secret(self.secret_keyring)
        except vault.KeyringUnavailable as exc:
            raise ConfigError(f"no keyring for the AMI secret of {where}: {exc}") from exc
        if not found:
            raise ConfigError(f"no keyring entry {self.secret_keyring!r} ({where})")
        return found


_KNOWN = {f.name for f in fields(PbxConfig)}


def parse_pbx_list(raw: object) -> tuple[PbxConfig, ...]:
    """The ``[[pbx]]`` array of tables as :class:`PbxConfig`; clear errors for bad entries."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError("pbx must be an array of tables ([[pbx]]), one per PBX")
    found: list[PbxConfig] = []
    for index, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict):
            raise ConfigError(f"[[pbx]] entry {index} is not a table")
        found.append(pbx_from_mapping(entry, f"[[pbx]] entry {index}"))
    sites = [p.site for p in found]
    duplicates = sorted({s for s in sites if sites.count(s) > 1})
    if duplicates:
        raise ConfigError(f"[[pbx]] site names must be unique: {', '.join(duplicates)}")
    return tuple(found)


def pbx_from_mapping(entry: dict[str, Any], where: str) -> PbxConfig:
    unknown = set(entry) - _KNOWN
    if unknown:
        raise ConfigError(f"{where}: unknown settings {', '.join(sorted(unknown))}")
    site = entry.get("site")
    if not isinstance(site, str) or not _SITE.match(site):
        raise ConfigError(f"{where}: site must be a short name (letters, digits, . _ -)")
    where = f"[[pbx]] site {site!r}"
    host = entry.get("host")
    if not isinstance(host, str) or not host.strip() or any(c.isspace() for c in host):
        raise ConfigError(f"{where}: host must be a host name or address")
    port = entry.get("port", 5038)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise ConfigError(f"{where}: port must be a number from 1 to 65535")
    username = entry.get("username", "agentdesk")
    if not isinstance(username, str) or not re.fullmatch(r"[A-Za-z0-9_.@-]{1,64}", username):
        raise ConfigError(f"{where}: username must be the manager.conf user name")
    secret_file = entry.get("secret_file")
    secret_keyring = entry.get("secret_keyring")
    if (secret_file is None) == (secret_keyring is None):
        raise ConfigError(f"{where}: give exactly one of secret_file (0600) or secret_keyring")
    if secret_file is not None and (not isinstance(secret_file, str) or not secret_file):
        raise ConfigError(f"{where}: secret_file must be a path")
    if secret_keyring is not None and (not isinstance(secret_keyring, str) or not secret_keyring):
        raise ConfigError(f"{where}: secret_keyring must be a keyring entry name")
    auth = entry.get("auth", "md5")
    if auth not in ("md5", "plain"):
        raise ConfigError(f"{where}: auth must be 'md5' or 'plain'")
    interfaces = entry.get("interfaces", [])
    if not isinstance(interfaces, list) or not all(
        isinstance(i, str) and i.strip() for i in interfaces
    ):
        raise ConfigError(f"{where}: interfaces must be a list of patterns like 'PJSIP/1*'")
    contexts = {}
    for key in ("transfer_context", "dial_context"):
        value = entry.get(key, getattr(PbxConfig, key))
        if not isinstance(value, str) or not _CONTEXT.match(value):
            raise ConfigError(f"{where}: {key} must be a dialplan context name")
        contexts[key] = value
    return PbxConfig(
        queue_transfers=_queue_transfers(entry.get("queue_transfers", {}), where),
        site=site,
        host=host.strip(),
        port=port,
        username=username,
        secret_file=Path(secret_file).expanduser() if secret_file else None,
        secret_keyring=secret_keyring,
        auth=auth,
        interfaces=tuple(i.strip() for i in interfaces),
        **contexts,
    )


def _queue_transfers(raw: object, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, dict):
        raise ConfigError(f'{where}: queue_transfers must be a table of queue = "code"')
    found = []
    for queue, code in raw.items():
        if not isinstance(code, str) or not re.fullmatch(r"[0-9*#]{1,32}", code):
            raise ConfigError(f'{where}: queue_transfers.{queue} must be digits, like "2100"')
        found.append((str(queue), code))
    return tuple(found)


def pbx_from_address(
    address: str, *, username: str, secret_file: Path | None, secret_keyring: str | None
) -> PbxConfig:
    """``--pbx HOST:PORT`` (a convenience for the demo and tests): one PBX named ``local``."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ConfigError(f"--pbx {address!r}: expected HOST:PORT, e.g. 127.0.0.1:5038")
    entry: dict[str, Any] = {
        "site": "local",
        "host": host.strip("[]"),
        "port": int(port_text),
        "username": username,
    }
    if secret_file is not None:
        entry["secret_file"] = str(secret_file)
    else:
        entry["secret_keyring"] = secret_keyring or "ami"
    return pbx_from_mapping(entry, "--pbx")
