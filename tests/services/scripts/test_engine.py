"""One call's script run: branching on typed answers, Back, the path filed, and the rule
that a mandatory ID&V step cannot be passed unless the IVR or the agent verified."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from agentdesk.services.scripts.calls import CallScripts
from agentdesk.services.scripts.engine import IdvCheck, ScriptMoveError, ScriptRun
from agentdesk.services.scripts.loader import load_catalogue

CATALOGUE = load_catalogue()
TODAY = dt.date(2026, 12, 3)
PASSED = IdvCheck("passed", "pin")
NOT_ATTEMPTED = IdvCheck("not_attempted")


def _card(ivr: IdvCheck = PASSED) -> ScriptRun:
    script = CATALOGUE.by_id("card_lost")
    assert script is not None
    return ScriptRun.begin(script, ivr)


def test_stolen_branches_to_the_police_question_and_lost_does_not() -> None:
    run = _card().next().next()
    assert run.current == "what_happened"
    stolen = run.answer("stolen").next()
    assert stolen.current == "police"
    lost = run.answer("lost").next()
    assert lost.current == "last_used"


def test_yes_no_branches_and_the_outcome_keeps_only_the_path_taken() -> None:
    run = _card().next().next().answer("stolen").next()
    run = run.answer("CR/1234/26").next()  # the optional crime reference
    run = run.answer("2026-12-01", TODAY).next()
    run = run.answer("yes").next()
    assert run.current == "how_many"
    run = run.answer("3").next().answer("yes").next()
    assert run.finished and run.current == "close"
    outcome = run.outcome()
    assert outcome.completed and (outcome.script_id, outcome.script_version) == ("card_lost", 1)
    assert [(a.step, a.value) for a in outcome.answers] == [
        ("what_happened", "stolen"),
        ("police", "CR/1234/26"),
        ("last_used", "2026-12-01"),
        ("unknown_payments", "yes"),
        ("how_many", "3"),
        ("replace", "yes"),
    ]
    rows = json.loads(outcome.answers_json())
    assert rows[0] == {
        "step": "what_happened",
        "question": "Was the card lost, stolen, or kept by a cash machine?",
        "answer": "stolen",
    }
    # Back past the branch and choose differently: the stolen-only answer is not filed,
    # but it is kept should the agent come back to it.
    back = run.back().back().back().back().back().back()
    assert back.current == "what_happened"
    relost = back.answer("lost").next()
    assert relost.current == "last_used"  # its earlier answer is back on screen, and filed
    assert [a.step for a in relost.outcome().answers] == ["what_happened", "last_used"]
    assert relost.answer_to("police") is not None
    with pytest.raises(ScriptMoveError, match="closing step"):
        run.next()


@pytest.mark.parametrize(
    ("step_answers", "raw", "words"),
    [
        ("what_happened", "burnt", "Pick one of the answers offered"),
        ("last_used", "yesterday", "is not a date"),
        ("last_used", "2027-01-01", "cannot be in the future"),
        ("how_many", "lots", "is not a number"),
        ("how_many", "0", "must be 1 or more"),
        ("how_many", "nan", "is not a number"),
        ("what_happened", "   ", "Answer the question"),
    ],
)
def test_answers_are_checked_against_their_type(step_answers: str, raw: str, words: str) -> None:
    script = CATALOGUE.by_id("card_lost")
    assert script is not None
    run = ScriptRun(script, PASSED, current=step_answers, history=("greeting",))
    with pytest.raises(ScriptMoveError, match=words):
        run.answer(raw, TODAY)
    assert run.answer_to(step_answers) is None


def test_a_question_needs_an_answer_before_next() -> None:
    run = _card().next().next()
    with pytest.raises(ScriptMoveError, match="Answer the question"):
        run.next()


def test_the_mandatory_idv_step_blocks_an_unverified_caller() -> None:
    at_idv = _card(NOT_ATTEMPTED).next()
    assert at_idv.current == "idv" and not at_idv.verified
    with pytest.raises(ScriptMoveError, match="not verified — IVR: not attempted"):
        at_idv.next()
    with pytest.raises(ScriptMoveError, match="Pick how you verified"):
        at_idv.verify("pin", "passed")  # not a method this step offers
    with pytest.raises(ScriptMoveError, match="passed or failed"):
        at_idv.verify("security_questions", "partial")
    verified = at_idv.verify("security_questions", "passed")
    assert verified.next().current == "what_happened"
    assert verified.outcome().agent_idv == IdvCheck("passed", "security_questions")
    failed = at_idv.verify("one_time_code", "failed").next()
    assert failed.current == "close_unverified" and failed.finished
    assert failed.outcome().agent_idv == IdvCheck("failed", "one_time_code")


def test_a_partial_or_failed_ivr_result_also_needs_the_agent() -> None:
    for result in ("partial", "failed"):
        with pytest.raises(ScriptMoveError, match="Verify them here"):
            _card(IdvCheck(result, "dob")).next().next()


def test_an_ivr_pass_goes_straight_on_and_files_no_agent_check() -> None:
    run = _card(PASSED).next().next()
    assert run.current == "what_happened" and run.outcome().agent_idv is None


def test_an_optional_idv_step_lets_an_unverified_caller_past() -> None:
    general = CATALOGUE.by_id("general")
    assert general is not None
    run = ScriptRun.begin(general, NOT_ATTEMPTED).next().next()
    assert run.current == "topic"


def test_switching_scripts_keeps_the_agents_check_for_the_call() -> None:
    calls = CallScripts(CATALOGUE)
    run = calls.start("call-1", "card_lost", NOT_ATTEMPTED)
    assert run is not None and run.script.id == "card_lost"
    calls.put("call-1", run.next().verify("security_questions", "passed"))
    switched = calls.switch("call-1", "fraud_report", NOT_ATTEMPTED)
    assert switched.current == "greeting"
    assert switched.next().next().current == "still_in_contact"  # verified already
    outcome = calls.outcome("call-1")
    assert outcome is not None and outcome.script_id == "fraud_report"
    assert calls.start("call-2", "no_such_intent", PASSED).script.id == "general"  # type: ignore[union-attr]
    calls.drop("call-1")
    assert calls.outcome("call-1") is None
