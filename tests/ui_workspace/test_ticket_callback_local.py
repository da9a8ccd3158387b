"""A team's callback ticket called back from the desk's cache (CallbackTasks.place_ticket):
an unknown caller's callback goes on the ticket as a comment; a closed or ordinary ticket,
or a customer who asked not to be phoned, is refused before anything is written."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from agentdesk.models import Interaction, TicketComment
from agentdesk.services.desk.callback_tasks import CallbackTasks
from agentdesk.store.engine import read_session
from agentdesk.store.mutation_args.base import MutationRejected
from agentdesk.store.writer import LocalWriter
from agentdesk.ui.workspace.context import WorkspaceContext
from tests.ui_workspace.builders import Org, add_customer

TASK = "Call back +44 7700 900123 (abandoned in cards after 2:10)"


def _tasks(engine: Engine, org: Org) -> CallbackTasks:
    return CallbackTasks(engine, LocalWriter(engine, actor="alice"), org.agent_id)


def _writes(engine: Engine) -> tuple[int, int]:
    with read_session(engine) as s:
        calls = s.scalar(select(func.count()).select_from(Interaction)) or 0
        comments = s.scalar(select(func.count()).select_from(TicketComment)) or 0
    return calls, comments


def test_an_unknown_callers_callback_is_a_ticket_comment(
    engine: Engine, org: Org, context: WorkspaceContext
) -> None:
    ticket = context.tickets.create(reason="general_enquiry", title=TASK, team_id=org.team_id)
    placed = _tasks(engine, org).place_ticket(ticket)
    assert (placed.number, placed.display) == ("+447700900123", "+44 7700 900123")
    assert placed.customer_id is None and placed.interaction_id is None
    with read_session(engine) as s:
        comment = s.get(TicketComment, placed.comment_id)
        assert comment is not None and comment.ticket_id == ticket.id
        assert comment.body.startswith("Callback to +44 7700 900123: Call back")


def test_refused_before_anything_is_written(
    engine: Engine, org: Org, context: WorkspaceContext
) -> None:
    tasks = _tasks(engine, org)
    ordinary = context.tickets.create(reason="general_enquiry", title="Send the form")
    assert tasks.number_of_ticket(ordinary) is None
    with pytest.raises(MutationRejected, match="not a callback task"):
        tasks.place_ticket(ordinary)
    opted_out = add_customer(engine, phone_opt_out=True)
    theirs = context.tickets.create(reason="general_enquiry", title=TASK, customer_id=opted_out)
    with pytest.raises(MutationRejected, match="Amelia Okafor asked not to be phoned"):
        tasks.place_ticket(theirs)
    done = context.tickets.create(reason="general_enquiry", title=TASK)
    done = context.tickets.update(done, {"status": "resolved"})
    with pytest.raises(MutationRejected, match="is resolved"):
        tasks.place_ticket(done)
    assert _writes(engine) == (0, 0)
