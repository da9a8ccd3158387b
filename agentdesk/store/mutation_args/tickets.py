"""Arguments of the ``ticket.*`` mutations: create, update, reopen, comment."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import model_validator

from agentdesk.models import Severity, TicketPriority, TicketStatus
from agentdesk.store.mutation_args.base import (
    IS_FLAG,
    IS_ID,
    IS_TIMESTAMP,
    ArgsPart,
    Choice,
    MutationArgs,
    Text,
    WholeNumber,
    reject,
)

MAX_COMMENT = 100_000  # characters, for a comment and a ticket's description
MAX_ESCALATION = 9

Id = Annotated[uuid.UUID, IS_ID]
OptionalId = Annotated[uuid.UUID | None, IS_ID]
OptionalTimestamp = Annotated[dt.datetime | None, IS_TIMESTAMP]
# The reason is a code from the SLA policy ("card_lost"), so one line.
Reason = Annotated[str, Text(64, required=True)]
Title = Annotated[str, Text(300, required=True)]
Description = Annotated[str | None, Text(MAX_COMMENT, multiline=True)]
Escalation = Annotated[int, WholeNumber(0, MAX_ESCALATION)]
Status = Annotated[TicketStatus, Choice(TicketStatus)]
Priority = Annotated[TicketPriority, Choice(TicketPriority)]
Level = Annotated[Severity, Choice(Severity)]
# A routing decision for the history: rule and team names only, never customer data.
RoutedBy = Annotated[str | None, Text(200)]


class TeamAssignment(StrEnum):
    """How the centre hands a routed ticket to a member of its team."""

    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"


Assign = Annotated[TeamAssignment | None, Choice(TeamAssignment)]


class TicketCreate(MutationArgs):
    """``ticket.create``: open a ticket; replaying an existing ``id`` changes nothing.

    ``number`` is derived from the UUIDv7 ``id`` when absent. The due times are computed
    by the caller from the SLA policy. A ticket starts as ``new`` or ``open``.
    ``routed_by`` names the routing rule that chose the team (kept in the history);
    ``assign`` asks the centre to pick a member of the team when no assignee is given.
    """

    mutation = "ticket.create"

    id: Id
    number: Annotated[str | None, Text(26)] = None
    reason: Reason
    title: Title
    description: Description = None
    customer_id: OptionalId = None
    priority: Priority = TicketPriority.NORMAL
    severity: Level = Severity.MINOR
    status: Status = TicketStatus.NEW
    team_id: OptionalId = None
    assignee_id: OptionalId = None
    created_by: OptionalId = None
    first_response_due: OptionalTimestamp = None
    next_update_due: OptionalTimestamp = None
    resolution_due: OptionalTimestamp = None
    escalation_level: Escalation = 0
    routed_by: RoutedBy = None
    assign: Assign = None

    @model_validator(mode="after")
    def _starts_new_or_open(self) -> Self:
        if self.status not in (TicketStatus.NEW, TicketStatus.OPEN):
            raise reject("a ticket starts as new or open", "status")
        return self


class TicketChanges(ArgsPart):
    """The fields a ``ticket.update`` changes; only the keys given are changes.

    A given ``None`` clears the field (an unassigned ticket has ``assignee_id`` None);
    ``title`` and ``reason`` cannot be cleared.
    """

    # The check wraps the optional type so an error names the field, not a union branch.
    status: Annotated[TicketStatus | None, Choice(TicketStatus)] = None
    priority: Annotated[TicketPriority | None, Choice(TicketPriority)] = None
    severity: Annotated[Severity | None, Choice(Severity)] = None
    team_id: OptionalId = None
    assignee_id: OptionalId = None
    title: Annotated[str | None, Text(300, required=True)] = None
    description: Description = None
    reason: Annotated[str | None, Text(64, required=True)] = None
    first_response_due: OptionalTimestamp = None
    next_update_due: OptionalTimestamp = None
    resolution_due: OptionalTimestamp = None
    first_responded_at: OptionalTimestamp = None
    # When the clocks stopped (the agent's instant, not the push's); set with the status.
    sla_paused_at: OptionalTimestamp = None
    escalation_level: Annotated[int | None, WholeNumber(0, MAX_ESCALATION)] = None


class TicketUpdate(MutationArgs):
    """``ticket.update``: change some fields; status only moves forward (reopen goes back).

    ``base_version`` is the version the agent loaded, informational for the centre.
    ``routed_by``/``assign``: as for ``ticket.create``, when a reason change routed it again.
    """

    mutation = "ticket.update"

    id: Id
    changes: TicketChanges
    base_version: Annotated[int | None, WholeNumber()] = None
    routed_by: RoutedBy = None
    assign: Assign = None

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        if not self.changes.model_fields_set:
            raise reject("changes must be a non-empty object", "changes")
        return self

    def changed(self) -> dict[str, Any]:
        """The given changes, field by field, in a stable order."""
        return {name: getattr(self.changes, name) for name in sorted(self.changes.model_fields_set)}


class TicketReopen(MutationArgs):
    """``ticket.reopen``: move a pending, resolved or closed ticket back to open.

    ``reason`` is free text kept in the ticket's history. The due times, when given, are
    the SLA clocks resumed (what they still owed when paused, from now on).
    """

    mutation = "ticket.reopen"

    id: Id
    reason: Annotated[str | None, Text(2000, multiline=True)] = None
    first_response_due: OptionalTimestamp = None
    next_update_due: OptionalTimestamp = None
    resolution_due: OptionalTimestamp = None


class TicketCommentAdd(MutationArgs):
    """``ticket.comment``: append a comment; append-only, a replayed ``id`` changes nothing."""

    mutation = "ticket.comment"

    id: Id
    ticket_id: Id
    body: Annotated[str, Text(MAX_COMMENT, multiline=True, required=True)]
    internal: Annotated[bool, IS_FLAG] = True
    author_id: OptionalId = None
