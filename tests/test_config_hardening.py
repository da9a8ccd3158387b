"""Settings a site may not weaken: the cache's encryption and the idle-lock ceiling."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from agentdesk.config import ConfigError, load_settings


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agentdesk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_local_encrypted_false_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path, "[local]\nencrypted = false\nfull_replica = true\n")
    with caplog.at_level(logging.WARNING, logger="agentdesk.config"):
        settings = load_settings(path, env={})
    assert settings.local.encrypted is True and settings.local.full_replica is True
    assert "always encrypted" in caplog.text


def test_idle_lock_defaults_to_fifteen_minutes_and_can_be_shortened(tmp_path: Path) -> None:
    assert load_settings(None, env={"AGENTDESK_DATA_DIR": str(tmp_path)}).idle_lock_minutes == 15
    assert load_settings(_write(tmp_path, "idle_lock_minutes = 5\n"), env={}).idle_lock_minutes == 5
    env = {"AGENTDESK_IDLE_LOCK_MINUTES": "2"}
    assert load_settings(_write(tmp_path, ""), env=env).idle_lock_minutes == 2


@pytest.mark.parametrize("value", ["0", "16", "60", "1.5", "true"])
def test_idle_lock_outside_one_to_fifteen_minutes_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="idle_lock_minutes"):
        load_settings(_write(tmp_path, f"idle_lock_minutes = {value}\n"), env={})


def test_one_file_serves_the_server_with_several_pbxs_and_its_desktop_settings(
    tmp_path: Path,
) -> None:
    """Defect: ``agentdesk --config site.toml server`` with ``[[pbx]]`` tables stopped with
    "cannot open the central store ('list' object has no attribute 'items')"."""
    text = (
        'workstation = "ws-1"\n'
        '[[pbx]]\nsite = "london"\nhost = "127.0.0.1"\nsecret_file = "/x"\n'
        '[[pbx]]\nsite = "leeds"\nhost = "127.0.0.1"\nsecret_file = "/y"\n'
    )
    settings = load_settings(_write(tmp_path, text), env={})
    assert settings.workstation == "ws-1" and settings.pbx == load_settings(None, env={}).pbx
    with pytest.raises(ConfigError, match=r"\[central\] must be a table"):
        load_settings(_write(tmp_path, 'central = "postgresql://x"\n'), env={})
