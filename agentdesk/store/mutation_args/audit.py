"""Arguments of ``audit.add``: one audited action (a reveal, a supervisor's PBX action)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import Field

from agentdesk.store.mutation_args.base import IS_ID, Before, MutationArgs, Text


def _object(value: Any) -> Any:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("must be an object")
    return value


class AuditAdd(MutationArgs):
    """``audit.add``: record an audited action; append-only, a replayed ``id`` changes nothing.

    Who and when come from the applying side (its signed-in agent and its clock), never from
    the arguments: ``actor`` and ``at`` are accepted from older desktops and ignored.
    """

    mutation = "audit.add"

    id: Annotated[uuid.UUID, IS_ID]
    action: Annotated[str, Text(64, required=True)]
    entity_type: Annotated[str | None, Text(32)] = None
    entity_id: Annotated[str | None, Text(64)] = None
    reason: Annotated[str | None, Text(2000, multiline=True)] = None
    details: Annotated[dict[str, Any], Before(_object)] = Field(default_factory=dict)
    workstation: Annotated[str | None, Text(80)] = None
    # Kept only so older outbox rows still parse; never read.
    actor: Annotated[Any, Field(description="ignored: the applying side's agent is used")] = None
    at: Annotated[Any, Field(description="ignored: the applying side's clock is used")] = None
