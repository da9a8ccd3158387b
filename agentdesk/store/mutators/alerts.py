"""Escalation alerts: the recipient marks one read (the only change an alert ever takes).

Alerts are written by the server's escalation handler; a desk or the supervisor's
list acknowledges one through ``ticket_alert.read``. Who may do so is the server's
check (``server/authz.py``: the recipient only); at the centre the read joins the
audit chain in the same transaction, with the server's actor and time.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from agentdesk.models import TicketAlert
from agentdesk.store.audit_log import append_audit
from agentdesk.store.mutation_args.alerts import TicketAlertRead
from agentdesk.store.mutations import (
    Changed,
    MutationContext,
    MutationOutcome,
    MutationRejected,
    mutator,
)

AUDIT_ACTION = "ticket_alert.read"


@mutator("ticket_alert.read", "ticket_alert", TicketAlertRead)
def read_alert(session: Session, args: TicketAlertRead, ctx: MutationContext) -> MutationOutcome:
    """Set ``read_at`` on an unread alert; audited at the centre."""
    row = session.get(TicketAlert, args.id, with_for_update=True)
    if row is None:
        raise MutationRejected("no such alert", "id")
    if row.read_at is not None:
        return MutationOutcome({"status": "unchanged", "id": str(args.id)})
    row.read_at = ctx.now
    if ctx.side == "central":
        append_audit(
            session,
            actor=ctx.actor,
            action=AUDIT_ACTION,
            entity_type="ticket_alert",
            entity_id=args.id,
            details={"ticket_id": str(row.ticket_id), "level": row.level},
        )
    session.flush()
    return MutationOutcome(
        {"status": "read", "id": str(args.id)}, [Changed("ticket_alert", args.id)]
    )
