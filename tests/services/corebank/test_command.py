"""``agentdesk corebank`` refuses unsafe settings with a sentence; its contract's edges."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from tests.services.corebank.conftest import Simulator


def _run(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentdesk.cli", "corebank", *args],
        capture_output=True, text=True, timeout=60, check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp), "XDG_CONFIG_HOME": str(tmp / "c")},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--host", "0.0.0.0"), "loopback address only"),
        (("--fail-rate", "0.7", "--garbage-rate", "0.5"), "add up to 1 at most"),
        (("--latency-ms", "-5"), "between 0 and 60000 ms"),
        (("--url", "nosuch://x"), "agentdesk corebank:"),
    ],
)
def test_bad_settings_are_refused_with_a_sentence(
    args: tuple[str, ...], message: str, seeded: tuple[Path, Engine], tmp_path: Path
) -> None:
    full = args if "--url" in args else (*args, "--url", f"sqlite:///{seeded[0]}")
    done = _run(*full, "--port", "0", tmp=tmp_path)
    assert done.returncode == 2, done.stdout
    assert message in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/core/v1/customers/not-a-uuid/position", 400),
        (f"/core/v1/customers/{uuid.uuid4()}/position?recent=999", 400),
        (f"/core/v1/customers/{uuid.uuid4()}/position?recent=-1", 400),
        (f"/core/v1/products/{uuid.uuid4()}/transactions", 404),
        ("/core/v1/elsewhere", 404),
        ("/nothing", 404),
    ],
)
def test_requests_outside_the_contract_get_a_status_and_a_reason(
    core: Simulator, path: str, status: int
) -> None:
    answer = httpx.get(core.url + path, timeout=5)
    assert answer.status_code == status and answer.json()["error"]


@pytest.mark.parametrize(
    "body",
    ['{"fail_rate": 2}', '{"latency": 5}', '{"fail_rate": "high"}', "not json", "[1]"],
)
def test_bad_fault_settings_leave_the_old_ones(core: Simulator, body: str) -> None:
    before = core.faults(latency_ms=3)
    answer = httpx.put(f"{core.url}/sim/faults", content=body, timeout=5)
    assert answer.status_code == 400 and answer.json()["detail"]
    assert httpx.get(f"{core.url}/sim/faults", timeout=5).json() == before
    assert json.loads(httpx.get(f"{core.url}/health", timeout=5).text) == {"status": "ok"}
