"""What an agent script is: steps, answer types and the catalogue of scripts by IVR intent.

Plain frozen data, loaded once at start by :mod:`agentdesk.services.scripts.loader`
and read by the engine; no Qt, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class StepKind(StrEnum):
    SAY = "say"  # something the agent says (greeting, explanation)
    IDV = "idv"  # identity and verification: the IVR's result, or the agent's own check
    QUESTION = "question"  # a question with a typed answer
    CLOSE = "close"  # the closing words; the end of the script


class AnswerType(StrEnum):
    TEXT = "text"
    YES_NO = "yes_no"
    CHOICE = "choice"
    NUMBER = "number"
    DATE = "date"


#: How the agent may verify a caller when the IVR did not (labels for the screen).
IDV_METHODS: dict[str, str] = {
    "security_questions": "Security questions",
    "date_of_birth_postcode": "Date of birth and postcode",
    "one_time_code": "One-time code by SMS",
    "card_details": "Last four digits of the card and expiry",
}

#: What the agent may record after verifying (the IVR's other values, partial and
#: not attempted, are what sends the agent to verify in the first place).
AGENT_IDV_RESULTS: dict[str, str] = {"passed": "Verified", "failed": "Not verified"}


@dataclass(frozen=True)
class Step:
    """One screen of a script. ``branch`` maps an answer value to the step it leads to;
    answers not in it (and steps without answers) go to ``next``."""

    id: str
    kind: StepKind
    text: str
    next: str | None = None
    answer_type: AnswerType | None = None
    choices: tuple[tuple[str, str], ...] = ()  # (value, label) in file order
    branch: tuple[tuple[str, str], ...] = ()  # (answer value, step id)
    optional: bool = False  # a question that may be left unanswered
    mandatory: bool = True  # an ID&V step that cannot be passed unverified
    methods: tuple[str, ...] = ()  # ID&V methods offered to the agent
    on_failed: str | None = None  # where a failed agent ID&V leads
    minimum: float | None = None  # number bounds
    maximum: float | None = None
    past_only: bool = False  # a date that cannot be in the future

    def successors(self) -> tuple[str, ...]:
        """Every step this one can lead to (for validation and the path)."""
        found = [target for _value, target in self.branch]
        for target in (self.next, self.on_failed):
            if target is not None:
                found.append(target)
        return tuple(dict.fromkeys(found))

    def label_of(self, value: str) -> str:
        return dict(self.choices).get(value, value)


@dataclass(frozen=True)
class Script:
    """A guided call flow for one or more IVR intents, at one version."""

    id: str
    version: int
    title: str
    intents: tuple[str, ...]
    start: str
    steps: tuple[Step, ...]
    source: str  # the file it came from (for messages)
    fallback: bool = False  # used when no script claims the call's intent

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


@dataclass(frozen=True)
class ScriptCatalogue:
    """Every script, and which one a call's IVR intent starts."""

    scripts: tuple[Script, ...]

    def by_id(self, script_id: str) -> Script | None:
        return next((s for s in self.scripts if s.id == script_id), None)

    def for_intent(self, intent: str | None) -> Script | None:
        """The script claiming ``intent``, else the fallback one (None if there is none)."""
        if intent:
            for script in self.scripts:
                if intent in script.intents:
                    return script
        return next((s for s in self.scripts if s.fallback), None)
