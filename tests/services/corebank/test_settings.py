"""``[corebank]`` in the server's settings file: read, or refused with the key named."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentdesk.config import ConfigError
from agentdesk.server.settings import load_server_settings


def test_the_table_is_read(tmp_path: Path) -> None:
    path = tmp_path / "server.toml"
    path.write_text('[corebank]\nurl = "http://127.0.0.1:8780"\ntimeout = 0.4\ncool_down = 3\n')
    corebank = load_server_settings(path).corebank
    assert corebank is not None
    assert (corebank.url, corebank.timeout, corebank.cool_down) == ("http://127.0.0.1:8780", 0.4, 3)
    assert corebank.failure_threshold == 5  # the default


def test_without_the_table_no_core_system_is_read(tmp_path: Path) -> None:
    path = tmp_path / "server.toml"
    path.write_text("[listen]\nport = 9443\n")
    assert load_server_settings(path).corebank is None


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('url = "http://x"\nretries = 3', "unknown [corebank] settings: retries"),
        ("timeout = 1", "needs url"),
        ('url = "ftp://x"', "must start with http:// or https://"),
        ('url = "http://x"\ntimeout = "fast"', "timeout must be"),
        ('url = "http://x"\ntimeout = 0', "timeouts must be"),
        ('url = "http://x"\nfailure_threshold = 0', "failure_threshold must be"),
        ('url = "http://x"\nrecent = 500', "recent must be"),
        ('url = "https://x"\nca_file = "/nonexistent/ca.pem"', "ca_file /nonexistent/ca.pem does"),
        ('url = "https://x"\nca_file = 7', "ca_file must be"),
    ],
)
def test_bad_settings_are_refused_with_the_key_named(
    tmp_path: Path, table: str, message: str
) -> None:
    path = tmp_path / "server.toml"
    path.write_text(f"[corebank]\n{table}\n")
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_server_settings(path)
