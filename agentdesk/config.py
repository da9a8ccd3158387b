"""Typed settings: defaults, then a TOML file, then ``AGENTDESK_*`` environment overrides.

No secrets live here. Passwords and keys are looked up in the OS keyring
(see ``agentdesk.vault``) under names derived from these settings.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

APP_NAME = "agentdesk"
log = logging.getLogger(__name__)


class ConfigError(ValueError):
    """A settings file or override that cannot be used, with the reason."""


@dataclass(frozen=True)
class CentralSettings:
    """Where the central store lives. ``url`` None means the embedded SQLite file.

    ``standby_url``: a PostgreSQL hot standby of ``url`` that the server's reports
    read from (``agentdesk.store.standby``); None: reports read ``url``.
    """

    url: str | None = None
    standby_url: str | None = None
    # Name of the keyring entry holding the PostgreSQL password, if the URL has none.
    password_key: str = "central-db"
    # The embedded store's SQLCipher key (64 hex digits, 0600); default: central.key next
    # to the store, made when the store is created.
    key_file: Path | None = None


@dataclass(frozen=True)
class LocalSettings:
    """The workstation's encrypted cache."""

    path: Path | None = None  # default: <data_dir>/cache.db
    # Always True for a user: the cache holds customer data, so a settings file or the
    # environment cannot turn SQLCipher off (``[local] encrypted`` is ignored with a
    # warning). Only code (tests building stores directly) may pass False.
    encrypted: bool = True
    full_replica: bool = False


IDLE_LOCK_MIN, IDLE_LOCK_MAX = 1, 15


# Settings a file may not change, with the reason logged when one tries.
_NOT_USER_SETTINGS = {
    ("local", "encrypted"): "the local cache is always encrypted (SQLCipher); setting ignored",
}


@dataclass(frozen=True)
class PbxSettings:
    """The AMI endpoint (a real Asterisk or the simulator)."""

    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "agentdesk"
    secret_key: str = "ami"  # keyring entry name for the AMI secret
    use_md5: bool = True
    channelvars: tuple[str, ...] = (
        "IVR_SESSION",
        "IVR_INTENT",
        "IDV_RESULT",
        "IDV_METHOD",
        "IDV_ATTEMPTS",
        "IVR_LANGUAGE",
    )


@dataclass(frozen=True)
class ServerLink:
    """Where a desktop finds its ``agentdesk server`` (HTTPS; loopback may use HTTP).

    ``ca_file`` is the site's CA certificate (PEM) when the server's certificate is not
    signed by a CA the operating system already trusts.
    """

    url: str | None = None
    ca_file: Path | None = None


@dataclass(frozen=True)
class Settings:
    """Everything the composition root needs to build the application."""

    data_dir: Path
    default_region: str = "GB"
    # Minutes without keyboard or mouse input before the desktop locks and asks for the
    # password again. PCI DSS 4.0.1 §8.2.8 requires re-authentication after at most 15
    # idle minutes, so 15 is both the default and the ceiling; 1 is the floor.
    idle_lock_minutes: int = 15
    workstation: str = "ws-1"
    central: CentralSettings = field(default_factory=CentralSettings)
    local: LocalSettings = field(default_factory=LocalSettings)
    pbx: PbxSettings = field(default_factory=PbxSettings)
    server: ServerLink = field(default_factory=ServerLink)

    def __post_init__(self) -> None:
        minutes = self.idle_lock_minutes
        if isinstance(minutes, bool) or not isinstance(minutes, int):
            raise ConfigError(f"idle_lock_minutes must be a whole number, not {minutes!r}")
        if not IDLE_LOCK_MIN <= minutes <= IDLE_LOCK_MAX:
            raise ConfigError(
                f"idle_lock_minutes = {minutes} is outside {IDLE_LOCK_MIN}–{IDLE_LOCK_MAX} "
                "(PCI DSS 8.2.8 allows at most 15 idle minutes before re-authentication)"
            )

    @property
    def central_url(self) -> str:
        """The SQLAlchemy URL of the central store (embedded SQLite if unset)."""
        if self.central.url:
            return self.central.url
        return f"sqlite:///{self.data_dir / 'central.db'}"

    @property
    def local_path(self) -> Path:
        return self.local.path or self.data_dir / "cache.db"


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "agentdesk.toml"


def _merge_section(cls: type[Any], current: Any, values: Mapping[str, Any], where: str) -> Any:
    known = {f.name: f for f in dataclasses.fields(cls)}
    updates: dict[str, Any] = {}
    for key, value in values.items():
        if (where, key) in _NOT_USER_SETTINGS:
            log.warning(
                "%s.%s in the settings file: %s", where, key, _NOT_USER_SETTINGS[where, key]
            )
            continue
        if key not in known:
            raise ConfigError(f"unknown setting {where}.{key}; known: {', '.join(sorted(known))}")
        if isinstance(value, list):
            value = tuple(value)
        if key in ("path", "data_dir", "ca_file", "key_file") and value is not None:
            value = Path(str(value)).expanduser()
        updates[key] = value
    return dataclasses.replace(current, **updates)


_ENV_OVERRIDES: dict[str, tuple[str | None, str, type]] = {
    "AGENTDESK_DATA_DIR": (None, "data_dir", Path),
    "AGENTDESK_DEFAULT_REGION": (None, "default_region", str),
    "AGENTDESK_WORKSTATION": (None, "workstation", str),
    "AGENTDESK_IDLE_LOCK_MINUTES": (None, "idle_lock_minutes", int),
    "AGENTDESK_CENTRAL_URL": ("central", "url", str),
    "AGENTDESK_CENTRAL_KEY_FILE": ("central", "key_file", Path),
    "AGENTDESK_CENTRAL_STANDBY_URL": ("central", "standby_url", str),
    "AGENTDESK_LOCAL_PATH": ("local", "path", Path),
    "AGENTDESK_PBX_HOST": ("pbx", "host", str),
    "AGENTDESK_PBX_PORT": ("pbx", "port", int),
    "AGENTDESK_PBX_USERNAME": ("pbx", "username", str),
    "AGENTDESK_SERVER_URL": ("server", "url", str),
    "AGENTDESK_SERVER_CA": ("server", "ca_file", Path),
}


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from defaults, an optional TOML file and environment overrides."""
    env = os.environ if env is None else env
    settings = Settings(data_dir=Path(platformdirs.user_data_dir(APP_NAME)))
    file_path = path or default_config_path()
    if path is not None and not path.exists():
        raise ConfigError(f"settings file {path} does not exist")
    if file_path.exists():
        try:
            data = tomllib.loads(file_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {file_path}: {exc}") from exc
        # ``[[pbx]]`` (a list of tables) is the server's gateway list (server/cti/config.py);
        # the desktop's own ``[pbx]`` is one table. One file may serve both commands.
        server_pbx = isinstance(data.get("pbx"), list)
        top = {
            k: v
            for k, v in data.items()
            if not isinstance(v, dict) and not (k == "pbx" and server_pbx)
        }
        settings = _merge_section(Settings, settings, top, "settings")
        for name, cls in (
            ("central", CentralSettings),
            ("local", LocalSettings),
            ("pbx", PbxSettings),
            ("server", ServerLink),
        ):
            if name in data and not (name == "pbx" and server_pbx):
                if not isinstance(data[name], dict):
                    raise ConfigError(f"{file_path}: [{name}] must be a table of settings")
                section = _merge_section(cls, getattr(settings, name), data[name], name)
                settings = dataclasses.replace(settings, **{name: section})
    for var, (section_name, key, kind) in _ENV_OVERRIDES.items():
        if var not in env:
            continue
        try:
            value: Any = kind(env[var])
        except ValueError as exc:
            raise ConfigError(f"{var}={env[var]!r} is not a valid {kind.__name__}") from exc
        if section_name is None:
            settings = dataclasses.replace(settings, **{key: value})
        else:
            section = dataclasses.replace(getattr(settings, section_name), **{key: value})
            settings = dataclasses.replace(settings, **{section_name: section})
    return settings
