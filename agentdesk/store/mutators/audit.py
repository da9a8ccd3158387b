"""Audit entries are append-only and written through the same path as everything else.

At the centre an entry goes through ``store.audit_log.append_audit``: the
actor is the session's agent and the time is the server's, whatever the
client put in ``actor`` or ``at``, and the entry joins the hash chain. A
desktop's cache keeps a provisional copy (no chain fields) until the
centre's row replaces it through the feed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from agentdesk.models import AuditEntry
from agentdesk.store.audit_log import append_audit
from agentdesk.store.mutations import (
    Changed,
    MutationContext,
    MutationOutcome,
    MutationRejected,
    arg_text,
    arg_uuid,
    mutator,
)


@mutator("audit.add", "audit_entry")
def add_audit_entry(
    session: Session, args: dict[str, Any], ctx: MutationContext
) -> MutationOutcome:
    """Record an audited action. args: ``id``, ``action``, ``entity_type``, ``entity_id``,
    ``reason``, ``details`` {…}, ``workstation``. ``actor`` and ``at`` are ignored: the
    applying side's signed-in agent and clock are used."""
    entry_id = arg_uuid(args, "id")
    assert entry_id is not None
    if session.get(AuditEntry, entry_id) is not None:
        return MutationOutcome({"status": "exists", "id": str(entry_id)})
    details = args.get("details") or {}
    if not isinstance(details, dict):
        raise MutationRejected("details must be an object", "details")
    fields: dict[str, Any] = {
        "action": arg_text(args, "action", max_len=64, required=True),
        "entity_type": arg_text(args, "entity_type", max_len=32),
        "entity_id": arg_text(args, "entity_id", max_len=64),
        "reason": arg_text(args, "reason", max_len=2000),
        "details": details,
        "workstation": arg_text(args, "workstation", max_len=80),
    }
    if ctx.side == "central":
        append_audit(session, actor=ctx.actor, entry_id=entry_id, **fields)
    else:
        session.add(AuditEntry(id=entry_id, at=ctx.now, actor=ctx.actor, **fields))
        session.flush()
    return MutationOutcome(
        {"status": "created", "id": str(entry_id)}, [Changed("audit_entry", entry_id)]
    )
