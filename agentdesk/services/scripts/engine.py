"""One call's run through a script: the current step, the answers, the path, Back and Next.

Immutable: every move returns a new :class:`ScriptRun`, so the wrap-up (on the
local worker) can read the latest run while the agent moves on, without locks.
Answers typed on a step the agent went back past are kept (returning shows them
again) but only the answers on the path taken are filed.

The ID&V rule: a mandatory ID&V step lets the agent past only when the IVR's
result is ``passed`` or the agent has verified the caller here (method and
result); a failed check leads to the step's ``on_failed`` branch.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field, replace

from agentdesk.services.scripts.model import (
    AGENT_IDV_RESULTS,
    IDV_METHODS,
    AnswerType,
    Script,
    Step,
    StepKind,
)

MAX_ANSWER = 1_000  # characters in a text answer


class ScriptMoveError(ValueError):
    """The agent cannot move on (or the answer is not valid); the text says what to do."""


@dataclass(frozen=True)
class Answer:
    """One answered question: the canonical value (``yes``, a choice code, ISO date) and
    the words shown to the agent."""

    step: str
    question: str
    value: str
    shown: str


@dataclass(frozen=True)
class IdvCheck:
    """An identity check: by the IVR (from the call) or by the agent in the script."""

    result: str  # passed | failed | partial | not_attempted
    method: str | None = None

    @property
    def passed(self) -> bool:
        return self.result == "passed"


@dataclass(frozen=True)
class ScriptOutcome:
    """What the wrap-up files on the interaction."""

    script_id: str
    script_version: int
    answers: tuple[Answer, ...]
    agent_idv: IdvCheck | None
    completed: bool

    def answers_json(self) -> str:
        """The answers as the JSON text the interaction keeps."""
        rows = [{"step": a.step, "question": a.question, "answer": a.value} for a in self.answers]
        return json.dumps(rows, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class ScriptRun:
    """The state of one script on one call (see the module docstring)."""

    script: Script
    ivr_idv: IdvCheck
    agent_idv: IdvCheck | None = None
    current: str = ""
    history: tuple[str, ...] = ()  # the steps before ``current``, in order
    answers: tuple[tuple[str, Answer], ...] = field(default=())

    @classmethod
    def begin(
        cls, script: Script, ivr_idv: IdvCheck, agent_idv: IdvCheck | None = None
    ) -> ScriptRun:
        return cls(script, ivr_idv, agent_idv, script.start)

    # ------------------------------------------------------------------ reading
    @property
    def step(self) -> Step:
        return self.script.step(self.current)

    @property
    def path(self) -> tuple[Step, ...]:
        return tuple(self.script.step(s) for s in (*self.history, self.current))

    @property
    def finished(self) -> bool:
        return self.step.kind is StepKind.CLOSE

    @property
    def verified(self) -> bool:
        """The caller's identity is confirmed, by the IVR or by the agent."""
        return self.ivr_idv.passed or (self.agent_idv is not None and self.agent_idv.passed)

    def answer_to(self, step_id: str) -> Answer | None:
        return dict(self.answers).get(step_id)

    def outcome(self) -> ScriptOutcome:
        on_path = set(self.history) | {self.current}
        kept = tuple(a for s, a in self.answers if s in on_path)
        order = {s: n for n, s in enumerate((*self.history, self.current))}
        kept = tuple(sorted(kept, key=lambda a: order[a.step]))
        return ScriptOutcome(
            self.script.id, self.script.version, kept, self.agent_idv, self.finished
        )

    # ------------------------------------------------------------------ moves
    def answer(self, raw: str, today: dt.date | None = None) -> ScriptRun:
        """Record the answer to the current question (checked against its type)."""
        step = self.step
        if step.kind is not StepKind.QUESTION or step.answer_type is None:
            raise ScriptMoveError("This step asks no question.")
        value, shown = parse_answer(step, raw, today or dt.date.today())
        rest = tuple((s, a) for s, a in self.answers if s != step.id)
        if not value:  # cleared: an optional question left unanswered
            return replace(self, answers=rest)
        return replace(self, answers=(*rest, (step.id, Answer(step.id, step.text, value, shown))))

    def verify(self, method: str, result: str) -> ScriptRun:
        """The agent's own ID&V on the current step (kept for the whole call)."""
        step = self.step
        if step.kind is not StepKind.IDV:
            raise ScriptMoveError("Identity is checked on the ID&V step.")
        if method not in step.methods:
            raise ScriptMoveError("Pick how you verified the caller.")
        if result not in AGENT_IDV_RESULTS:
            raise ScriptMoveError("Record whether the caller passed or failed the check.")
        return replace(self, agent_idv=IdvCheck(result, method))

    def next(self) -> ScriptRun:
        """Move to the step the current one leads to, or say why not."""
        step = self.step
        target = self._target(step)
        return replace(self, history=(*self.history, self.current), current=target)

    def back(self) -> ScriptRun:
        if not self.history:
            raise ScriptMoveError("This is the first step.")
        return replace(self, history=self.history[:-1], current=self.history[-1])

    def _target(self, step: Step) -> str:
        if step.kind is StepKind.CLOSE:
            raise ScriptMoveError("This is the closing step: the script is done.")
        if step.kind is StepKind.IDV:
            return self._idv_target(step)
        if step.kind is StepKind.QUESTION:
            answer = self.answer_to(step.id)
            if answer is None and not step.optional:
                raise ScriptMoveError("Answer the question to go on.")
            branch = dict(step.branch)
            if answer is not None and answer.value in branch:
                return branch[answer.value]
        assert step.next is not None  # the loader guarantees it
        return step.next

    def _idv_target(self, step: Step) -> str:
        assert step.next is not None and step.on_failed is not None
        if self.verified:
            return step.next
        if self.agent_idv is not None:  # the agent checked and the caller failed
            return step.on_failed
        if step.mandatory:
            raise ScriptMoveError(
                f"The caller is not verified — IVR: {idv_words(self.ivr_idv)}. Verify them "
                "here: pick the method, record the result, then go on."
            )
        return step.next


_IVR_METHODS = {"pin": "PIN", "dob": "date of birth"}  # the IVR's own method codes


def idv_words(check: IdvCheck) -> str:
    """``passed (PIN)`` / ``not attempted`` — a check in words for the screen."""
    result = {
        "passed": "passed",
        "failed": "failed",
        "partial": "partly passed",
        "not_attempted": "not attempted",
    }.get(check.result, check.result.replace("_", " "))
    if check.method:
        method = _IVR_METHODS.get(check.method) or IDV_METHODS.get(
            check.method, check.method.replace("_", " ")
        )
        return f"{result} ({method})"
    return result


def parse_answer(step: Step, raw: str, today: dt.date) -> tuple[str, str]:
    """``(value, shown)`` for ``raw`` typed or picked on ``step``; ``("", "")`` is no answer."""
    text = raw.strip()
    if not text:
        if step.optional:
            return "", ""
        raise ScriptMoveError("Answer the question to go on.")
    kind = step.answer_type
    if kind is AnswerType.TEXT:
        if len(text) > MAX_ANSWER:
            raise ScriptMoveError(
                f"The answer is {len(text):,} characters; the limit is {MAX_ANSWER:,}."
            )
        if any(ord(c) < 32 and c not in "\n\t" for c in text):
            raise ScriptMoveError("The answer contains control characters.")
        return text, text
    if kind in (AnswerType.YES_NO, AnswerType.CHOICE):
        if text not in dict(step.choices):
            raise ScriptMoveError("Pick one of the answers offered.")
        return text, step.label_of(text)
    if kind is AnswerType.NUMBER:
        return _number(step, text)
    return _date(step, text, today)


def _number(step: Step, text: str) -> tuple[str, str]:
    try:
        number = float(text.replace(",", ""))
    except ValueError:
        raise ScriptMoveError(f"“{text[:40]}” is not a number.") from None
    if not math.isfinite(number):
        raise ScriptMoveError(f"“{text[:40]}” is not a number.")
    if step.minimum is not None and number < step.minimum:
        raise ScriptMoveError(f"The number must be {step.minimum:g} or more.")
    if step.maximum is not None and number > step.maximum:
        raise ScriptMoveError(f"The number must be {step.maximum:g} or less.")
    value = f"{number:g}" if number != int(number) or abs(number) >= 1e15 else str(int(number))
    return value, value


def _date(step: Step, text: str, today: dt.date) -> tuple[str, str]:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ScriptMoveError(f"“{text[:40]}” is not a date (year-month-day).") from None
    if step.past_only and day > today:
        raise ScriptMoveError("The date cannot be in the future.")
    return day.isoformat(), day.strftime("%-d %B %Y")
