"""Frozen ticket views, the status workflow and the conflict value for concurrent edits."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from agentdesk.models import TicketStatus

OPEN_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)
# Status moves an agent may make from each state; moving back to "open" is a reopen.
WORKFLOW: dict[str, tuple[str, ...]] = {
    "new": ("open", "pending", "resolved"),
    "open": ("pending", "resolved"),
    "pending": ("open", "resolved"),
    "resolved": ("closed", "open"),
    "closed": ("open",),
}
EDITABLE = (
    "status",
    "priority",
    "severity",
    "team_id",
    "assignee_id",
    "title",
    "description",
    "reason",
)


@dataclass(frozen=True)
class TicketRow:
    """One ticket as lists show it (and the snapshot an edit is checked against)."""

    id: uuid.UUID
    number: str
    customer_id: uuid.UUID | None
    customer_name: str
    reason: str
    reason_label: str
    title: str
    description: str
    priority: str
    severity: str
    status: str
    team_id: uuid.UUID | None
    team: str
    assignee_id: uuid.UUID | None
    assignee: str
    created_at: dt.datetime
    updated_at: dt.datetime
    first_response_due: dt.datetime | None
    resolution_due: dt.datetime | None
    first_responded_at: dt.datetime | None
    version: int
    next_update_due: dt.datetime | None = None
    sla_paused_at: dt.datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.status in {s.value for s in OPEN_STATUSES}

    @property
    def sla_due(self) -> dt.datetime | None:
        """The clock that matters now: first response until answered, then the earlier of
        the next update and the resolution. None while paused (waiting for the customer)."""
        if not self.is_open or self.sla_paused_at is not None:
            return None
        if self.first_responded_at is None and self.first_response_due is not None:
            return self.first_response_due
        running = [d for d in (self.next_update_due, self.resolution_due) if d is not None]
        return min(running) if running else None

    def is_overdue(self, now: dt.datetime) -> bool:
        due = self.sla_due
        return due is not None and now >= due

    def value(self, field: str) -> object:
        return getattr(self, field)


@dataclass(frozen=True)
class CommentView:
    """An append-only comment."""

    id: uuid.UUID
    author: str
    body: str
    internal: bool
    created_at: dt.datetime


@dataclass(frozen=True)
class ChangeView:
    """One entry of a ticket's full change history."""

    field: str
    old_value: str | None
    new_value: str | None
    changed_by: str  # an agent's login or a system job's code ("seed", "routing")
    changed_at: dt.datetime
    by_name: str = ""  # who, in words: the agent's name or "System (…)" (for the History tab)


@dataclass(frozen=True)
class LinkedInteraction:
    """A contact recorded against the ticket."""

    id: uuid.UUID
    at: dt.datetime
    channel: str
    summary: str


@dataclass(frozen=True)
class TicketDetail:
    """The detail pane: the row plus comments, history and linked interactions."""

    row: TicketRow
    comments: tuple[CommentView, ...]
    history: tuple[ChangeView, ...]
    interactions: tuple[LinkedInteraction, ...]


@dataclass(frozen=True)
class FieldConflict:
    """A field both agents changed: what it was, what they saved, what you typed."""

    field: str
    base: object
    theirs: object
    yours: object


class TicketConflict(RuntimeError):
    """Someone saved the ticket since it was loaded and touched the same fields.

    Nothing was written. ``current`` is the ticket as it is now; the agent can
    re-apply their values on top of it (``force``) or discard them.
    """

    def __init__(self, fields: tuple[FieldConflict, ...], current: TicketRow) -> None:
        names = ", ".join(f.field for f in fields)
        super().__init__(f"ticket {current.number} was changed by someone else ({names})")
        self.fields = fields
        self.current = current


class TicketValidationError(ValueError):
    """Input the agent must correct; ``field`` names the control."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
