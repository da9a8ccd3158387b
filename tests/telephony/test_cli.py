"""``agentdesk pbx``: help text and a short standalone run."""

from __future__ import annotations

import pytest

from agentdesk.cli import main


def test_pbx_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["pbx", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for option in (
        "--host",
        "--port",
        "--agents",
        "--rate",
        "--seed",
        "--time-scale",
        "--overload",
        "--queue-log",
        "--pbx-config",
    ):
        assert option in out
    assert "default 127.0.0.1" in out


def test_pbx_runs_standalone_and_writes_queue_log(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from pathlib import Path

    log = Path(str(tmp_path)) / "queue_log"
    code = main(
        [
            "pbx",
            "--port",
            "0",
            "--duration",
            "1",
            "--time-scale",
            "200",
            "--rate",
            "600",
            "--agents",
            "5",
            "--queue-log",
            str(log),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "AMI on 127.0.0.1:" in out
    lines = log.read_text().splitlines()
    assert lines[0].endswith("|NONE|NONE|NONE|QUEUESTART|")
    assert any("|ENTERQUEUE|" in line for line in lines)


def test_pbx_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["pbx", "--time-scale", "0"])
    assert "must be > 0" in capsys.readouterr().err
    assert main(["pbx", "--pbx-config", "/nonexistent.toml"]) == 2
