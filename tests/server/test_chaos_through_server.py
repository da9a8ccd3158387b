"""Chaos through the server: desktop processes SIGKILLed mid-push and mid-pull, the server
process SIGKILLed mid-batch and restarted on its port, PostgreSQL restarted mid-batch; then
every write each desktop made is at the centre exactly once and every cache agrees with it.
``bench/chaos.py --soak N`` runs many more rounds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentdesk.store import migrate
from agentdesk.store.engine import central_engine
from tests.support.pgserver import PostgresServer
from tests.sync.chaos_server import prepare_central, run_server_chaos

ROUNDS = int(os.environ.get("AGENTDESK_CHAOS_ROUNDS", "5"))


@pytest.mark.postgres
@pytest.mark.slow
def test_desktops_and_server_survive_kill_9_and_a_restarting_database(
    pg_server: PostgresServer, pg_url: str, tmp_path: Path
) -> None:
    engine = central_engine(pg_url)
    migrate.upgrade(engine)
    prepare_central(engine)
    try:
        report = run_server_chaos(
            engine, pg_url, tmp_path, ROUNDS, pg_server.stop, pg_server.start, log=print
        )
    finally:
        engine.dispose()
    assert report.rounds == ROUNDS
    assert report.kills_mid_push + report.kills_mid_pull == 2 * ROUNDS
    assert report.server_kills == (ROUNDS + 1) // 3
    assert report.desk_outages_seen == 2 * report.server_kills
    assert report.pg_restarts == ROUNDS // 3
    assert report.counts["writes"] > 0 and report.counts["interactions"] > 0
