"""Audit entries are append-only and written through the same path as everything else."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from agentdesk.models import AuditEntry
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


@mutator("audit.add", "audit_entry")
def add_audit_entry(
    session: Session, args: dict[str, Any], ctx: MutationContext
) -> MutationOutcome:
    entry_id = arg_uuid(args, "id")
    assert entry_id is not None
    if session.get(AuditEntry, entry_id) is not None:
        return MutationOutcome({"status": "exists", "id": str(entry_id)})
    details = args.get("details") or {}
    if not isinstance(details, dict):
        raise MutationRejected("details must be an object", "details")
    session.add(
        AuditEntry(
            id=entry_id,
            at=arg_datetime(args, "at", required=False) or ctx.now,
            actor=arg_text(args, "actor", max_len=64) or ctx.actor,
            action=arg_text(args, "action", max_len=64, required=True),
            entity_type=arg_text(args, "entity_type", max_len=32),
            entity_id=arg_text(args, "entity_id", max_len=64),
            reason=arg_text(args, "reason", max_len=2000),
            details=details,
            workstation=arg_text(args, "workstation", max_len=80),
        )
    )
    session.flush()
    return MutationOutcome(
        {"status": "created", "id": str(entry_id)}, [Changed("audit_entry", entry_id)]
    )
