"""Mutators for the customer timeline. Interactions are append-only: insert-or-ignore by id."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from agentdesk.models import (
    CallRecord,
    Channel,
    Customer,
    Direction,
    IdvResult,
    Interaction,
    Ticket,
)
from agentdesk.store.mutations import (
    Changed,
    MutationContext,
    MutationOutcome,
    MutationRejected,
    arg_datetime,
    arg_text,
    arg_uuid,
    mutator,
)

MAX_NOTES = 1_000_000  # characters; a 1 MB note is accepted, anything larger is refused


def _enum(enum_cls: Any, args: dict[str, Any], key: str, *, required: bool) -> Any:
    value = args.get(key)
    if value is None:
        if required:
            raise MutationRejected(f"{key} is required", key)
        return None
    try:
        return enum_cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum_cls)
        raise MutationRejected(f"{key} {value!r} is not one of: {allowed}", key) from None


def _opt_int(args: dict[str, Any], key: str) -> int | None:
    value = args.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MutationRejected(f"{key} must be a non-negative whole number", key)
    return value


@mutator("interaction.add", "interaction")
def add_interaction(
    session: Session, args: dict[str, Any], ctx: MutationContext
) -> MutationOutcome:
    interaction_id = arg_uuid(args, "id")
    assert interaction_id is not None
    if session.get(Interaction, interaction_id) is not None:
        # Append-only and idempotent: a replay of the same interaction changes nothing.
        return MutationOutcome({"status": "exists", "id": str(interaction_id)})
    _require_existing(session, Customer, args, "customer_id", "customer")
    _require_existing(session, Ticket, args, "ticket_id", "ticket")
    started = arg_datetime(args, "started_at")
    ended = arg_datetime(args, "ended_at", required=False)
    if started and ended and ended < started:
        raise MutationRejected("ended_at is before started_at", "ended_at")
    row = Interaction(
        id=interaction_id,
        customer_id=arg_uuid(args, "customer_id", required=False),
        channel=_enum(Channel, args, "channel", required=True),
        direction=_enum(Direction, args, "direction", required=True),
        started_at=started,
        ended_at=ended,
        agent_id=arg_uuid(args, "agent_id", required=False),
        queue=arg_text(args, "queue", max_len=80),
        linkedid=arg_text(args, "linkedid", max_len=64),
        caller_id=arg_text(args, "caller_id", max_len=64),
        ivr_session_id=arg_text(args, "ivr_session_id", max_len=64),
        ivr_intent=arg_text(args, "ivr_intent", max_len=64),
        idv_result=_enum(IdvResult, args, "idv_result", required=False),
        idv_method=arg_text(args, "idv_method", max_len=32),
        idv_attempts=_opt_int(args, "idv_attempts"),
        disposition_code=arg_text(args, "disposition_code", max_len=32),
        subject=arg_text(args, "subject", max_len=300),
        notes=arg_text(args, "notes", max_len=MAX_NOTES),
        talk_seconds=_opt_int(args, "talk_seconds"),
        hold_seconds=_opt_int(args, "hold_seconds"),
        wrapup_seconds=_opt_int(args, "wrapup_seconds"),
        ticket_id=arg_uuid(args, "ticket_id", required=False),
        created_at=ctx.now,
    )
    session.add(row)
    session.flush()
    call = args.get("call")
    if call is not None:
        _add_call_record(session, call, row)
    return MutationOutcome(
        {"status": "created", "id": str(interaction_id)}, [Changed("interaction", interaction_id)]
    )


def _require_existing(
    session: Session, model: type, args: dict[str, Any], key: str, what: str
) -> None:
    """Refuse a reference to a row this store does not hold, with a readable reason.

    Without this the foreign key fails as a database error on the desktop, and the
    centre would retry a mutation that can never succeed.
    """
    ref = arg_uuid(args, key, required=False)
    if ref is not None and session.get(model, ref) is None:
        raise MutationRejected(f"the {what} {ref} does not exist (deleted or never synced)", key)


def _add_call_record(session: Session, call: Any, interaction: Interaction) -> None:
    """The PBX timings of the call this interaction records, written with it atomically."""
    if not isinstance(call, dict):
        raise MutationRejected("call must be an object", "call")
    record_id = arg_uuid(call, "id")
    if session.get(CallRecord, record_id) is not None:
        return
    latency = call.get("pop_latency_ms")
    if latency is not None and (
        isinstance(latency, bool)
        or not isinstance(latency, int | float)
        or not 0 <= latency < 3_600_000
    ):
        raise MutationRejected("pop_latency_ms must be a duration in milliseconds", "call")
    session.add(
        CallRecord(
            id=record_id,
            linkedid=interaction.linkedid or arg_text(call, "linkedid", max_len=64, required=True),
            uniqueid=arg_text(call, "uniqueid", max_len=64),
            queue=interaction.queue,
            agent_id=interaction.agent_id,
            customer_id=interaction.customer_id,
            interaction_id=interaction.id,
            caller_id_raw=interaction.caller_id,
            caller_e164=arg_text(call, "caller_e164", max_len=20),
            enqueued_at=arg_datetime(call, "enqueued_at", required=False),
            offered_at=arg_datetime(call, "offered_at", required=False),
            answered_at=arg_datetime(call, "answered_at", required=False),
            hold_seconds=_opt_int(call, "hold_seconds") or 0,
            ended_at=arg_datetime(call, "ended_at", required=False),
            wrapup_ended_at=arg_datetime(call, "wrapup_ended_at", required=False),
            end_reason=arg_text(call, "end_reason", max_len=24),
            pop_latency_ms=None if latency is None else float(latency),
            workstation=arg_text(call, "workstation", max_len=80),
        )
    )
    session.flush()
