"""The central audit log: append-only entries written with server time and a server-given actor.

Every audited action on the server goes through ``append_audit``, inside the
caller's transaction, so the entry commits or rolls back with the work it
records.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from agentdesk.ids import uuid7
from agentdesk.models import AuditEntry, utcnow


def append_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str | None = None,
    entity_id: str | uuid.UUID | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
    workstation: str | None = None,
) -> AuditEntry:
    """Add one audit entry in ``session``'s transaction and return it (flushed)."""
    entry = AuditEntry(
        id=uuid7(),
        at=utcnow(),
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        reason=reason,
        details=dict(details or {}),
        workstation=workstation,
    )
    session.add(entry)
    session.flush()
    return entry
