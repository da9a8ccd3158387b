"""A seeded central store and ``agentdesk corebank`` over it, run as its own process on loopback."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from agentdesk.services.seeding.generator import SeedOptions, seed
from agentdesk.store import migrate
from agentdesk.store.engine import sqlite_engine

TODAY = "2026-06-15"


@dataclass
class Simulator:
    """A running ``agentdesk corebank`` child process."""

    url: str
    process: subprocess.Popen[str]

    def faults(self, **values: float) -> dict[str, Any]:
        """Set the injected faults (every unnamed one back to zero)."""
        body = {"latency_ms": 0, "jitter_ms": 0} | values
        answer = httpx.put(f"{self.url}/sim/faults", content=json.dumps(body), timeout=5)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def served(self) -> int:
        """How many core requests the simulator has taken so far."""
        return int(httpx.get(f"{self.url}/sim/stats", timeout=5).json()["served"])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()  # reported by the test below, not left running
                self.process.wait(5)
                raise
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_simulator(db: Path, tmp: Path, *extra: str, seed_value: int = 7) -> Simulator:
    env = {**os.environ, "HOME": str(tmp), "XDG_CONFIG_HOME": str(tmp / "config")}
    log = tmp / "corebank.err"
    with log.open("w") as errors:
        process = _spawn(db, env, errors, seed_value, extra)
    assert process.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(process.stdout, selectors.EVENT_READ)
        ready = sel.select(timeout=60)
    line = process.stdout.readline() if ready else ""
    if not line.startswith("corebank listening on "):
        process.kill()
        process.wait(10)
        process.stdout.close()
        raise RuntimeError(f"agentdesk corebank did not start: {line}{log.read_text()}")
    return Simulator(line.split()[-1], process)


def _spawn(
    db: Path, env: dict[str, str], errors: Any, seed_value: int, extra: tuple[str, ...]
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "agentdesk.cli", "corebank", "--url", f"sqlite:///{db}",
         "--port", "0", "--today", TODAY, "--seed", str(seed_value),
         "--latency-ms", "0", "--jitter", "0", *extra],
        stdout=subprocess.PIPE, stderr=errors, text=True, env=env,
    )  # fmt: skip


@pytest.fixture(scope="package")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Engine]]:
    """A central store with 60 seeded customers and their products."""
    db = tmp_path_factory.mktemp("corebank") / "central.db"
    engine = sqlite_engine(db)
    migrate.upgrade(engine)
    seed(engine, SeedOptions(customers=60, seed=3, interactions_per_customer=0.5), workers=0)
    yield db, engine
    engine.dispose()


@pytest.fixture(scope="package")
def simulator(
    seeded: tuple[Path, Engine], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Simulator]:
    sim = start_simulator(seeded[0], tmp_path_factory.mktemp("corebank-home"))
    yield sim
    sim.stop()


@pytest.fixture
def core(simulator: Simulator) -> Iterator[Simulator]:
    """The simulator with no faults, and none left behind for the next test."""
    simulator.faults()
    yield simulator
    simulator.faults()
