"""Planning a ticket write before anything is written: routing, assignee checks, SLA clocks.

``TicketPlanner`` turns what an agent (or a wrap-up, or an integration) asked
for into the exact fields of one mutation: the team and priority a routing
rule chose, the team's assignment mode, the due times on the team's business
calendar, a resumed clock after waiting for the customer. Every check that can
refuse the write (unknown reason or team, an assignee outside the team, a
status the workflow does not allow) runs here, first, so a refused write
leaves nothing half-written.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from agentdesk.models import Agent, Customer, Team, TicketPriority, agent_team
from agentdesk.services.tickets.calendar import CalendarError
from agentdesk.services.tickets.routing import (
    Assignment,
    RouteDecision,
    RoutingError,
    RoutingRules,
    TicketFacts,
)
from agentdesk.services.tickets.sla import SlaDue, SlaPolicy, SlaPolicyError
from agentdesk.services.tickets.views import WORKFLOW, TicketRow, TicketValidationError
from agentdesk.store.engine import read_session
from agentdesk.store.mutation_args.tickets import TeamAssignment

CLOCKS_STOPPED = ("pending", "resolved", "closed")


@dataclass(frozen=True)
class Routed:
    """Where a ticket goes: the team (id and name), priority and how the centre assigns it."""

    team_id: uuid.UUID | None
    team: str
    priority: TicketPriority
    routed_by: str
    assign: TeamAssignment | None


@dataclass
class UpdatePlan:
    """One ticket edit, checked: the field changes, a reopen first if asked, routing notes."""

    changes: dict[str, Any]
    reopen: dict[str, dt.datetime | None] | None = None  # resumed clocks, when reopening
    routed_by: str | None = None
    assign: TeamAssignment | None = None
    notes: list[str] = field(default_factory=list)


def _invalid(field_name: str, exc: Exception) -> TicketValidationError:
    return TicketValidationError(field_name, str(exc))


class TicketPlanner:
    """Routing and SLA decisions for the ticket service, against the store it reads."""

    def __init__(self, engine: Engine, policy: SlaPolicy, rules: RoutingRules) -> None:
        self._engine = engine
        self._policy = policy
        self._rules = rules

    # --- lookups ----------------------------------------------------------------------------

    @staticmethod
    def _facts(
        session: Session,
        reason: str,
        customer_id: uuid.UUID | None,
        product: str | None = None,
        channel: str | None = None,
    ) -> TicketFacts:
        segment = language = None
        if customer_id is not None:
            found = session.execute(
                select(Customer.segment, Customer.preferred_language).where(
                    Customer.id == customer_id
                )
            ).first()
            if found is not None:
                segment, language = found
        return TicketFacts(reason, product, segment, language, channel)

    @staticmethod
    def _team_id(session: Session, name: str) -> uuid.UUID | None:
        """The routed team's id; None when this store does not hold it (a desktop whose
        reference data has not arrived, a site without that team): the ticket is still
        written, without a team, and the history says why (a wrap-up must never fail on it)."""
        return session.scalar(select(Team.id).where(Team.name == name))

    @staticmethod
    def team_name(session: Session, team_id: uuid.UUID) -> str:
        name = session.scalar(select(Team.name).where(Team.id == team_id))
        if name is None:
            raise TicketValidationError("team_id", "no such team")
        return name

    @staticmethod
    def check_member(session: Session, agent_id: uuid.UUID, team_id: uuid.UUID | None) -> None:
        """The assignee must exist, be active, and belong to the ticket's team (if it has one)."""
        if session.scalar(select(Agent.id).where(Agent.id == agent_id, Agent.active)) is None:
            raise TicketValidationError("assignee_id", "no such active agent")
        if team_id is None:
            return
        member = session.execute(
            select(agent_team.c.agent_id).where(
                agent_team.c.agent_id == agent_id, agent_team.c.team_id == team_id
            )
        ).first()
        if member is None:
            raise TicketValidationError(
                "assignee_id", "the assignee is not a member of the ticket's team"
            )

    def _decide(self, facts: TicketFacts) -> RouteDecision:
        try:
            self._policy.reason(facts.reason)
            return self._rules.route(facts)
        except SlaPolicyError as exc:
            raise _invalid("reason", exc) from exc
        except RoutingError as exc:
            raise _invalid(exc.field or "reason", exc) from exc

    def _assign(self, team: str) -> TeamAssignment | None:
        mode = self._rules.assignment(team)
        return None if mode is Assignment.NONE else TeamAssignment(mode.value)

    def suggested_team(self, reason: str) -> str:
        """The team a ticket of ``reason`` alone would go to (for a dialog's first choice)."""
        return self._decide(TicketFacts(reason)).team

    # --- create -----------------------------------------------------------------------------

    def route_new(
        self,
        session: Session,
        *,
        reason: str,
        customer_id: uuid.UUID | None,
        product: str | None,
        channel: str | None,
        team_id: uuid.UUID | None,
        priority: str | None,
    ) -> Routed:
        """The rule's team and priority, unless the caller chose them; history names both."""
        decision = self._decide(self._facts(session, reason, customer_id, product, channel))
        note = decision.describe()
        if team_id is None:
            team, tid = decision.team, self._team_id(session, decision.team)
            if tid is None:
                note += f"; team {team!r} is unknown here, left without a team"
        else:
            team, tid = self.team_name(session, team_id), team_id
            if team != decision.team:
                note += f"; team chosen by the agent: {team}"
        try:
            chosen = decision.priority if priority is None else TicketPriority(priority)
        except ValueError:
            raise TicketValidationError("priority", f"unknown priority {priority!r}") from None
        if chosen is not decision.priority:
            note += f"; priority chosen by the agent: {chosen.value}"
        return Routed(tid, team, chosen, note, self._assign(team) if tid else None)

    def new_clocks(self, team: str, priority: TicketPriority, opened_at: dt.datetime) -> SlaDue:
        try:
            return self._policy.due(team, priority, opened_at)
        except (SlaPolicyError, CalendarError) as exc:
            raise _invalid("reason", exc) from exc

    # --- update -----------------------------------------------------------------------------

    def plan_update(
        self, current: TicketRow, wanted: dict[str, Any], now: dt.datetime
    ) -> UpdatePlan:
        """Check and complete an edit: re-route on a reason change, keep the assignee inside
        the team, recompute clocks on a new team or priority, pause and resume them."""
        plan = UpdatePlan(dict(wanted))
        changes = plan.changes
        with read_session(self._engine) as session:
            if "reason" in changes:
                self._reroute(session, current, plan)
            team_id = changes.get("team_id", current.team_id)
            team = current.team if team_id == current.team_id else None
            if team_id is not None and team is None:
                team = self.team_name(session, team_id)
            assignee = changes.get("assignee_id", current.assignee_id)
            moved = "team_id" in changes and "assignee_id" not in wanted
            if moved and assignee is not None and not _member(session, assignee, team_id):
                changes["assignee_id"] = assignee = None  # the new team hands it out
            if assignee is not None and ("assignee_id" in changes or "team_id" in changes):
                self.check_member(session, assignee, team_id)
        if "team_id" in changes and changes.get("assignee_id", assignee) is None:
            plan.assign = plan.assign or self._assign(team or "")
        self._status(current, plan, now)
        self._clocks(current, plan, team or None, now)
        return plan

    def _reroute(self, session: Session, current: TicketRow, plan: UpdatePlan) -> None:
        changes = plan.changes
        decision = self._decide(self._facts(session, str(changes["reason"]), current.customer_id))
        plan.routed_by = decision.describe()
        if "team_id" not in changes:
            team_id = self._team_id(session, decision.team)
            if team_id is None:
                plan.routed_by += f"; team {decision.team!r} is unknown here, team kept"
            elif team_id != current.team_id:
                changes["team_id"] = team_id
        if "priority" not in changes and decision.priority.value != current.priority:
            changes["priority"] = decision.priority.value

    @staticmethod
    def _status(current: TicketRow, plan: UpdatePlan, now: dt.datetime) -> None:
        status = plan.changes.get("status")
        if status is None:
            return
        if status not in WORKFLOW.get(current.status, ()):
            allowed = ", ".join(WORKFLOW.get(current.status, ())) or "nothing"
            raise TicketValidationError(
                "status", f"a {current.status} ticket can move to {allowed}, not {status}"
            )
        if status == "open" and current.status != "new":
            del plan.changes["status"]
            plan.reopen = {}
        elif status in CLOCKS_STOPPED and current.sla_paused_at is None:
            plan.changes["sla_paused_at"] = now  # the clocks stop now, not when it syncs
        if current.first_responded_at is None and status != "new":
            plan.changes["first_responded_at"] = now  # leaving "new" is the first response

    def _clocks(
        self, current: TicketRow, plan: UpdatePlan, team: str | None, now: dt.datetime
    ) -> None:
        changes = plan.changes
        priority = str(changes.get("priority", current.priority))
        try:
            if {"reason", "priority", "team_id"} & set(changes):
                due = self._policy.due(team, priority, current.created_at)
                changes["first_response_due"] = due.first_response_due
                changes["resolution_due"] = due.resolution_due
            responded = current.first_responded_at or changes.get("first_responded_at")
            touched = {"status", "priority", "team_id"} & set(changes) or plan.reopen is not None
            if responded is not None and touched:
                changes["next_update_due"] = self._policy.next_update(team, priority, now)
            if plan.reopen is not None and current.sla_paused_at is not None:
                for name in ("first_response_due", "resolution_due"):
                    due = changes.pop(name, current.value(name))
                    plan.reopen[name] = self._policy.resume(team, due, current.sla_paused_at, now)
                plan.reopen["next_update_due"] = changes.pop("next_update_due", None)
        except (SlaPolicyError, CalendarError) as exc:
            raise _invalid("reason", exc) from exc


def _member(session: Session, agent_id: uuid.UUID, team_id: uuid.UUID | None) -> bool:
    if team_id is None:
        return True
    found = session.execute(
        select(agent_team.c.agent_id).where(
            agent_team.c.agent_id == agent_id, agent_team.c.team_id == team_id
        )
    ).first()
    return found is not None
