"""Loading scripts: the shipped files pass, and every kind of bad file is refused with a
message naming the file and the step."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentdesk.services.scripts.loader import ScriptFileError, load_catalogue, load_script
from agentdesk.services.scripts.model import AnswerType, StepKind

GOOD = """
id = "demo"
version = 2
title = "Demo"
intents = ["demo"]

[[step]]
id = "hello"
kind = "say"
text = "Hello."
next = "idv"

[[step]]
id = "idv"
kind = "idv"
text = "Who is it?"
next = "ask"
on_failed = "bye"

[[step]]
id = "ask"
kind = "question"
type = "yes_no"
text = "Happy?"
branch = { yes = "bye", no = "why" }

[[step]]
id = "why"
kind = "question"
type = "text"
text = "Why not?"
next = "bye"

[[step]]
id = "bye"
kind = "close"
text = "Bye."
"""


def _write(tmp_path: Path, text: str, name: str = "demo.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _refused(tmp_path: Path, text: str) -> ScriptFileError:
    with pytest.raises(ScriptFileError) as caught:
        load_script(_write(tmp_path, text))
    return caught.value


def test_the_shipped_scripts_load_and_cover_the_demo_intents() -> None:
    catalogue = load_catalogue()
    for intent in ("card_lost", "balance", "fraud_report", "address_change"):
        script = catalogue.for_intent(intent)
        assert script is not None and intent in script.intents
    fallback = catalogue.for_intent("mortgage_overpay")
    assert fallback is not None and fallback.fallback
    assert catalogue.for_intent(None) is fallback


def test_a_good_file_becomes_typed_steps(tmp_path: Path) -> None:
    script = load_script(_write(tmp_path, GOOD))
    assert (script.id, script.version, script.start) == ("demo", 2, "hello")
    ask = script.step("ask")
    assert ask.kind is StepKind.QUESTION and ask.answer_type is AnswerType.YES_NO
    assert dict(ask.branch) == {"yes": "bye", "no": "why"}
    assert script.step("idv").mandatory


def test_an_unknown_step_id_is_named(tmp_path: Path) -> None:
    error = _refused(
        tmp_path,
        GOOD.replace(
            'next = "bye"\n\n[[step]]\nid = "bye"', 'next = "byee"\n\n[[step]]\nid = "bye"'
        ),
    )
    assert str(error) == "demo.toml, step “why”: leads to an unknown step “byee”"


def test_a_cycle_is_refused_with_the_loop(tmp_path: Path) -> None:
    looped = GOOD.replace('text = "Why not?"\nnext = "bye"', 'text = "Why not?"\nnext = "ask"')
    error = _refused(tmp_path, looped)
    assert str(error) == "demo.toml, step “ask”: the steps loop: ask → why → ask"


def test_a_self_loop_is_a_cycle(tmp_path: Path) -> None:
    error = _refused(
        tmp_path, GOOD.replace('text = "Hello."\nnext = "idv"', 'text = "Hello."\nnext = "hello"')
    )
    assert "the steps loop: hello → hello" in str(error)


def test_an_unreachable_step_is_named(tmp_path: Path) -> None:
    orphan = (
        GOOD + '\n[[step]]\nid = "lost"\nkind = "say"\ntext = "Nobody sees me."\nnext = "bye"\n'
    )
    error = _refused(tmp_path, orphan)
    assert str(error) == "demo.toml, step “lost”: no path from “hello” reaches it"


def test_a_script_without_a_closing_step_is_refused(tmp_path: Path) -> None:
    text = """
id = "x"
version = 1
title = "X"
[[step]]
id = "a"
kind = "say"
text = "A"
next = "a"
"""
    assert "no closing step" in str(_refused(tmp_path, text))


def test_a_question_without_a_type_is_named(tmp_path: Path) -> None:
    error = _refused(tmp_path, GOOD.replace('type = "text"\n', ""))
    assert str(error).startswith("demo.toml, step “why”: a question needs a “type”")


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ('type = "text"', 'type = "colour"', "unknown answer type “colour”"),
        ('branch = { yes = "bye", no = "why" }', 'branch = { maybe = "bye" }', "branch on “maybe”"),
        ('on_failed = "bye"\n', "", "on_failed"),
        ('kind = "say"', 'kind = "sing"', "“kind” must be one of"),
        ("version = 2", "version = 0", "“version” must be a whole number"),
        ('text = "Bye."', 'text = "Bye."\nnext = "hello"', "unknown key(s) for a close step"),
        ('title = "Demo"', 'title = "Demo"\ncolour = "red"', "unknown key(s): colour"),
        ('id = "why"', 'id = "Why Not"', "must be an id"),
    ],
)
def test_other_bad_input_is_refused_by_name(tmp_path: Path, old: str, new: str, words: str) -> None:
    assert old in GOOD
    assert words in str(_refused(tmp_path, GOOD.replace(old, new, 1)))


def test_broken_toml_and_duplicate_intents_are_refused(tmp_path: Path) -> None:
    assert "is not valid TOML" in str(_refused(tmp_path, "id = "))
    with pytest.raises(ScriptFileError, match=r"demo\.toml: is not valid TOML"):
        load_catalogue(tmp_path)  # one bad file stops the whole catalogue
    (tmp_path / "demo.toml").unlink()
    _write(tmp_path, GOOD, "a.toml")
    _write(tmp_path, GOOD.replace('id = "demo"', 'id = "other"'), "b.toml")
    with pytest.raises(
        ScriptFileError, match=r"b\.toml: intent “demo” is already claimed by a\.toml"
    ):
        load_catalogue(tmp_path)
