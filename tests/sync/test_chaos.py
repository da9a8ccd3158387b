"""Chaos: real desktop processes killed with SIGKILL mid-push and mid-pull, PostgreSQL restarted
mid-batch, several rounds; afterwards nothing acknowledged is lost, nothing is applied twice, and
every cache agrees with the centre. ``bench/chaos.py --direct --soak N`` runs
many more rounds; ``tests/server/test_chaos_through_server.py`` is the same through the server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentdesk.store import migrate
from agentdesk.store.engine import central_engine
from tests.support.pgserver import PostgresServer
from tests.sync.chaos import run_chaos
from tests.sync.factories import seed_reference

ROUNDS = int(os.environ.get("AGENTDESK_CHAOS_ROUNDS", "6"))


@pytest.mark.postgres
@pytest.mark.slow
def test_desktops_survive_kill_9_and_a_restarting_centre(
    pg_server: PostgresServer, pg_url: str, tmp_path: Path
) -> None:
    engine = central_engine(pg_url)
    migrate.upgrade(engine)
    seed_reference(engine)
    try:
        report = run_chaos(engine, pg_url, tmp_path, ROUNDS, pg_server.stop, pg_server.start)
    finally:
        engine.dispose()
    assert report.rounds == ROUNDS
    assert report.kills_mid_push + report.kills_mid_pull == 2 * ROUNDS
    assert report.pg_restarts == ROUNDS // 3
    assert report.counts["writes"] > 0
