"""Reads ``resources/scripts/*.toml`` at start and refuses anything doubtful, by name.

A script that would strand an agent mid-call is worse than none, so loading is
strict: unknown keys, unknown step ids, a cycle in the branching, a step no path
reaches, a path that never closes, a question without a type — each is a
:class:`ScriptFileError` naming the file and the step. Nothing half-loaded is used.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from agentdesk.paths import resource
from agentdesk.services.scripts.model import (
    IDV_METHODS,
    AnswerType,
    Script,
    ScriptCatalogue,
    Step,
    StepKind,
)

_ID = re.compile(r"[a-z][a-z0-9_]{0,63}")
_SCRIPT_KEYS = {"id", "version", "title", "intents", "start", "fallback", "step"}
_STEP_KEYS = {
    StepKind.SAY: {"id", "kind", "text", "next"},
    StepKind.CLOSE: {"id", "kind", "text"},
    StepKind.IDV: {"id", "kind", "text", "next", "mandatory", "methods", "on_failed"},
    StepKind.QUESTION: {
        "id",
        "kind",
        "text",
        "next",
        "type",
        "choices",
        "branch",
        "optional",
        "min",
        "max",
        "past_only",
    },
}
MAX_STEPS = 200
MAX_TEXT = 2_000


class ScriptFileError(ValueError):
    """A script file that cannot be used; the message names the file and the step."""

    def __init__(self, source: str, message: str, step: str | None = None) -> None:
        where = f"{source}, step “{step}”" if step else source
        super().__init__(f"{where}: {message}")
        self.source, self.step = source, step


def load_catalogue(folder: Path | None = None) -> ScriptCatalogue:
    """Every ``*.toml`` in ``folder`` (default ``resources/scripts``), validated together."""
    folder = folder or resource("scripts")
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise ScriptFileError(str(folder), "no script files (*.toml) in this folder")
    scripts = [load_script(path) for path in files]
    return catalogue_of(scripts)


def catalogue_of(scripts: Iterable[Script]) -> ScriptCatalogue:
    """The scripts as one catalogue: ids unique, each intent claimed once, one fallback."""
    scripts = list(scripts)
    seen: dict[str, str] = {}
    claimed: dict[str, str] = {}
    fallbacks: list[str] = []
    for script in scripts:
        if script.id in seen:
            raise ScriptFileError(
                script.source, f"script id “{script.id}” is also used by {seen[script.id]}"
            )
        seen[script.id] = script.source
        for intent in script.intents:
            if intent in claimed:
                raise ScriptFileError(
                    script.source, f"intent “{intent}” is already claimed by {claimed[intent]}"
                )
            claimed[intent] = script.source
        if script.fallback:
            fallbacks.append(script.source)
    if len(fallbacks) > 1:
        raise ScriptFileError(fallbacks[1], f"a second fallback script (first: {fallbacks[0]})")
    return ScriptCatalogue(tuple(sorted(scripts, key=lambda s: s.title)))


def load_script(path: Path) -> Script:
    """One script file, validated on its own (see the module docstring)."""
    source = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ScriptFileError(source, f"cannot be read ({type(exc).__name__})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ScriptFileError(source, f"is not valid TOML ({exc})") from exc
    return parse_script(data, source)


def parse_script(data: Mapping[str, Any], source: str) -> Script:
    """``data`` (a parsed TOML table) as a :class:`Script`, or a ``ScriptFileError``."""
    unknown = sorted(set(data) - _SCRIPT_KEYS)
    if unknown:
        raise ScriptFileError(source, f"unknown key(s): {', '.join(unknown)}")
    script_id = _ident(data.get("id"), source, None, "id")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ScriptFileError(source, "“version” must be a whole number of 1 or more")
    title = _text(data.get("title"), source, None, "title")
    intents = data.get("intents", [])
    if not isinstance(intents, list) or not all(isinstance(i, str) and i for i in intents):
        raise ScriptFileError(source, "“intents” must be a list of IVR intent codes")
    fallback = data.get("fallback", False)
    if not isinstance(fallback, bool):
        raise ScriptFileError(source, "“fallback” must be true or false")
    raw_steps = data.get("step")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ScriptFileError(source, "no steps ([[step]] tables)")
    if len(raw_steps) > MAX_STEPS:
        raise ScriptFileError(source, f"{len(raw_steps)} steps; the limit is {MAX_STEPS}")
    steps = tuple(_step(raw, source, n) for n, raw in enumerate(raw_steps, 1))
    start = data.get("start", steps[0].id)
    script = Script(
        script_id,
        version,
        title,
        tuple(intents),
        str(start),
        steps,
        source,
        fallback,
    )
    _check_graph(script)
    return script


def _step(raw: Any, source: str, number: int) -> Step:
    if not isinstance(raw, dict):
        raise ScriptFileError(source, f"step {number} is not a table")
    step_id = _ident(raw.get("id"), source, f"#{number}", "id")
    try:
        kind = StepKind(str(raw.get("kind")))
    except ValueError:
        kinds = ", ".join(k.value for k in StepKind)
        raise ScriptFileError(source, f"“kind” must be one of {kinds}", step_id) from None
    unknown = sorted(set(raw) - _STEP_KEYS[kind])
    if unknown:
        raise ScriptFileError(source, f"unknown key(s) for a {kind} step: {unknown}", step_id)
    text = _text(raw.get("text"), source, step_id, "text")
    nxt = raw.get("next")
    if nxt is not None:
        nxt = _ident(nxt, source, step_id, "next")
    if kind is StepKind.QUESTION:
        return _question(raw, source, step_id, text, nxt)
    if kind is StepKind.IDV:
        return _idv(raw, source, step_id, text, nxt)
    if kind is not StepKind.CLOSE and nxt is None:
        raise ScriptFileError(source, "“next” is missing", step_id)
    return Step(step_id, kind, text, nxt)


def _question(raw: Mapping[str, Any], source: str, step_id: str, text: str, nxt: Any) -> Step:
    if "type" not in raw:
        types = ", ".join(t.value for t in AnswerType)
        raise ScriptFileError(source, f"a question needs a “type” ({types})", step_id)
    try:
        answer_type = AnswerType(raw["type"])
    except ValueError:
        types = ", ".join(t.value for t in AnswerType)
        raise ScriptFileError(
            source, f"unknown answer type “{raw['type']}” (one of {types})", step_id
        ) from None
    choices: tuple[tuple[str, str], ...] = ()
    if answer_type is AnswerType.CHOICE:
        table = raw.get("choices")
        if not isinstance(table, dict) or len(table) < 2:
            raise ScriptFileError(source, "a choice question needs two or more “choices”", step_id)
        choices = tuple(
            (_ident(k, source, step_id, "choices"), _text(v, source, step_id, "choices"))
            for k, v in table.items()
        )
    elif "choices" in raw:
        raise ScriptFileError(source, "only a choice question has “choices”", step_id)
    if answer_type is AnswerType.YES_NO:
        choices = (("yes", "Yes"), ("no", "No"))
    branch = raw.get("branch", {})
    if not isinstance(branch, dict):
        raise ScriptFileError(source, "“branch” must be a table of answer = step", step_id)
    values = {v for v, _ in choices}
    if branch and not values:
        raise ScriptFileError(source, "only yes/no and choice questions branch", step_id)
    for value in branch:
        if value not in values:
            raise ScriptFileError(source, f"branch on “{value}”, which is not an answer", step_id)
    pairs = tuple((str(v), _ident(t, source, step_id, "branch")) for v, t in branch.items())
    if nxt is None and (not values or set(branch) != values):
        raise ScriptFileError(source, "“next” is missing (not every answer branches)", step_id)
    optional = raw.get("optional", False)
    if not isinstance(optional, bool):
        raise ScriptFileError(source, "“optional” must be true or false", step_id)
    if optional and branch:
        raise ScriptFileError(source, "a branching question cannot be optional", step_id)
    bounds = [raw.get("min"), raw.get("max")]
    for bound in bounds:
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int | float)):
            raise ScriptFileError(source, "“min” and “max” must be numbers", step_id)
    if answer_type is not AnswerType.NUMBER and any(b is not None for b in bounds):
        raise ScriptFileError(source, "only a number question has “min” or “max”", step_id)
    past_only = raw.get("past_only", False)
    if past_only and answer_type is not AnswerType.DATE:
        raise ScriptFileError(source, "only a date question has “past_only”", step_id)
    return Step(
        step_id,
        StepKind.QUESTION,
        text,
        nxt,
        answer_type,
        choices,
        pairs,
        optional,
        minimum=bounds[0],
        maximum=bounds[1],
        past_only=bool(past_only),
    )


def _idv(raw: Mapping[str, Any], source: str, step_id: str, text: str, nxt: Any) -> Step:
    if nxt is None:
        raise ScriptFileError(source, "“next” (where a verified caller goes) is missing", step_id)
    methods = raw.get("methods", list(IDV_METHODS))
    if not isinstance(methods, list) or not methods:
        raise ScriptFileError(source, "“methods” must be a list of ID&V methods", step_id)
    for method in methods:
        if method not in IDV_METHODS:
            known = ", ".join(IDV_METHODS)
            raise ScriptFileError(source, f"unknown ID&V method “{method}” ({known})", step_id)
    mandatory = raw.get("mandatory", True)
    if not isinstance(mandatory, bool):
        raise ScriptFileError(source, "“mandatory” must be true or false", step_id)
    on_failed = raw.get("on_failed")
    if on_failed is None:
        raise ScriptFileError(source, "“on_failed” (where an unverified caller goes)", step_id)
    on_failed = _ident(on_failed, source, step_id, "on_failed")
    return Step(
        step_id,
        StepKind.IDV,
        text,
        nxt,
        mandatory=mandatory,
        methods=tuple(methods),
        on_failed=on_failed,
    )


def _check_graph(script: Script) -> None:
    """Every reference known; no cycle; every step reachable; a close at every end."""
    source = script.source
    ids: dict[str, Step] = {}
    for step in script.steps:
        if step.id in ids:
            raise ScriptFileError(source, "a second step with this id", step.id)
        ids[step.id] = step
    if script.start not in ids:
        raise ScriptFileError(source, f"“start” names an unknown step “{script.start}”")
    for step in script.steps:
        for target in step.successors():
            if target not in ids:
                raise ScriptFileError(source, f"leads to an unknown step “{target}”", step.id)
    if not any(step.kind is StepKind.CLOSE for step in script.steps):
        raise ScriptFileError(source, 'no closing step (kind = "close")')
    _check_cycles(script, ids)
    reached = _reachable(script.start, ids)
    for step in script.steps:
        if step.id not in reached:
            raise ScriptFileError(source, f"no path from “{script.start}” reaches it", step.id)


def _check_cycles(script: Script, ids: Mapping[str, Step]) -> None:
    """Depth-first, iterative (a long script must not hit Python's recursion limit)."""
    done: set[str] = set()
    for root in ids:
        if root in done:
            continue
        path: list[str] = [root]
        on_path = {root}
        stack = [iter(ids[root].successors())]
        while stack:
            child = next(stack[-1], None)
            if child is None:
                stack.pop()
                done.add(path[-1])
                on_path.discard(path.pop())
                continue
            if child in on_path:
                loop = " → ".join([*path[path.index(child) :], child])
                raise ScriptFileError(script.source, f"the steps loop: {loop}", child)
            if child not in done:
                path.append(child)
                on_path.add(child)
                stack.append(iter(ids[child].successors()))


def _reachable(start: str, ids: Mapping[str, Step]) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for target in ids[todo.pop()].successors():
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _ident(value: Any, source: str, step: str | None, key: str) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ScriptFileError(
            source, f"“{key}” must be an id (lower-case letters, digits, _): {value!r}", step
        )
    return value


def _text(value: Any, source: str, step: str | None, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ScriptFileError(source, f"“{key}” must be non-empty text", step)
    if len(value) > MAX_TEXT:
        raise ScriptFileError(source, f"“{key}” is longer than {MAX_TEXT} characters", step)
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise ScriptFileError(source, f"“{key}” contains control characters", step)
    return value.strip()
