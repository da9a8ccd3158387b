"""Writes that arrive for a customer merged away meanwhile land on the customer it became.

A desktop that was offline (or had not pulled yet) may file a wrap-up or open a ticket
against a duplicate after a supervisor merged it. At the centre the reference follows the
tombstone's ``merged_into`` (services/crm/merge.py keeps chains one hop long; a few hops
are followed anyway), so nothing the agent wrote is refused or lost on a tombstone.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from agentdesk.models import Customer

_MAX_HOPS = 8


def survivor_of(session: Session, customer_id: uuid.UUID | None) -> uuid.UUID | None:
    """``customer_id``, or the customer it was merged into (None stays None)."""
    current = customer_id
    for _ in range(_MAX_HOPS):
        row = None if current is None else session.get(Customer, current)
        if row is None or row.merged_into is None:
            return current
        current = row.merged_into
    return current
