"""Arguments of the ``reminder.*`` mutations: set (or move) a follow-up, and close it."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated, Self

from pydantic import model_validator

from agentdesk.store.mutation_args.base import (
    IS_ID,
    IS_TIMESTAMP,
    Choice,
    MutationArgs,
    Text,
    reject,
)

MAX_NOTE = 500
MAX_AHEAD = dt.timedelta(days=366)  # a follow-up further out is a typing slip


class ReminderOutcome(StrEnum):
    DONE = "done"
    CANCELLED = "cancelled"


class ReminderSet(MutationArgs):
    """``reminder.set``: a follow-up for ``agent_id`` at ``due_at`` on a ticket and/or customer.

    Replaying the same ``id`` with the same time changes nothing; a new ``due_at`` moves an
    open reminder (snooze), which is then pending again. The server keeps the timer.
    """

    mutation = "reminder.set"

    id: Annotated[uuid.UUID, IS_ID]
    agent_id: Annotated[uuid.UUID, IS_ID]
    ticket_id: Annotated[uuid.UUID | None, IS_ID] = None
    customer_id: Annotated[uuid.UUID | None, IS_ID] = None
    due_at: Annotated[dt.datetime, IS_TIMESTAMP]
    note: Annotated[str | None, Text(MAX_NOTE, multiline=True)] = None

    @model_validator(mode="after")
    def _about_something(self) -> Self:
        if self.ticket_id is None and self.customer_id is None:
            raise reject("a reminder is about a ticket or a customer", "ticket_id")
        return self


class ReminderClose(MutationArgs):
    """``reminder.close``: the agent dealt with it (``done``) or withdrew it (``cancelled``)."""

    mutation = "reminder.close"

    id: Annotated[uuid.UUID, IS_ID]
    outcome: Annotated[ReminderOutcome, Choice(ReminderOutcome)] = ReminderOutcome.DONE
