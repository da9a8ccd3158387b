"""Automatic reminders from policy: the assignee of an open ticket hears before a clock runs out.

Policy (``resources/reminders.toml``): a list of rules, each naming the SLA clocks it
watches, how long ``before`` the due time the reminder comes due, and its note.

On the server this is a leader job (:class:`PolicyReminders`, a
:class:`~agentdesk.services.tickets.feed_follower.FeedFollower` on ``ticket`` rows with
its own cursor): for each ticket changed it works out the one reminder the policy wants
(the first rule whose clocks include the ticket's earliest running clock, for its
assignee) and makes the stored ``source = "policy"`` reminders agree, in the same
transaction, with their feed rows:

* the reminder's id is derived from the ticket, the rule and the due instant (the clock
  "episode"), so replaying a change, a restart or two instances never make a second one;
* a new assignee takes the open reminder over; a new due instant (the clock restarted)
  withdraws the open one for the old instant and sets one for the new;
* a ticket paused, resolved, closed, deleted or unassigned has its open one withdrawn;
* a reminder the agent already marked done stays done.

The reminders job (``reminders.py``) then keeps their timers like any reminder's, and
they reach the assignee's desk through sync. Logs name tickets by id only.
"""

from __future__ import annotations

import datetime as dt
import logging
import string
import tomllib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from agentdesk.models import Reminder, ReminderState, Ticket, utcnow
from agentdesk.paths import resource
from agentdesk.services.tickets.due import due_keys
from agentdesk.services.tickets.escalation import running_clock
from agentdesk.services.tickets.feed_follower import FeedFollower, SweepKey, publish
from agentdesk.services.tickets.sla import SlaPolicyError, parse_duration
from agentdesk.store.mutation_args.reminders import MAX_NOTE
from agentdesk.store.mutations import Changed
from agentdesk.store.mutators.reminders import owner_team
from agentdesk.store.sync.central import CentralStore

log = logging.getLogger(__name__)

CURSOR_KEY = "policy_reminders.cursor"
SOURCE = "policy"
CLOCKS = ("first_response", "next_update", "resolution")
MAX_BEFORE = dt.timedelta(days=7)
PLACEHOLDERS = frozenset({"number", "clock"})
OPEN = (ReminderState.PENDING.value, ReminderState.DUE.value)
_NAMESPACE = uuid.UUID("5f0c8a43-7d43-4d1e-9a4a-6c1c1d5e0b12")
_FAR = dt.timedelta(days=3650)
Clock = Callable[[], dt.datetime]


class ReminderPolicyError(ValueError):
    """The reminder policy file is missing or malformed."""


@dataclass(frozen=True)
class ReminderRule:
    name: str
    clocks: frozenset[str]
    before: dt.timedelta
    note: str

    def text(self, number: str, clock: str) -> str:
        return self.note.format(number=number, clock=clock.replace("_", " "))[:MAX_NOTE]


def _rule(index: int, table: object) -> ReminderRule:
    where = f"policy[{index}]"
    if not isinstance(table, dict):
        raise ReminderPolicyError(f"{where}: a policy is a table with name, clocks, before, note")
    unknown = set(table) - {"name", "clocks", "before", "note"}
    if unknown:
        raise ReminderPolicyError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    name = table.get("name")
    if not isinstance(name, str) or not name or len(name) > 32:
        raise ReminderPolicyError(f"{where}: name must be 1-32 characters")
    clocks = table.get("clocks")
    if not isinstance(clocks, list) or not clocks or any(c not in CLOCKS for c in clocks):
        raise ReminderPolicyError(f"{where}: clocks lists one or more of {', '.join(CLOCKS)}")
    try:
        before = parse_duration(str(table.get("before", "")))
    except SlaPolicyError as exc:
        raise ReminderPolicyError(f"{where}: before: {exc}") from None
    if before > MAX_BEFORE:
        raise ReminderPolicyError(f"{where}: before must be at most 7 days")
    note = table.get("note")
    if not isinstance(note, str) or not note.strip() or len(note) > MAX_NOTE:
        raise ReminderPolicyError(f"{where}: note must be 1-{MAX_NOTE} characters")
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(note) if f is not None}
    except ValueError as exc:
        raise ReminderPolicyError(f"{where}: note: {exc}") from None
    if fields - PLACEHOLDERS:
        bad = sorted(fields - PLACEHOLDERS)[0]
        raise ReminderPolicyError(
            f"{where}: note: unknown placeholder {{{bad}}} (known: {{number}}, {{clock}})"
        )
    return ReminderRule(name, frozenset(clocks), before, note)


def parse_reminder_policy(data: Mapping[str, Any]) -> tuple[ReminderRule, ...]:
    unknown = set(data) - {"policy"}
    if unknown:
        raise ReminderPolicyError(f"unknown key {sorted(unknown)[0]!r}")
    raw = data.get("policy", [])
    if not isinstance(raw, list):
        raise ReminderPolicyError("policy must be an array of tables ([[policy]])")
    rules = tuple(_rule(i, t) for i, t in enumerate(raw))
    if len({r.name for r in rules}) != len(rules):
        raise ReminderPolicyError("policy names must be unique")
    return rules


def load_reminder_policy(path: Path | None = None) -> tuple[ReminderRule, ...]:
    """Load ``resources/reminders.toml`` (or ``path``); errors name what is wrong."""
    try:
        if path is None:
            path = resource("reminders.toml")
        return parse_reminder_policy(tomllib.loads(path.read_text("utf-8")))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ReminderPolicyError(f"cannot read the reminder policy: {exc}") from exc


@dataclass(frozen=True)
class Wanted:
    id: uuid.UUID
    agent_id: uuid.UUID
    due_at: dt.datetime
    note: str


def policy_reminder_id(ticket_id: uuid.UUID, rule: str, episode: dt.datetime) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{ticket_id}/{rule}/{episode.astimezone(dt.UTC).isoformat()}")


class PolicyReminders(FeedFollower):
    """Keeps each open ticket's policy reminder in line with its assignee and clocks."""

    entity_type = "ticket"
    cursor_key = CURSOR_KEY
    name = "policy reminders"

    def __init__(
        self,
        store: CentralStore,
        rules: tuple[ReminderRule, ...] | None = None,
        *,
        clock: Clock = utcnow,
    ) -> None:
        super().__init__(store)
        self.rules = load_reminder_policy() if rules is None else rules
        self.clock = clock

    def sweep_page(self, s: Session, after: SweepKey | None, limit: int) -> list[SweepKey]:
        return due_keys(s, self.clock() + _FAR, limit, after)

    def wanted(self, ticket: Ticket | None) -> Wanted | None:
        if ticket is None or ticket.deleted_at is not None or ticket.assignee_id is None:
            return None
        episode = ticket.sla_next_due
        if episode is None:
            return None  # paused, resolved or closed: no clock to remind about
        if episode <= self.clock():
            return None  # already breached: escalation's business, not a "due soon" reminder
        clock = running_clock(ticket)
        rule = next((r for r in self.rules if clock in r.clocks), None)
        if rule is None:
            return None
        due_at = max(episode - rule.before, self.clock())
        return Wanted(
            policy_reminder_id(ticket.id, rule.name, episode),
            ticket.assignee_id,
            due_at,
            rule.text(ticket.number, clock),
        )

    def replan_in(self, s: Session, ticket_id: uuid.UUID) -> None:
        ticket = s.get(Ticket, ticket_id)
        want = self.wanted(ticket)
        now = self.clock()
        rows = s.scalars(
            select(Reminder)
            .where(
                Reminder.ticket_id == ticket_id,
                Reminder.source == SOURCE,
                Reminder.state.in_(OPEN),
            )
            .with_for_update()
        ).all()
        changed: list[Changed] = []
        for row in rows:
            if want is not None and row.id == want.id:
                if row.agent_id != want.agent_id:  # reassigned: the new assignee takes it over
                    row.agent_id = want.agent_id
                    row.team_id = owner_team(s, want.agent_id, ticket)
                    self._bump(row, now, changed)
                continue
            row.state = ReminderState.CANCELLED.value  # an old clock's, or nothing to remind
            row.done_at = now
            self._bump(row, now, changed)
        if want is not None and ticket is not None and s.get(Reminder, want.id) is None:
            s.add(
                Reminder(
                    id=want.id,
                    agent_id=want.agent_id,
                    team_id=owner_team(s, want.agent_id, ticket),
                    ticket_id=ticket.id,
                    customer_id=ticket.customer_id,
                    due_at=want.due_at,
                    note=want.note,
                    source=SOURCE,
                    state=ReminderState.PENDING.value,
                    version=1,
                    created_at=now,
                    updated_at=now,
                )
            )
            changed.append(Changed("reminder", want.id, version=1))
            log.info("policy reminder %s set for ticket %s", want.id, ticket.id)
        if changed:
            s.flush()
            publish(self.store, s, changed)

    @staticmethod
    def _bump(row: Reminder, now: dt.datetime, changed: list[Changed]) -> None:
        row.version += 1
        row.updated_at = now
        changed.append(Changed("reminder", row.id, version=row.version))
