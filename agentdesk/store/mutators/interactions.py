"""Mutators for the customer timeline. Interactions are append-only: insert-or-ignore by id."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentdesk.models import CallRecord, Customer, Interaction, KnowledgeArticleVersion, Ticket
from agentdesk.store.mutation_args.interactions import MAX_NOTES as MAX_NOTES
from agentdesk.store.mutation_args.interactions import CallRecordArgs, InteractionAdd
from agentdesk.store.mutations import (
    Changed,
    MutationContext,
    MutationOutcome,
    MutationRejected,
    mutator,
)
from agentdesk.store.mutators.merged import survivor_of


@mutator("interaction.add", "interaction", InteractionAdd)
def add_interaction(
    session: Session, args: InteractionAdd, ctx: MutationContext
) -> MutationOutcome:
    """Append ``args`` to the customer's timeline, with its call record when it has one."""
    if session.get(Interaction, args.id) is not None:
        # Append-only and idempotent: a replay of the same interaction changes nothing.
        return MutationOutcome({"status": "exists", "id": str(args.id)})
    local_customer = args.customer_id
    if (
        ctx.side == "local"
        and args.call is not None
        and not _exists(session, Customer, local_customer)
    ):
        # A call whose caller the server matched but this cache does not hold yet: the
        # desktop files the wrap-up at once (no round trip, nothing held in memory); its
        # own copy waits for the customer, and the centre, which checks the reference,
        # files it under them. The queued arguments keep ``customer_id``; the centre's
        # copy replaces this row when the customer is cached.
        local_customer = None
    else:
        _require_existing(session, Customer, args.customer_id, "customer_id", "customer")
        if ctx.side == "central":  # filed against a duplicate merged meanwhile: the survivor
            local_customer = survivor_of(session, args.customer_id)
    _require_existing(session, Ticket, args.ticket_id, "ticket_id", "ticket")
    _require_cited_version(session, args)
    # Every argument but ``call`` is a column of the same name and type.
    row = Interaction(
        **args.model_dump(exclude={"call", "customer_id"}),
        customer_id=local_customer,
        created_at=ctx.now,
    )
    session.add(row)
    session.flush()
    if args.call is not None:
        _add_call_record(session, args.call, row)
    return MutationOutcome(
        {"status": "created", "id": str(args.id)}, [Changed("interaction", args.id)]
    )


def _exists(session: Session, model: type, ref: uuid.UUID | None) -> bool:
    return ref is None or session.get(model, ref) is not None


def _require_existing(
    session: Session, model: type, ref: uuid.UUID | None, key: str, what: str
) -> None:
    """Refuse a reference to a row this store does not hold, with a readable reason.

    Without this the foreign key fails as a database error on the desktop, and the
    centre would retry a mutation that can never succeed.
    """
    if ref is not None and session.get(model, ref) is None:
        raise MutationRejected(f"the {what} {ref} does not exist (deleted or never synced)", key)


def _require_cited_version(session: Session, args: InteractionAdd) -> None:
    """An "answered with this article" names an article and one of its published versions."""
    if args.knowledge_article_id is None:
        return
    cited = session.scalar(
        select(KnowledgeArticleVersion.id).where(
            KnowledgeArticleVersion.article_id == args.knowledge_article_id,
            KnowledgeArticleVersion.number == args.knowledge_version,
        )
    )
    if cited is None:
        raise MutationRejected(
            f"version {args.knowledge_version} of the cited article does not exist",
            "knowledge_article_id",
        )


def _add_call_record(session: Session, call: CallRecordArgs, interaction: Interaction) -> None:
    """The PBX timings of the call this interaction records, written with it atomically."""
    if session.get(CallRecord, call.id) is not None:
        return
    linkedid = interaction.linkedid or call.linkedid
    if linkedid is None:
        raise MutationRejected("linkedid is required", "linkedid")
    session.add(
        CallRecord(
            id=call.id,
            linkedid=linkedid,
            uniqueid=call.uniqueid,
            queue=interaction.queue,
            agent_id=interaction.agent_id,
            customer_id=interaction.customer_id,
            interaction_id=interaction.id,
            caller_id_raw=interaction.caller_id,
            caller_e164=call.caller_e164,
            enqueued_at=call.enqueued_at,
            offered_at=call.offered_at,
            answered_at=call.answered_at,
            hold_seconds=call.hold_seconds or 0,
            ended_at=call.ended_at,
            wrapup_ended_at=call.wrapup_ended_at,
            end_reason=call.end_reason,
            pop_latency_ms=call.pop_latency_ms,
            workstation=call.workstation,
        )
    )
    session.flush()
