"""After-call work: pick a disposition, write notes, optionally open a follow-up ticket, save.

Saving writes exactly one ``interaction.add`` mutation through the
:class:`~agentdesk.store.writer.LocalWriter`: the row lands in the encrypted
local cache and its outbox entry in the same transaction, and the sync
engine carries it to the centre when it can. A central database that is
down therefore never loses a wrap-up. The interaction id is fixed when the
wrap-up opens, so a retried save cannot create a second row (the mutator is
insert-or-ignore by id).

The caller may be a customer the server matched whom this cache does not hold
yet: the interaction still commits locally at once (the centre checks the
reference), so nothing waits on a round trip. A missed offer (nobody answered
here) is filed too, as a call with the ``missed`` disposition, without the agent.
"""

from __future__ import annotations

import datetime as dt
import tomllib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agentdesk.ids import uuid7
from agentdesk.models import Channel, Direction, IdvResult
from agentdesk.paths import resource
from agentdesk.services.crm.phone import normalise
from agentdesk.services.desk.screen_pop import CallInfo
from agentdesk.services.scripts.engine import ScriptOutcome
from agentdesk.store.mutation_args.base import choose, rejecting
from agentdesk.store.mutation_args.interactions import MAX_NOTES, CallRecordArgs, InteractionAdd
from agentdesk.store.mutations import MutationRejected
from agentdesk.store.writer import LocalWriter, WriteResult


@dataclass(frozen=True)
class DispositionOption:
    code: str
    label: str
    category: str = "general"
    requires_notes: bool = False
    suggests_ticket: bool = False


def load_dispositions(path: Path | None = None) -> tuple[DispositionOption, ...]:
    """Wrap-up codes from ``resources/dispositions.toml``, in file order."""
    data = tomllib.loads((path or resource("dispositions.toml")).read_text(encoding="utf-8"))
    return tuple(
        DispositionOption(
            str(d["code"]),
            str(d["label"]),
            str(d.get("category", "general")),
            bool(d.get("requires_notes", False)),
            bool(d.get("suggests_ticket", False)),
        )
        for d in data.get("disposition", [])
    )


@dataclass(frozen=True)
class FollowUpRequest:
    """A ticket the agent asked for while wrapping up."""

    customer_id: uuid.UUID | None
    title: str
    description: str
    linkedid: str
    intent: str | None = None  # the IVR's intent, a hint for the ticket's reason


MISSED_DISPOSITION = "missed"


#: Creates a follow-up ticket and returns its id (provided by the ticket service).
TicketCreator = Callable[[FollowUpRequest], uuid.UUID]


@dataclass(frozen=True)
class WrapUpDraft:
    """What the agent entered."""

    disposition: str
    notes: str = ""
    follow_up_title: str | None = None
    next_state: str | None = None  # None: Available; else a Not Ready reason code
    # "Answered with this article" (issue 13): the article's id (text, so the draft stays
    # JSON in the cache) and the published version the agent read.
    article_id: str | None = None
    article_version: int | None = None
    article_title: str | None = None  # shown on the form; not filed


@dataclass(frozen=True)
class WrapUpContext:
    """The call being wrapped up and the ids it is filed under (fixed when ACW starts)."""

    interaction_id: uuid.UUID
    call: CallInfo
    agent_id: uuid.UUID | None
    customer_id: uuid.UUID | None
    acw_started: dt.datetime
    call_record_id: uuid.UUID = field(default_factory=uuid7)
    caller_e164: str | None = None  # the caller's number as normalised for the match


@dataclass(frozen=True)
class WrapUpSaved:
    interaction_id: uuid.UUID
    ticket_id: uuid.UUID | None
    write: WriteResult


class WrapUpError(ValueError):
    """The draft cannot be saved as it stands; ``field`` names what to fix."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


class WrapUpService:
    """Validates a wrap-up and writes it as one interaction on the customer's timeline."""

    def __init__(
        self,
        writer: LocalWriter,
        dispositions: tuple[DispositionOption, ...],
        *,
        ticket_creator: TicketCreator | None = None,
        extra_codes: tuple[str, ...] = (),
        pop_latency: Callable[[str], float | None] | None = None,
        workstation: str | None = None,
        region: str = "GB",
        scripts: Callable[[str], ScriptOutcome | None] | None = None,
    ) -> None:
        self._writer = writer
        self._scripts = scripts  # the agent script run on a call, by Linkedid (issue 13)
        self._region = region
        self._pop_latency = pop_latency
        self._workstation = workstation
        self._dispositions = {d.code: d for d in dispositions}
        self._order = dispositions
        self._ticket_creator = ticket_creator
        self._extra_codes = frozenset(extra_codes)
        self._tickets_made: dict[uuid.UUID, uuid.UUID] = {}  # system codes such as the ACW timeout

    @property
    def writer(self) -> LocalWriter:
        return self._writer

    @property
    def dispositions(self) -> tuple[DispositionOption, ...]:
        return self._order

    @property
    def can_open_tickets(self) -> bool:
        return self._ticket_creator is not None

    @staticmethod
    def begin(
        call: CallInfo,
        agent_id: uuid.UUID | None,
        customer_id: uuid.UUID | None,
        now: dt.datetime,
        caller_e164: str | None = None,
    ) -> WrapUpContext:
        return WrapUpContext(uuid7(), call, agent_id, customer_id, now, caller_e164=caller_e164)

    def record_missed(self, ctx: WrapUpContext) -> WriteResult:
        """File an offer nobody answered here: a call with the ``missed`` disposition.

        No form and no validation: the agent never talked to the caller. ``ctx`` fixes
        the ids, so a retried write cannot file it twice.
        """
        call = ctx.call
        reason = (call.end_reason or "not answered").replace("_", " ")
        draft = WrapUpDraft(MISSED_DISPOSITION)
        now = _utc(call.ended_at) if call.ended_at is not None else ctx.acw_started
        try:
            subject = f"Missed call: {reason}"
            args = self._interaction(ctx, draft, None, now, missed=True, subject=subject)
            return self._writer.write("interaction.add", args)
        except MutationRejected as exc:
            raise WrapUpError(str(exc), exc.field) from exc

    def validate(self, draft: WrapUpDraft) -> None:
        option = self._dispositions.get(draft.disposition)
        if option is None and draft.disposition not in self._extra_codes:
            raise WrapUpError("Pick a disposition.", "disposition")
        if option is not None and option.requires_notes and not draft.notes.strip():
            raise WrapUpError(f"“{option.label}” needs notes.", "notes")
        if len(draft.notes) > MAX_NOTES:
            raise WrapUpError(
                f"Notes are {len(draft.notes):,} characters; the limit is {MAX_NOTES:,}.", "notes"
            )
        if "\x00" in draft.notes:
            raise WrapUpError("Notes contain a NUL character.", "notes")
        if draft.follow_up_title is not None and not draft.follow_up_title.strip():
            raise WrapUpError("Give the follow-up ticket a title.", "follow_up")

    def save(self, ctx: WrapUpContext, draft: WrapUpDraft, now: dt.datetime) -> WrapUpSaved:
        """Write the interaction (and follow-up ticket); safe to call again after a failure."""
        self.validate(draft)
        call = ctx.call
        ticket_id = self._tickets_made.get(ctx.interaction_id)
        if ticket_id is None and draft.follow_up_title and self._ticket_creator is not None:
            ticket_id = self._ticket_creator(
                FollowUpRequest(
                    ctx.customer_id,
                    draft.follow_up_title.strip(),
                    draft.notes,
                    call.linkedid,
                    call.ivr.intent,
                )
            )
            # A retry after a failed interaction write must not open a second ticket.
            self._tickets_made[ctx.interaction_id] = ticket_id
        try:
            args = self._interaction(ctx, draft, ticket_id, now)
            write = self._writer.write("interaction.add", args)
        except MutationRejected as exc:
            raise WrapUpError(str(exc), exc.field) from exc
        return WrapUpSaved(ctx.interaction_id, ticket_id, write)

    def _interaction(
        self,
        ctx: WrapUpContext,
        draft: WrapUpDraft,
        ticket_id: uuid.UUID | None,
        now: dt.datetime,
        *,
        missed: bool = False,
        subject: str | None = None,
    ) -> InteractionAdd:
        """The call as one timeline entry, with its PBX timings as the call record."""
        call = ctx.call
        started = _utc(call.connected_at if call.connected_at is not None else call.offered_at)
        ended = _utc(call.ended_at) if call.ended_at is not None else now
        idv = call.ivr.idv_result
        script = None if missed or self._scripts is None else self._scripts(call.linkedid)
        agent_idv = script.agent_idv if script is not None else None
        with rejecting("interaction.add"):
            return InteractionAdd(
                id=ctx.interaction_id,
                customer_id=ctx.customer_id,
                channel=Channel.PHONE,
                direction=choose(Direction, call.direction, "direction"),
                started_at=started,
                ended_at=max(ended, started),
                agent_id=ctx.agent_id,
                queue=call.queue,
                linkedid=call.linkedid,
                caller_id=call.caller_raw[:64] or None,
                ivr_session_id=call.ivr.session_id,
                ivr_intent=call.ivr.intent,
                idv_result=choose(IdvResult, idv, "idv_result") if idv else None,
                idv_method=call.ivr.idv_method,
                idv_attempts=call.ivr.idv_attempts,
                disposition_code=draft.disposition,
                subject=(subject or self._subject(call, draft))[:300],
                notes=draft.notes or None,
                talk_seconds=round(call.talk_seconds or 0),
                hold_seconds=round(call.hold_seconds),
                wrapup_seconds=None
                if missed
                else max(round((now - ctx.acw_started).total_seconds()), 0),
                ticket_id=ticket_id,
                knowledge_article_id=uuid.UUID(draft.article_id) if draft.article_id else None,
                knowledge_version=draft.article_version,
                script_id=script.script_id if script else None,
                script_version=script.script_version if script else None,
                script_answers=script.answers_json() if script and script.answers else None,
                agent_idv_result=choose(IdvResult, agent_idv.result, "agent_idv_result")
                if agent_idv
                else None,
                agent_idv_method=agent_idv.method if agent_idv else None,
                call=self._call_record(ctx, now, missed=missed),
            )

    def _call_record(
        self, ctx: WrapUpContext, now: dt.datetime, *, missed: bool = False
    ) -> CallRecordArgs:
        """PBX timings for ``call_record`` (supervisor reports, pop latency per workstation)."""
        call = ctx.call
        latency = self._pop_latency(call.linkedid) if self._pop_latency else None
        e164 = ctx.caller_e164 or normalise(call.caller_raw, self._region).e164
        end_reason = MISSED_DISPOSITION if missed else (call.end_reason or "")[:24] or None
        return CallRecordArgs(
            id=ctx.call_record_id,
            uniqueid=call.uniqueid,
            caller_e164=e164[:20] if e164 else None,
            enqueued_at=_utc(call.queued_at) if call.queued_at is not None else None,
            offered_at=_utc(call.offered_at),
            answered_at=_utc(call.connected_at) if call.connected_at is not None else None,
            ended_at=_utc(call.ended_at) if call.ended_at is not None else None,
            wrapup_ended_at=None if missed else now,
            hold_seconds=round(call.hold_seconds),
            end_reason=end_reason,
            pop_latency_ms=None if latency is None else round(latency, 3),
            workstation=self._workstation,
        )

    def _subject(self, call: CallInfo, draft: WrapUpDraft) -> str:
        option = self._dispositions.get(draft.disposition)
        label = option.label if option else draft.disposition.replace("_", " ")
        intent = f" · {call.ivr.intent.replace('_', ' ')}" if call.ivr.intent else ""
        return f"Call: {label}{intent}"[:300]
