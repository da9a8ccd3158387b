"""``agentdesk demo`` from nothing: seeds an empty store, rings the demo agent within seconds."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.e2e.test_desktop_e2e import AGENTDESK, Process

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_demo_starts_from_an_empty_directory_and_calls_arrive(tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AGENTDESK_", "PYTHON_KEYRING"))
    }
    env.update(
        {
            "QT_QPA_PLATFORM": "offscreen",
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_DATA_HOME": str(tmp_path / "data"),
        }
    )
    demo = Process(
        [
            *AGENTDESK,
            "demo",
            "--data-dir",
            str(tmp_path / "demo"),
            "--customers",
            "300",
            "--auto-answer",
            "--acw-limit",
            "1",
        ],
        env,
        tmp_path / "demo.log",
    )
    try:
        demo.expect(r"seeding 300 demo customers", 60)
        demo.expect(r"PBX simulator on 127\.0\.0\.1:\d+; signed in as Alice Agent", 60)
        offered = demo.expect(r"call (\S+) offered", 30)  # the first call skips the IVR
        call = re.escape(offered.group(1))
        # Painted and answered (auto-answer: PJSIPNotify Event=talk) land in either order.
        pattern = (
            rf"(?P<painted>screen pop painted): call {call}|call {call} (?P<answered>connected)"
        )
        seen = {demo.expect(pattern, 30).lastgroup for _ in range(2)}
        assert seen == {"painted", "answered"}
    finally:
        code = demo.stop()
    assert code == 0
    log = (tmp_path / "demo.log").read_text(encoding="utf-8")
    # This CI box has no OS keyring: the demo says so and keeps secrets in memory.
    assert "No OS keyring backend" in log or "keyring" not in log.lower()
