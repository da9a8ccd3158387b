"""The script run reaches the interaction the wrap-up saves (real LocalWriter, real
SQLite), and ``interaction.add`` refuses script fields that do not hang together."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import Engine, select

from agentdesk.models import IdvResult, Interaction
from agentdesk.services.desk.wrapup import WrapUpDraft, WrapUpService, load_dispositions
from agentdesk.services.scripts.calls import CallScripts
from agentdesk.services.scripts.engine import IdvCheck
from agentdesk.services.scripts.loader import load_catalogue
from agentdesk.store.engine import read_session
from agentdesk.store.mutation_args.interactions import InteractionAdd
from agentdesk.store.mutations import MutationRejected
from agentdesk.store.writer import LocalWriter
from tests.services.test_wrapup import NOW, ended_call


def test_the_wrap_up_files_script_answers_and_the_agents_check(
    sqlite_central_engine: Engine,
) -> None:
    scripts = CallScripts(load_catalogue())
    call = ended_call()  # type: ignore[no-untyped-call]
    run = scripts.start(call.linkedid, "balance", IdvCheck("partial", "dob"))
    assert run is not None
    run = run.next().verify("security_questions", "passed").next()
    run = scripts.put(call.linkedid, run.answer("savings").next().answer("Interest rate"))
    svc = WrapUpService(
        LocalWriter(sqlite_central_engine, "alice"), load_dispositions(), scripts=scripts.outcome
    )
    ctx = svc.begin(call, None, None, NOW + dt.timedelta(seconds=60))
    svc.save(ctx, WrapUpDraft("resolved"), NOW + dt.timedelta(seconds=90))
    with read_session(sqlite_central_engine) as s:
        row = s.scalars(select(Interaction)).one()
    assert (row.script_id, row.script_version) == ("balance", 1)
    assert json.loads(row.script_answers or "") == [
        {
            "step": "which_account",
            "question": "Which account is the call about?",
            "answer": "savings",
        },
        {
            "step": "question",
            "question": "What would the caller like to know?",
            "answer": "Interest rate",
        },
    ]
    assert (row.agent_idv_result, row.agent_idv_method) == (
        IdvResult.PASSED,
        "security_questions",
    )
    assert row.idv_method == "pin"  # the IVR's own check stays beside it


def test_a_call_without_a_script_files_none(sqlite_central_engine: Engine) -> None:
    scripts = CallScripts(load_catalogue())
    svc = WrapUpService(
        LocalWriter(sqlite_central_engine, "alice"), load_dispositions(), scripts=scripts.outcome
    )
    ctx = svc.begin(ended_call(), None, None, NOW)  # type: ignore[no-untyped-call]
    svc.save(ctx, WrapUpDraft("resolved"), NOW + dt.timedelta(seconds=5))
    with read_session(sqlite_central_engine) as s:
        row = s.scalars(select(Interaction)).one()
    assert row.script_id is None and row.script_answers is None and row.agent_idv_result is None


BASE: dict[str, Any] = {
    "id": "0190f000-0000-7000-8000-000000000001",
    "channel": "phone",
    "direction": "inbound",
    "started_at": "2026-05-01T10:00:00+00:00",
}


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"script_id": "card_lost"}, "a script is filed with its version"),
        ({"script_answers": "[]"}, "script answers need the script"),
        ({"script_id": "x", "script_version": 1, "script_answers": "{"}, "is not valid JSON"),
        (
            {"script_id": "x", "script_version": 1, "script_answers": '[{"step": "a"}]'},
            "exactly step, question and answer",
        ),
        ({"agent_idv_result": "passed"}, "filed with its method"),
        ({"agent_idv_result": "maybe", "agent_idv_method": "x"}, "is not one of"),
    ],
)
def test_interaction_add_refuses_script_fields_that_do_not_fit(
    extra: dict[str, Any], words: str
) -> None:
    with pytest.raises(MutationRejected, match=words):
        InteractionAdd.parse({**BASE, **extra})
