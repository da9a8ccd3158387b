"""SLA escalation: levels per team policy that fire once each, in order, through the scheduler.

Policy (``resources/escalation.toml``): per team of ``sla.toml``, an ordered list of
levels — warn at N % of the clock's window, at the breach, some business time after
it — each naming who is alerted and optionally a priority to raise the ticket to.

How it runs on the server (leader only):

* **Timers.** One ``sla.escalation`` timer per level per ticket, subject
  ``<ticket>:<level>``, due at that level's instant for the ticket's earliest
  running clock (``ticket.sla_next_due``).
* **Reconcile** (a scheduler job). Due times are written by many paths (a
  desktop's push, the ticket service at the centre, integrations, seeding), so
  instead of hooking each writer, the job follows the central change feed for
  ``ticket`` rows after its own cursor (``sync_state`` ``escalation.cursor``) and
  re-plans each changed ticket's timers, moving the cursor in the same
  transaction (``feed_follower.FeedFollower``, shared with reminders): no change
  is missed across a crash or a restart, and the desktop side of the mutators
  (where there is no scheduler) stays untouched. On first start, or when the feed
  was pruned past the cursor, it sweeps every ticket with a running clock through
  ``due.due_keys`` (the index on ``sla_next_due``).
* **Handler.** Fires in the timer's transaction with the ticket row locked and
  re-plans from the ticket as it stands, so a timer left stale by a change the
  reconcile has not read yet never escalates wrongly. Every level at or below the
  fired one that is due and not yet reached is applied in order (a lower level whose
  timer is retrying is not skipped): escalation level and priority through the
  ``ticket.update`` mutator (history, version, the feed), and one ``ticket_alert``
  per recipient (unique per ticket, level, recipient and clock episode). Another
  instance or a restart re-firing the same level finds it reached and does nothing.
* **Reset.** A ticket back within its SLA on a fresh clock (now before its first
  level) has its level set back to 0 by the reconcile, so the next clock can
  escalate again.

Logs name tickets by id only.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import re
import tomllib
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from agentdesk.ids import uuid7
from agentdesk.models import (
    Agent,
    Role,
    ScheduledTimer,
    Team,
    Ticket,
    TicketPriority,
    agent_team,
    utcnow,
)
from agentdesk.models.followup import TicketAlert
from agentdesk.paths import resource
from agentdesk.services.tickets.due import due_keys
from agentdesk.services.tickets.feed_follower import (
    FeedFollower,
    SweepKey,
    TimerOps,
    publish,
)
from agentdesk.services.tickets.sla import DEFAULT_TEAM, SlaPolicy, parse_duration
from agentdesk.store.engine import read_session, write_session
from agentdesk.store.mutations import Changed, MutationContext, apply_mutation
from agentdesk.store.sync.central import CentralStore

log = logging.getLogger(__name__)

TIMER_KIND = "sla.escalation"
CURSOR_KEY = "escalation.cursor"
ACTOR = "escalation"
RECIPIENT_ROLES = ("assignee", "team_lead", "supervisor")
MAX_LEVELS = 9  # ticket.escalation_level's range (mutation_args.tickets.MAX_ESCALATION)
MAX_SUPERVISORS = 50  # alerts per level for "supervisor"
_FAR = dt.timedelta(days=3650)
_PRIORITY_RANK = {p: i for i, p in enumerate(TicketPriority)}
_AT = re.compile(r"^\s*(?:(\d{1,2}(?:\.\d+)?)\s*%|due(?:\s*\+\s*(.+))?)\s*$", re.IGNORECASE)
Clock = Callable[[], dt.datetime]


class EscalationPolicyError(ValueError):
    """The escalation file is missing or malformed."""


@dataclass(frozen=True)
class LevelRule:
    """One level: when (a fraction of the window, or business time after the breach)."""

    level: int
    name: str
    fraction: float | None  # 0 < f < 1: that share of the window has run
    after_breach: dt.timedelta | None  # None with fraction None: at the breach itself
    notify: tuple[str, ...]
    priority: TicketPriority | None


@dataclass(frozen=True)
class TeamEscalation:
    levels: tuple[LevelRule, ...]
    lead: str | None = None


@dataclass(frozen=True)
class EscalationPolicy:
    teams: Mapping[str, TeamEscalation]

    def for_team(self, team: str | None) -> TeamEscalation:
        return self.teams.get(team or DEFAULT_TEAM) or self.teams[DEFAULT_TEAM]


def _level(index: int, table: object, where: str) -> LevelRule:
    if not isinstance(table, dict):
        raise EscalationPolicyError(f"{where}: a level is a table with name, at and notify")
    unknown = set(table) - {"name", "at", "notify", "priority"}
    if unknown:
        raise EscalationPolicyError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    name = table.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
        raise EscalationPolicyError(f"{where}: name must be 1-32 of a-z, 0-9 and _")
    match = _AT.match(str(table.get("at", "")))
    if match is None:
        raise EscalationPolicyError(f"{where}: at must be 'N%', 'due' or 'due + <duration>'")
    fraction = after = None
    if match.group(1) is not None:
        fraction = float(match.group(1)) / 100
        if not 0 < fraction < 1:
            raise EscalationPolicyError(f"{where}: a percentage must lie between 0 and 100")
    elif match.group(2) is not None:
        try:
            after = parse_duration(match.group(2))
        except ValueError as exc:
            raise EscalationPolicyError(f"{where}: {exc}") from None
    notify = table.get("notify", [])
    if not isinstance(notify, list) or any(n not in RECIPIENT_ROLES for n in notify):
        raise EscalationPolicyError(f"{where}: notify lists {', '.join(RECIPIENT_ROLES)}")
    priority = table.get("priority")
    if priority is not None:
        try:
            priority = TicketPriority(priority)
        except ValueError:
            raise EscalationPolicyError(f"{where}: unknown priority {priority!r}") from None
    return LevelRule(index, name, fraction, after, tuple(dict.fromkeys(notify)), priority)


def _order_key(rule: LevelRule) -> tuple[int, float]:
    if rule.fraction is not None:
        return 0, rule.fraction
    return 1, 0.0 if rule.after_breach is None else rule.after_breach.total_seconds()


def parse_escalation(data: Mapping[str, Any]) -> EscalationPolicy:
    teams: dict[str, TeamEscalation] = {}
    for team, table in dict(data.get("teams", {})).items():
        where = f"teams.{team}"
        if not isinstance(table, dict):
            raise EscalationPolicyError(f"{where}: expected a table")
        unknown = set(table) - {"levels", "lead"}
        if unknown:
            raise EscalationPolicyError(f"{where}: unknown key {sorted(unknown)[0]!r}")
        raw = table.get("levels")
        if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_LEVELS:
            raise EscalationPolicyError(f"{where}: levels must list 1 to {MAX_LEVELS} levels")
        levels = tuple(_level(i + 1, t, f"{where}.levels[{i}]") for i, t in enumerate(raw))
        keys = [_order_key(r) for r in levels]
        if any(a >= b for a, b in itertools.pairwise(keys)):
            raise EscalationPolicyError(f"{where}: levels must be listed in strictly rising order")
        if len({r.name for r in levels}) != len(levels):
            raise EscalationPolicyError(f"{where}: level names must be unique")
        lead = table.get("lead")
        if lead is not None and not isinstance(lead, str):
            raise EscalationPolicyError(f"{where}: lead is a login")
        teams[team] = TeamEscalation(levels, lead)
    if DEFAULT_TEAM not in teams:
        raise EscalationPolicyError(f"the escalation policy needs a [teams.{DEFAULT_TEAM}]")
    return EscalationPolicy(teams)


def load_escalation(path: Path | None = None) -> EscalationPolicy:
    """Load ``resources/escalation.toml`` (or ``path``); errors name what is wrong."""
    try:
        if path is None:
            path = resource("escalation.toml")
        return parse_escalation(tomllib.loads(path.read_text("utf-8")))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise EscalationPolicyError(f"cannot read the escalation policy: {exc}") from exc


# --- planning ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedLevel:
    rule: LevelRule
    at: dt.datetime


@dataclass(frozen=True)
class Plan:
    """A ticket's levels against its earliest running clock (``episode`` is that due time)."""

    clock: str
    episode: dt.datetime
    levels: tuple[PlannedLevel, ...]


def running_clock(ticket: Ticket) -> str:
    due = ticket.sla_next_due
    if ticket.first_responded_at is None and due == ticket.first_response_due:
        return "first_response"
    if ticket.first_responded_at is not None and due == ticket.next_update_due:
        return "next_update"
    return "resolution"


class Planner:
    """Level instants for a ticket, on its team's business calendar."""

    def __init__(self, sla: SlaPolicy, escalation: EscalationPolicy) -> None:
        self.sla = sla
        self.escalation = escalation

    def plan(self, ticket: Ticket, team: str | None) -> Plan | None:
        due = ticket.sla_next_due
        if due is None or ticket.deleted_at is not None:
            return None
        clock = running_clock(ticket)
        policy = self.sla.for_team(team)
        window: dt.timedelta = getattr(policy.target(ticket.priority), clock)
        cal = policy.calendar
        levels = []
        for rule in self.escalation.for_team(team).levels:
            if rule.fraction is not None:
                at = _before(cal.between, due, window * (1 - rule.fraction))
            elif rule.after_breach is not None:
                at = cal.add(due, rule.after_breach)
            else:
                at = due
            levels.append(PlannedLevel(rule, at))
        return Plan(clock, due, tuple(levels))


def _before(
    between: Callable[[dt.datetime, dt.datetime], dt.timedelta],
    due: dt.datetime,
    remaining: dt.timedelta,
) -> dt.datetime:
    """The latest instant with ``remaining`` business time still left before ``due``."""
    span = max(remaining, dt.timedelta(minutes=1))
    lo = due - span
    for _ in range(12):  # at most 4096 × the remaining time back (closed weeks, holidays)
        if between(lo, due) >= remaining:
            break
        span *= 2
        lo = due - span
    hi = due
    for _ in range(48):  # bisect to the second
        if hi - lo <= dt.timedelta(seconds=1):
            break
        mid = lo + (hi - lo) / 2
        if between(mid, due) >= remaining:
            lo = mid
        else:
            hi = mid
    return lo.replace(microsecond=0)


def subject(ticket_id: uuid.UUID, level: int) -> str:
    return f"{ticket_id}:{level}"


# --- the service ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EscalationView:
    """One escalated open ticket for the supervisor's list and the agent's My tickets."""

    ticket_id: uuid.UUID
    number: str
    title: str
    team: str | None
    assignee_id: uuid.UUID | None
    priority: str
    status: str
    escalation_level: int
    level_name: str | None
    sla_next_due: dt.datetime | None
    escalated_at: dt.datetime | None


class EscalationService(FeedFollower):
    """Plans timers from the change feed, fires levels, lists escalated tickets."""

    entity_type = "ticket"
    cursor_key = CURSOR_KEY
    name = "escalation"

    def __init__(
        self,
        store: CentralStore,
        sla: SlaPolicy,
        escalation: EscalationPolicy | None = None,
        *,
        timers: TimerOps,
        clock: Clock = utcnow,
    ) -> None:
        super().__init__(store)
        self.timers = timers
        self.planner = Planner(sla, escalation or load_escalation())
        self.clock = clock

    # --- following the feed (a leader job: ``reconcile`` from FeedFollower) ----------------

    def sweep_page(self, s: Session, after: SweepKey | None, limit: int) -> list[SweepKey]:
        """Tickets with a running clock, by the indexed ``sla_next_due``."""
        return due_keys(s, self.clock() + _FAR, limit, after)

    def replan(self, ticket_id: uuid.UUID) -> None:
        """Re-plan one ticket now (tests, and callers that cannot wait for the next tick)."""
        with write_session(self.engine) as s:
            self.replan_in(s, ticket_id)

    def replan_in(self, s: Session, ticket_id: uuid.UUID) -> None:
        schedule, cancel = self.timers.schedule, self.timers.cancel
        ticket = s.get(Ticket, ticket_id, with_for_update=True)
        plan = None if ticket is None else self.planner.plan(ticket, _team_name(s, ticket))
        if ticket is None or plan is None:
            for level in range(1, MAX_LEVELS + 1):
                cancel(s, TIMER_KIND, subject(ticket_id, level))
            return
        now = self.clock()
        if ticket.escalation_level > 0 and plan.levels and now < plan.levels[0].at:
            # Back within the SLA on a fresh clock: the next clock escalates from the start.
            self._write_ticket(s, ticket, {"escalation_level": 0}, now)
        for planned in plan.levels:
            name = subject(ticket_id, planned.rule.level)
            if planned.rule.level > ticket.escalation_level:
                schedule(s, TIMER_KIND, name, planned.at, {"level": planned.rule.level}, rearm=True)
            else:
                cancel(s, TIMER_KIND, name)
        for level in range(len(plan.levels) + 1, MAX_LEVELS + 1):
            cancel(s, TIMER_KIND, subject(ticket_id, level))

    # --- the timer handler ------------------------------------------------------------------

    def handle(self, s: Session, firing: Any) -> None:
        """``sla.escalation`` handler: apply every due, unreached level up to the fired one."""
        ticket_text, _, level_text = firing.subject.rpartition(":")
        ticket_id, fired_level = uuid.UUID(ticket_text), int(level_text)
        ticket = s.get(Ticket, ticket_id, with_for_update=True)
        if ticket is None:
            return
        s.refresh(ticket)  # the row as locked, not as an earlier read in this session saw it
        team = _team_name(s, ticket)
        plan = self.planner.plan(ticket, team)
        if plan is None:
            return  # clocks stopped or ticket deleted: nothing to escalate
        now = firing.now
        reached = [
            p
            for p in plan.levels
            if ticket.escalation_level < p.rule.level <= fired_level and p.at <= now
        ]
        if not reached:
            return  # stale (the clock moved) or already reached by another firing
        episode = plan.episode.isoformat()
        changed: list[Changed] = []
        for planned in reached:
            changed += self._alerts(s, ticket, team, planned.rule, plan.clock, episode, now)
        top = reached[-1].rule.level
        changes: dict[str, Any] = {"escalation_level": top}
        wanted = [p.rule.priority for p in reached if p.rule.priority is not None]
        if wanted:
            highest = max(wanted, key=_PRIORITY_RANK.__getitem__)
            if _PRIORITY_RANK[highest] > _PRIORITY_RANK[ticket.priority]:
                changes["priority"] = highest.value
        changed += self._write_ticket(s, ticket, changes, now, feed=False)
        self._feed(s, changed)
        log.info(
            "escalation: ticket %s reached level %d (%s, %s clock)",
            ticket_id,
            top,
            reached[-1].rule.name,
            plan.clock,
        )

    def _write_ticket(
        self,
        s: Session,
        ticket: Ticket,
        changes: dict[str, Any],
        now: dt.datetime,
        *,
        feed: bool = True,
    ) -> list[Changed]:
        ctx = MutationContext(
            actor=ACTOR, side="central", now=now, field_cipher=self.store.field_cipher
        )
        args = {"id": str(ticket.id), "changes": changes}
        outcome = apply_mutation(s, "ticket.update", args, ctx)
        s.flush()
        if feed:
            self._feed(s, outcome.changed)
        return list(outcome.changed)

    def _feed(self, s: Session, changed: Sequence[Changed]) -> None:
        publish(self.store, s, changed)

    def _alerts(
        self,
        s: Session,
        ticket: Ticket,
        team: str | None,
        rule: LevelRule,
        clock: str,
        episode: str,
        now: dt.datetime,
    ) -> list[Changed]:
        changed: list[Changed] = []
        for role, agent_id in self._recipients(s, ticket, team, rule.notify):
            exists = s.scalar(
                select(TicketAlert.id).where(
                    TicketAlert.ticket_id == ticket.id,
                    TicketAlert.level == rule.level,
                    TicketAlert.recipient_id == agent_id,
                    TicketAlert.episode == episode,
                )
            )
            if exists is not None:
                continue
            alert_id = uuid7()
            s.execute(
                insert(TicketAlert).values(
                    id=alert_id,
                    ticket_id=ticket.id,
                    level=rule.level,
                    level_name=rule.name,
                    clock=clock,
                    episode=episode,
                    recipient_id=agent_id,
                    recipient_role=role,
                    created_at=now,
                )
            )
            changed.append(Changed("ticket_alert", alert_id))
        return changed

    def _recipients(
        self, s: Session, ticket: Ticket, team: str | None, roles: Iterable[str]
    ) -> list[tuple[str, uuid.UUID]]:
        """(role, agent) pairs, each agent once, in the order of ``roles``."""
        seen: dict[uuid.UUID, str] = {}
        for role in roles:
            for agent_id in self._who(s, ticket, team, role):
                seen.setdefault(agent_id, role)
        return [(role, agent_id) for agent_id, role in seen.items()]

    def _who(self, s: Session, ticket: Ticket, team: str | None, role: str) -> list[uuid.UUID]:
        active = Agent.active.is_(True)
        if role == "assignee":
            return [] if ticket.assignee_id is None else [ticket.assignee_id]
        if role == "team_lead":
            lead = self.planner.escalation.for_team(team).lead if team else None
            if lead is not None:
                found = s.scalar(select(Agent.id).where(Agent.login == lead, active))
                if found is not None:
                    return [found]
            if ticket.team_id is None:
                return []
            return list(
                s.scalars(
                    select(Agent.id)
                    .join(agent_team, agent_team.c.agent_id == Agent.id)
                    .where(
                        agent_team.c.team_id == ticket.team_id,
                        Agent.role == Role.SUPERVISOR,
                        active,
                    )
                    .order_by(Agent.login)
                    .limit(MAX_SUPERVISORS)
                )
            )
        return list(
            s.scalars(
                select(Agent.id)
                .where(Agent.role == Role.SUPERVISOR, active)
                .order_by(Agent.login)
                .limit(MAX_SUPERVISORS)
            )
        )

    # --- lists -------------------------------------------------------------------------------

    def escalated(
        self,
        *,
        assignee_id: uuid.UUID | None = None,
        team_ids: Iterable[uuid.UUID] | None = None,
        limit: int = 200,
    ) -> list[EscalationView]:
        """Open escalated tickets, highest level first, then the longest overdue."""
        return escalated_tickets(
            self.engine, assignee_id=assignee_id, team_ids=team_ids, limit=limit
        )


def escalated_tickets(
    engine: Any,
    *,
    assignee_id: uuid.UUID | None = None,
    team_ids: Iterable[uuid.UUID] | None = None,
    limit: int = 200,
) -> list[EscalationView]:
    """The supervisor's escalation list (or one agent's, or some teams'), from any store:
    the centre, or a desktop's cache (tickets and alerts are both replicated)."""
    stmt = (
        select(Ticket, Team.name)
        .outerjoin(Team, Team.id == Ticket.team_id)
        .where(Ticket.escalation_level > 0, Ticket.deleted_at.is_(None))
        .where(Ticket.status.in_(("new", "open", "pending")))
        .order_by(Ticket.escalation_level.desc(), Ticket.sla_next_due, Ticket.id)
        .limit(max(1, min(limit, 1000)))
    )
    if assignee_id is not None:
        stmt = stmt.where(Ticket.assignee_id == assignee_id)
    if team_ids is not None:
        stmt = stmt.where(Ticket.team_id.in_(sorted(team_ids)))
    views = []
    with read_session(engine) as s:
        for ticket, team in s.execute(stmt).all():
            latest = s.execute(
                select(TicketAlert.level_name, TicketAlert.created_at)
                .where(
                    TicketAlert.ticket_id == ticket.id,
                    TicketAlert.level == ticket.escalation_level,
                )
                .order_by(TicketAlert.created_at.desc())
                .limit(1)
            ).first()
            views.append(
                EscalationView(
                    ticket.id,
                    ticket.number,
                    ticket.title,
                    team,
                    ticket.assignee_id,
                    ticket.priority.value,
                    ticket.status.value,
                    ticket.escalation_level,
                    None if latest is None else latest[0],
                    ticket.sla_next_due,
                    None if latest is None else latest[1],
                )
            )
    return views


def unread_alerts(engine: Any, agent_id: uuid.UUID, limit: int = 100) -> list[TicketAlert]:
    """One agent's escalation alerts not yet read, newest first (the desk's list)."""
    with read_session(engine) as s:
        rows = s.scalars(
            select(TicketAlert)
            .where(TicketAlert.recipient_id == agent_id, TicketAlert.read_at.is_(None))
            .order_by(TicketAlert.created_at.desc())
            .limit(max(1, min(limit, 1000)))
        ).all()
        s.expunge_all()
        return list(rows)


def pending_timers(s: Session, ticket_id: uuid.UUID) -> dict[int, dt.datetime]:
    """Unfired escalation timers of a ticket by level (for supervisors' tools and tests)."""
    rows = s.execute(
        select(ScheduledTimer.subject, ScheduledTimer.due_at).where(
            ScheduledTimer.kind == TIMER_KIND,
            ScheduledTimer.subject.like(f"{ticket_id}:%"),
            ScheduledTimer.fired_at.is_(None),
        )
    ).all()
    return {int(name.rpartition(":")[2]): due for name, due in rows}


def _team_name(s: Session, ticket: Ticket) -> str | None:
    return (
        None
        if ticket.team_id is None
        else s.scalar(select(Team.name).where(Team.id == ticket.team_id))
    )


def mark_read(s: Session, alert_id: uuid.UUID, now: dt.datetime) -> bool:
    """Mark one alert read (the desk's acknowledgement); True if it was unread."""
    result = s.execute(
        update(TicketAlert)
        .where(TicketAlert.id == alert_id, TicketAlert.read_at.is_(None))
        .values(read_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


@dataclass(frozen=True)
class AlertView:
    """One escalation alert addressed to one person, with its ticket's number and title."""

    id: uuid.UUID
    ticket_id: uuid.UUID
    number: str
    title: str
    level: int
    level_name: str
    clock: str
    recipient_role: str
    created_at: dt.datetime
    read_at: dt.datetime | None


def alerts_for(
    engine: Any, agent_id: uuid.UUID, *, unread_only: bool = True, limit: int = 100
) -> list[AlertView]:
    """One person's escalation alerts (unread only by default), newest first, from the
    centre or a desktop's cache (alerts and tickets are both replicated)."""
    stmt = (
        select(TicketAlert, Ticket.number, Ticket.title)
        .join(Ticket, Ticket.id == TicketAlert.ticket_id)
        .where(TicketAlert.recipient_id == agent_id)
        .order_by(TicketAlert.created_at.desc(), TicketAlert.id.desc())
        .limit(max(1, min(limit, 1000)))
    )
    if unread_only:
        stmt = stmt.where(TicketAlert.read_at.is_(None))
    with read_session(engine) as s:
        return [
            AlertView(
                a.id,
                a.ticket_id,
                number,
                title,
                a.level,
                a.level_name,
                a.clock,
                a.recipient_role,
                a.created_at,
                a.read_at,
            )
            for a, number, title in s.execute(stmt).all()
        ]
