"""Tickets: lists (mine, my teams', a customer's), detail, create/assign/status/comment.

Writes go through ``LocalWriter`` as ``ticket.*`` mutations. Where a new
ticket goes comes from the routing rules (``routing.py``), its SLA due times
from the team's policy on its business calendar (``sla.py``); both are
decided, and every check made, before anything is written (``plan.py``).
Concurrent edits are caught before writing: an update carries the row the
agent loaded, and if someone else has since changed a field this agent is
also changing, ``TicketConflict`` is raised and nothing is written, so no
one's change is silently lost.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, Select, select
from sqlalchemy.orm import Session, aliased

from agentdesk.ids import uuid7
from agentdesk.models import (
    Agent,
    Customer,
    Interaction,
    Severity,
    Team,
    Ticket,
    TicketComment,
    TicketHistory,
    TicketStatus,
    agent_team,
    utcnow,
)
from agentdesk.services.labels import shipped_labels
from agentdesk.services.tickets.plan import TicketPlanner
from agentdesk.services.tickets.routing import RoutingRules, load_rules
from agentdesk.services.tickets.sla import SlaPolicy, SlaPolicyError
from agentdesk.services.tickets.views import (
    EDITABLE,
    OPEN_STATUSES,
    ChangeView,
    CommentView,
    FieldConflict,
    LinkedInteraction,
    TicketConflict,
    TicketDetail,
    TicketRow,
    TicketValidationError,
)
from agentdesk.store.engine import read_session
from agentdesk.store.mutation_args.base import MutationArgs, choose, rejecting
from agentdesk.store.mutation_args.tickets import (
    TicketCommentAdd,
    TicketCreate,
    TicketReopen,
    TicketUpdate,
)
from agentdesk.store.mutations import MutationRejected
from agentdesk.store.writer import LocalWriter

LIST_LIMIT = 2000
_Assignee = aliased(Agent)


class TicketService:
    """Ticket use cases for one signed-in agent."""

    def __init__(
        self,
        engine: Engine,
        writer: LocalWriter,
        policy: SlaPolicy,
        agent_id: uuid.UUID | None = None,
        *,
        rules: RoutingRules | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self._writer = writer
        self._policy = policy
        self._agent_id = agent_id
        self._clock = clock
        # The shipped rules when the composition root passes none (app.py predates routing).
        rules = rules if rules is not None else load_rules(reasons=policy.reasons)
        self._planner = TicketPlanner(engine, policy, rules)

    @property
    def policy(self) -> SlaPolicy:
        return self._policy

    # --- lists ----------------------------------------------------------------------------

    def _base(self) -> Select[Ticket, str, str, str]:
        return (
            select(Ticket, Customer.display_name, Team.name, _Assignee.display_name)
            .outerjoin(Customer, Customer.id == Ticket.customer_id)
            .outerjoin(Team, Team.id == Ticket.team_id)
            .outerjoin(_Assignee, _Assignee.id == Ticket.assignee_id)
            .where(Ticket.deleted_at.is_(None))
            .order_by(Ticket.created_at.desc())
            .limit(LIST_LIMIT)
        )

    def _rows(self, stmt: Select[Ticket, str, str, str]) -> list[TicketRow]:
        with read_session(self._engine) as session:
            return [self._row(t, c, team, a) for t, c, team, a in session.execute(stmt)]

    def my_tickets(self, agent_id: uuid.UUID | None = None) -> list[TicketRow]:
        """Open tickets assigned to the agent."""
        agent = agent_id or self._agent_id
        return self._rows(
            self._base().where(Ticket.assignee_id == agent, Ticket.status.in_(OPEN_STATUSES))
        )

    def team_tickets(self, agent_id: uuid.UUID | None = None) -> list[TicketRow]:
        """Open tickets of every team the agent belongs to."""
        agent = agent_id or self._agent_id
        teams = select(agent_team.c.team_id).where(agent_team.c.agent_id == agent)
        return self._rows(
            self._base().where(Ticket.team_id.in_(teams), Ticket.status.in_(OPEN_STATUSES))
        )

    def customer_tickets(self, customer_id: uuid.UUID) -> list[TicketRow]:
        """All of a customer's tickets, open and closed."""
        return self._rows(self._base().where(Ticket.customer_id == customer_id))

    def get(self, ticket_id: uuid.UUID) -> TicketRow:
        rows = self._rows(self._base().where(Ticket.id == ticket_id))
        if not rows:
            raise TicketValidationError("id", "this ticket no longer exists")
        return rows[0]

    def teams(self) -> list[tuple[uuid.UUID, str]]:
        with read_session(self._engine) as session:
            return [
                (i, n) for i, n in session.execute(select(Team.id, Team.name).order_by(Team.name))
            ]

    def agents(self) -> list[tuple[uuid.UUID, str]]:
        with read_session(self._engine) as session:
            stmt = (
                select(Agent.id, Agent.display_name)
                .where(Agent.active)
                .order_by(Agent.display_name)
            )
            return [(i, n) for i, n in session.execute(stmt)]

    def detail(self, ticket_id: uuid.UUID) -> TicketDetail:
        row = self.get(ticket_id)
        with read_session(self._engine) as session:
            return TicketDetail(
                row,
                self._comments(session, ticket_id),
                self._history(session, ticket_id),
                self._interactions(session, ticket_id),
            )

    @staticmethod
    def _comments(session: Session, ticket_id: uuid.UUID) -> tuple[CommentView, ...]:
        stmt = (
            select(TicketComment, Agent.display_name)
            .outerjoin(Agent, Agent.id == TicketComment.author_id)
            .where(TicketComment.ticket_id == ticket_id)
            .order_by(TicketComment.created_at, TicketComment.id)
        )
        return tuple(
            CommentView(c.id, name or "—", c.body, c.internal, c.created_at)
            for c, name in session.execute(stmt)
        )

    @staticmethod
    def _history(session: Session, ticket_id: uuid.UUID) -> tuple[ChangeView, ...]:
        # changed_by is an agent's login or a system job's code: by_name says who in words,
        # the agent's name or the job's label ("System (set-up data)" for "seed").
        stmt = (
            select(TicketHistory, Agent.display_name)
            .outerjoin(Agent, Agent.login == TicketHistory.changed_by)
            .where(TicketHistory.ticket_id == ticket_id)
            .order_by(TicketHistory.changed_at.desc(), TicketHistory.id.desc())
        )
        actor = shipped_labels().actor
        return tuple(
            ChangeView(
                h.field,
                h.old_value,
                h.new_value,
                h.changed_by,
                h.changed_at,
                by_name=name or actor(h.changed_by),
            )
            for h, name in session.execute(stmt)
        )

    @staticmethod
    def _interactions(session: Session, ticket_id: uuid.UUID) -> tuple[LinkedInteraction, ...]:
        stmt = (
            select(Interaction.id, Interaction.started_at, Interaction.channel, Interaction.subject)
            .where(Interaction.ticket_id == ticket_id)
            .order_by(Interaction.started_at.desc())
            .limit(200)
        )
        return tuple(
            LinkedInteraction(i, at, ch.value, subject or f"{ch.value.title()} contact")
            for i, at, ch, subject in session.execute(stmt)
        )

    def _row(
        self, t: Ticket, customer: str | None, team: str | None, assignee: str | None
    ) -> TicketRow:
        try:
            label = self._policy.reason(t.reason).label
        except SlaPolicyError:
            label = t.reason
        return TicketRow(
            id=t.id,
            number=t.number,
            customer_id=t.customer_id,
            customer_name=customer or "",
            reason=t.reason,
            reason_label=label,
            title=t.title,
            description=t.description or "",
            priority=t.priority.value,
            severity=t.severity.value,
            status=t.status.value,
            team_id=t.team_id,
            team=team or "",
            assignee_id=t.assignee_id,
            assignee=assignee or "",
            created_at=t.created_at,
            updated_at=t.updated_at,
            first_response_due=t.first_response_due,
            resolution_due=t.resolution_due,
            first_responded_at=t.first_responded_at,
            version=t.version,
            next_update_due=t.next_update_due,
            sla_paused_at=t.sla_paused_at,
        )

    # --- writes -----------------------------------------------------------------------------

    def suggested_team(self, reason: str) -> str:
        """The team the routing rules send a ticket of ``reason`` to (the dialog's default)."""
        return self._planner.suggested_team(reason)

    def create(
        self,
        *,
        reason: str,
        title: str,
        customer_id: uuid.UUID | None = None,
        description: str = "",
        priority: str | None = None,
        severity: str = "minor",
        team_id: uuid.UUID | None = None,
        assignee_id: uuid.UUID | None = None,
        product: str | None = None,
        channel: str | None = None,
        now: dt.datetime | None = None,
    ) -> TicketRow:
        """Open a ticket where the routing rules send it, with SLA due times on the team's
        business calendar; returns it as stored. ``team_id``/``priority`` given by the agent
        win over the rule (the history says so); an assignee must belong to the team."""
        if not title.strip():
            raise TicketValidationError("title", "a ticket needs a title")
        opened = now or self._clock()
        with read_session(self._engine) as session:
            routed = self._planner.route_new(
                session,
                reason=reason,
                customer_id=customer_id,
                product=product,
                channel=channel,
                team_id=team_id,
                priority=priority,
            )
            if assignee_id is not None:
                self._planner.check_member(session, assignee_id, routed.team_id)
        clocks = self._planner.new_clocks(routed.team, routed.priority, opened)
        ticket_id = uuid7()
        self._write(
            "ticket.create",
            lambda: TicketCreate(
                id=ticket_id,
                reason=reason,
                title=title.strip(),
                description=description,
                customer_id=customer_id,
                priority=routed.priority,
                severity=choose(Severity, severity, "severity"),
                team_id=routed.team_id,
                assignee_id=assignee_id,
                created_by=self._agent_id,
                status=TicketStatus.OPEN if assignee_id else TicketStatus.NEW,
                routed_by=routed.routed_by,
                assign=None if assignee_id else routed.assign,
                first_response_due=clocks.first_response_due,
                resolution_due=clocks.resolution_due,
            ),
        )
        return self.get(ticket_id)

    def update(
        self, loaded: TicketRow, changes: dict[str, Any], *, force: bool = False
    ) -> TicketRow:
        """Apply ``changes`` to the ticket the agent loaded as ``loaded``.

        Only fields that differ from the stored ticket are written. Raises
        ``TicketConflict`` (nothing written) when another agent changed a field that this
        edit also changes; with ``force`` the agent's values are applied on top of theirs
        (the history keeps both). A new reason routes the ticket again; every check runs
        before the first write.
        """
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise TicketValidationError(
                sorted(unknown)[0], f"{sorted(unknown)[0]} cannot be edited"
            )
        current = self.get(loaded.id)
        wanted = {k: v for k, v in changes.items() if _plain(current.value(k)) != _plain(v)}
        if not force:
            self._check_conflicts(loaded, current, wanted)
        if not wanted:
            return current
        plan = self._planner.plan_update(current, wanted, self._clock())
        if plan.reopen is not None:
            reopen = plan.reopen
            self._write(
                "ticket.reopen",
                lambda: TicketReopen(id=current.id, reason="reopened by agent", **reopen),
            )
        if plan.changes:
            self._write(
                "ticket.update",
                # The form's changes are a free-form dict, validated whole.
                lambda: TicketUpdate.model_validate(
                    {
                        "id": loaded.id,
                        "changes": plan.changes,
                        "base_version": current.version,
                        "routed_by": plan.routed_by,
                        "assign": plan.assign,
                    }
                ),
            )
        return self.get(loaded.id)

    @staticmethod
    def _check_conflicts(loaded: TicketRow, current: TicketRow, wanted: dict[str, Any]) -> None:
        clashes = tuple(
            FieldConflict(name, loaded.value(name), current.value(name), value)
            for name, value in wanted.items()
            if _plain(current.value(name)) != _plain(loaded.value(name))
        )
        if clashes:
            raise TicketConflict(clashes, current)

    def assign(
        self, loaded: TicketRow, assignee_id: uuid.UUID | None, team_id: uuid.UUID | None = None
    ) -> TicketRow:
        changes: dict[str, Any] = {"assignee_id": assignee_id}
        if team_id is not None:
            changes["team_id"] = team_id
        return self.update(loaded, changes)

    def comment(self, ticket_id: uuid.UUID, body: str, internal: bool = True) -> uuid.UUID:
        """Append a comment (append-only; up to 100 000 characters)."""
        if not body.strip():
            raise TicketValidationError("body", "a comment needs some text")
        comment_id = uuid7()
        self._write(
            "ticket.comment",
            lambda: TicketCommentAdd(
                id=comment_id,
                ticket_id=ticket_id,
                body=body,
                internal=internal,
                author_id=self._agent_id,
            ),
        )
        return comment_id

    def _write(self, name: str, build: Callable[[], MutationArgs]) -> dict[str, Any]:
        """Build mutation ``name``'s arguments and write them; any refusal names the field."""
        try:
            with rejecting(name):
                args = build()
            return self._writer.write(name, args).result
        except MutationRejected as exc:
            raise TicketValidationError(exc.field or "", str(exc)) from exc


def _plain(value: Any) -> Any:
    """Compare ids and enums by their text so a form's strings match loaded values."""
    if value is None or value == "":
        return None
    return str(value)
