"""``bench/capacity.py --short``: the capacity run and its failover in minutes, in CI.

20 desktop protocol clients on one PBX simulator (its own site), one ``agentdesk server``
over a throwaway PostgreSQL, all real processes on loopback. Calls are offered, answered,
hung up and wrapped up through the server; then the server instance is killed (SIGKILL)
and started again, and PostgreSQL is stopped and started again, with calls still flowing.
Every call the PBX connected is one interaction at the centre: none lost, none twice.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(420)]
BUDGET = 330  # seconds; about 2.5 minutes on a quiet 2-core box


def test_capacity_short_run_loses_and_duplicates_nothing() -> None:
    # A timeout ends the bench with SIGTERM: its finally blocks stop the server, the PBX and
    # PostgreSQL (a SIGKILL would leave them running).
    bench = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "capacity.py"), "--short"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=str(ROOT),
    )
    try:
        out, err = bench.communicate(timeout=BUDGET)
    except subprocess.TimeoutExpired:
        bench.terminate()
        out, err = bench.communicate(timeout=60)
        pytest.fail(f"the short capacity run took over {BUDGET} s:\n{out}{err[-3000:]}")
    assert bench.returncode == 0, out + err[-3000:]
    assert "21/21 desktops signed in" in out, out  # 20 agents and the supervisor
    interactions = re.search(
        r"interactions: expected ([\d,]+) .* lost (\d+), duplicated (\d+)", out
    )
    assert interactions, out
    assert int(interactions.group(1).replace(",", "")) > 0
    assert interactions.group(2) == "0" and interactions.group(3) == "0", out
    kills = re.findall(
        r"^kill (.*): .* connected again in ([\d.]+) s .*lost (\d+), "
        r"duplicated (\d+)$",
        out,
        re.MULTILINE,
    )
    assert [k[0].split(" (")[0] for k in kills] == ["server instance", "PostgreSQL primary"], out
    assert all(k[2] == "0" and k[3] == "0" for k in kills), out
    assert re.search(r"ring -> offer at the desktop\s+p50\s+[\d.]+ ms", out), out
    assert re.search(r"wrap-up -> supervisor's pull\s+p50\s+[\d.]+ ms", out), out
