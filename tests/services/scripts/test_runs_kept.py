"""Script runs kept in the cache as they change: a desktop killed mid-call (its runs in memory
gone) reads them back — step, path, answers and the agent's ID&V — and files them; a run
whose script changed since is dropped, not shown against other steps."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from agentdesk.models import DeskScriptRun
from agentdesk.services.scripts.calls import CallScripts
from agentdesk.services.scripts.engine import IdvCheck
from agentdesk.services.scripts.loader import load_catalogue
from agentdesk.services.scripts.model import ScriptCatalogue
from agentdesk.services.scripts.runs import ScriptRunStore
from agentdesk.store import migrate
from agentdesk.store.engine import read_session, sqlite_engine
from tests.services.desk.fakes import QueuedRunner

CATALOGUE = load_catalogue()
NOT_ATTEMPTED = IdvCheck("not_attempted")
CALL = "1733650000.21"


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Engine]:
    engine = sqlite_engine(tmp_path / "cache.db")
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def _kept(engine: Engine) -> int:
    with read_session(engine) as s:
        return s.scalar(select(func.count()).select_from(DeskScriptRun)) or 0


def _desk(
    engine: Engine, catalogue: ScriptCatalogue = CATALOGUE
) -> tuple[CallScripts, QueuedRunner]:
    runner = QueuedRunner()
    return CallScripts(catalogue, ScriptRunStore(engine), runner), runner


def test_a_run_typed_before_a_crash_comes_back_and_is_filed(cache: Engine) -> None:
    before, runner = _desk(cache)
    run = before.start(CALL, "card_lost", NOT_ATTEMPTED)
    assert run is not None
    run = before.put(CALL, run.next())  # greeting → ID&V
    run = before.put(CALL, run.verify("date_of_birth_postcode", "passed").next())
    run = before.put(CALL, run.answer("stolen").next())
    run = before.put(CALL, run.answer("CR/1234/26"))
    runner.drain()
    assert _kept(cache) == 1
    # The process dies here: ``before`` and its memory are gone.

    after, runner = _desk(cache)
    came_back: list[list[str]] = []
    after.restore(came_back.append)
    runner.drain()
    assert came_back == [[CALL]]
    again = after.run(CALL)
    assert again == run
    assert after.agent_idv(CALL) == IdvCheck("passed", "date_of_birth_postcode")
    outcome = after.outcome(CALL)
    assert outcome is not None
    assert [(a.step, a.value) for a in outcome.answers] == [
        ("what_happened", "stolen"),
        ("police", "CR/1234/26"),
    ]
    after.drop(CALL)  # the wrap-up filed it: the row goes
    runner.drain()
    assert _kept(cache) == 0


def test_a_fresh_run_shown_before_the_read_back_gives_way_to_the_kept_one(cache: Engine) -> None:
    before, runner = _desk(cache)
    run = before.start(CALL, "card_lost", NOT_ATTEMPTED)
    assert run is not None
    kept = before.put(CALL, run.next())
    runner.drain()
    after, runner = _desk(cache)
    after.restore(lambda _calls: None)
    fresh = after.start(CALL, "card_lost", NOT_ATTEMPTED)  # the adopted call popped first
    assert fresh is not None and not fresh.history
    runner.drain()
    assert after.run(CALL) == kept


def test_a_run_of_a_script_changed_since_is_dropped(cache: Engine) -> None:
    before, runner = _desk(cache)
    run = before.start(CALL, "card_lost", NOT_ATTEMPTED)
    assert run is not None
    before.put(CALL, run.next())
    runner.drain()
    bumped = ScriptCatalogue(
        tuple(
            dataclasses.replace(s, version=s.version + 1) if s.id == "card_lost" else s
            for s in CATALOGUE.scripts
        )
    )
    after, runner = _desk(cache, bumped)
    came_back: list[list[str]] = []
    after.restore(came_back.append)
    runner.drain()
    assert came_back == [] and after.run(CALL) is None
    assert _kept(cache) == 0
