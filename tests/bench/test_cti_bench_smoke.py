"""``bench/cti.py`` at smoke size: it runs end to end, measures something and finds no leak.

20 virtual agents and 20 desktop sockets for 5 s (the full bench is 500 for 30 s):
the simulator, ``agentdesk server`` and a throwaway PostgreSQL are real processes.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.slow]


def test_cti_bench_smoke_run() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "cti.py"), "--agents", "20", "--seconds", "5"],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=str(ROOT),
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr[-3000:]
    assert "20/20 CTI sockets connected and resynced" in out, out

    def row(name: str) -> str:
        found = re.search(rf"^{re.escape(name)}\s+(.*)$", out, re.MULTILINE)
        assert found, f"no {name!r} row in:\n{out}"
        return found.group(1)

    decoded = int(row("AMI events decoded by the gateway").split()[0].replace(",", ""))
    assert decoded > 0
    assert int(row("events delivered to desktops").split()[0].replace(",", "")) > 0
    assert row("need-to-know violations").split()[0] == "0"
    assert row("AMI sessions on the PBX").startswith("1 now, 1 at most")
    assert "logins during the run: 1 (agentdesk)" in row("AMI sessions on the PBX")
    assert row("sockets closed early").split()[0] == "0"
    assert re.match(r"[\d.]+ / [\d.]+ ms", row("fan-out latency p50 / p99 (all)"))
