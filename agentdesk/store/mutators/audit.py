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
from agentdesk.store.mutation_args.audit import AuditAdd
from agentdesk.store.mutations import Changed, MutationContext, MutationOutcome, mutator


@mutator("audit.add", "audit_entry", AuditAdd)
def add_audit_entry(session: Session, args: AuditAdd, ctx: MutationContext) -> MutationOutcome:
    """Record an audited action (``AuditAdd``) as the applying side's agent, at its time."""
    if session.get(AuditEntry, args.id) is not None:
        return MutationOutcome({"status": "exists", "id": str(args.id)})
    fields: dict[str, Any] = {
        "action": args.action,
        "entity_type": args.entity_type,
        "entity_id": args.entity_id,
        "reason": args.reason,
        "details": dict(args.details),
        "workstation": args.workstation,
    }
    if ctx.side == "central":
        append_audit(session, actor=ctx.actor, entry_id=args.id, **fields)
    else:
        session.add(AuditEntry(id=args.id, at=ctx.now, actor=ctx.actor, **fields))
        session.flush()
    return MutationOutcome(
        {"status": "created", "id": str(args.id)}, [Changed("audit_entry", args.id)]
    )
