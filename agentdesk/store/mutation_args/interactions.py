"""Arguments of ``interaction.add``: one contact on the customer's timeline, with its call."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Annotated, Any, Self

from pydantic import model_validator

from agentdesk.models import Channel, Direction, IdvResult
from agentdesk.store.mutation_args.base import (
    IS_ID,
    IS_TIMESTAMP,
    ArgsPart,
    Before,
    Choice,
    MutationArgs,
    Text,
    WholeNumber,
    reject,
)

MAX_NOTES = 1_000_000  # characters; a 1 MB note is accepted, anything larger is refused
MAX_POP_LATENCY_MS = 3_600_000
MAX_SCRIPT_ANSWERS = 400_000  # characters of JSON (200 answers of up to 1,000 characters)

Id = Annotated[uuid.UUID, IS_ID]
OptionalId = Annotated[uuid.UUID | None, IS_ID]
Timestamp = Annotated[dt.datetime, IS_TIMESTAMP]
OptionalTimestamp = Annotated[dt.datetime | None, IS_TIMESTAMP]
Count = Annotated[int | None, WholeNumber()]


def _check_latency(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a duration in milliseconds")
    if not 0 <= value < MAX_POP_LATENCY_MS:
        raise ValueError("must be a duration in milliseconds")
    return float(value)


def _check_answers(value: Any) -> Any:
    """A script's answers: JSON text of at most 200 ``{step, question, answer}`` objects."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_SCRIPT_ANSWERS:
        raise ValueError(f"must be JSON text of at most {MAX_SCRIPT_ANSWERS:,} characters")
    try:
        rows = json.loads(value)
    except ValueError:
        raise ValueError("is not valid JSON") from None
    if not isinstance(rows, list) or len(rows) > 200:
        raise ValueError("must be a list of at most 200 answers")
    for row in rows:
        if not isinstance(row, dict) or set(row) != {"step", "question", "answer"}:
            raise ValueError("each answer has exactly step, question and answer")
        if not all(isinstance(v, str) and v for v in row.values()):
            raise ValueError("each answer's step, question and answer are non-empty text")
    return value


class CallRecordArgs(ArgsPart):
    """The PBX timings of the call an interaction records (``call_record``), filed with it.

    ``linkedid`` is only needed when the interaction itself carries none.
    """

    id: Id
    linkedid: Annotated[str | None, Text(64)] = None
    uniqueid: Annotated[str | None, Text(64)] = None
    caller_e164: Annotated[str | None, Text(20)] = None
    enqueued_at: OptionalTimestamp = None
    offered_at: OptionalTimestamp = None
    answered_at: OptionalTimestamp = None
    hold_seconds: Count = None
    ended_at: OptionalTimestamp = None
    wrapup_ended_at: OptionalTimestamp = None
    end_reason: Annotated[str | None, Text(24)] = None
    pop_latency_ms: Annotated[float | None, Before(_check_latency)] = None
    workstation: Annotated[str | None, Text(80)] = None


class InteractionAdd(MutationArgs):
    """``interaction.add``: append one contact (a call, a branch visit, a note) to a timeline.

    Append-only and idempotent by ``id``. Built by the wrap-up (a call, with ``call``) and the
    timeline (a logged contact or an internal note).
    """

    mutation = "interaction.add"

    id: Id
    customer_id: OptionalId = None
    channel: Annotated[Channel, Choice(Channel)]
    direction: Annotated[Direction, Choice(Direction)]
    started_at: Timestamp
    ended_at: OptionalTimestamp = None
    agent_id: OptionalId = None
    queue: Annotated[str | None, Text(80)] = None
    linkedid: Annotated[str | None, Text(64)] = None
    caller_id: Annotated[str | None, Text(64)] = None
    ivr_session_id: Annotated[str | None, Text(64)] = None
    ivr_intent: Annotated[str | None, Text(64)] = None
    idv_result: Annotated[IdvResult | None, Choice(IdvResult)] = None
    idv_method: Annotated[str | None, Text(32)] = None
    idv_attempts: Count = None
    disposition_code: Annotated[str | None, Text(32)] = None
    subject: Annotated[str | None, Text(300)] = None
    notes: Annotated[str | None, Text(MAX_NOTES, multiline=True)] = None
    talk_seconds: Count = None
    hold_seconds: Count = None
    wrapup_seconds: Count = None
    ticket_id: OptionalId = None
    # "Answered with this article": the article and the published version the agent read.
    knowledge_article_id: OptionalId = None
    knowledge_version: Annotated[int | None, WholeNumber(1, 1_000_000)] = None
    # The agent script run on the call (issue 13): its version, the answers on the path
    # taken (JSON text), and the agent's own ID&V when the IVR's had not passed.
    script_id: Annotated[str | None, Text(64)] = None
    script_version: Annotated[int | None, WholeNumber(1, 1_000_000)] = None
    script_answers: Annotated[str | None, Before(_check_answers)] = None
    agent_idv_result: Annotated[IdvResult | None, Choice(IdvResult)] = None
    agent_idv_method: Annotated[str | None, Text(32)] = None
    call: CallRecordArgs | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.ended_at is not None and self.ended_at < self.started_at:
            raise reject("ended_at is before started_at", "ended_at")
        if (self.knowledge_article_id is None) != (self.knowledge_version is None):
            raise reject("an article is cited with its version", "knowledge_version")
        if (self.script_id is None) != (self.script_version is None):
            raise reject("a script is filed with its version", "script_version")
        if self.script_answers is not None and self.script_id is None:
            raise reject("script answers need the script they came from", "script_id")
        if (self.agent_idv_result is None) != (self.agent_idv_method is None):
            raise reject("the agent's ID&V is filed with its method", "agent_idv_method")
        return self
