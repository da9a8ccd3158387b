"""Arguments of ``ticket_alert.read``: the recipient has seen an escalation alert."""

from __future__ import annotations

import uuid
from typing import Annotated

from agentdesk.store.mutation_args.base import IS_ID, MutationArgs


class TicketAlertRead(MutationArgs):
    """``ticket_alert.read``: mark one escalation alert addressed to you as read.

    Marking an alert that is already read changes nothing. At the centre the read is
    written to the audit log with the alert's ticket and level.
    """

    mutation = "ticket_alert.read"

    id: Annotated[uuid.UUID, IS_ID]
