"""Routing rules: which team a ticket goes to, at what priority, and who in the team gets it.

The rules live in ``resources/routing.toml``. Each rule lists conditions on a
ticket's facts (reason, product, customer segment, language, channel); the
first rule whose conditions all hold decides the team and priority, and the
last rule has no conditions so every ticket lands somewhere. A team may ask for
its tickets to be handed out inside the team, round-robin or to the least-loaded
member; that choice is carried with the ticket and made by the centre, the only
place that sees every member's open tickets (``store/mutators/tickets.py``).

Pure: no clock, no database. The service turns the team's name into its id
and writes the decision, naming the rule, into the ticket's history.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from agentdesk.models import TicketPriority
from agentdesk.paths import resource

FACTS = ("reason", "product", "segment", "language", "channel")


class RoutingError(ValueError):
    """A routing file that cannot be used, or a ticket the rules cannot route."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class Assignment(StrEnum):
    """How a team hands its new tickets to its members."""

    NONE = "none"  # the ticket waits in the team's queue
    ROUND_ROBIN = "round_robin"  # the member whose last routed ticket is oldest
    LEAST_LOADED = "least_loaded"  # the member with the fewest open tickets


@dataclass(frozen=True)
class TicketFacts:
    """What routing looks at. A fact left ``None`` matches only rules that do not ask for it."""

    reason: str
    product: str | None = None
    segment: str | None = None
    language: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class Rule:
    """Conditions (fact → accepted values) and where a matching ticket goes."""

    name: str
    team: str
    priority: TicketPriority
    conditions: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def matches(self, facts: TicketFacts) -> bool:
        return all(getattr(facts, k) in values for k, values in self.conditions.items())


@dataclass(frozen=True)
class RouteDecision:
    """The rule that matched and what it decided."""

    rule: str
    team: str
    priority: TicketPriority
    assignment: Assignment

    def describe(self) -> str:
        """One line for the ticket's history (names only; no customer data)."""
        how = "" if self.assignment is Assignment.NONE else f", {self.assignment.value}"
        return f"rule {self.rule}: {self.team}, {self.priority.value}{how}"


@dataclass(frozen=True)
class RoutingRules:
    """The ordered rules and each team's assignment mode."""

    rules: tuple[Rule, ...]
    teams: Mapping[str, Assignment]
    reasons: frozenset[str] = frozenset()

    def route(self, facts: TicketFacts) -> RouteDecision:
        """The first matching rule's decision; an unknown reason is a ``RoutingError``."""
        if self.reasons and facts.reason not in self.reasons:
            raise RoutingError(f"unknown ticket reason {facts.reason!r}", "reason")
        for rule in self.rules:
            if rule.matches(facts):
                return RouteDecision(rule.name, rule.team, rule.priority, self.teams[rule.team])
        # parse_rules makes the last rule unconditional; this is unreachable with a loaded file.
        raise RoutingError(f"no routing rule matches reason {facts.reason!r}", "reason")

    def assignment(self, team: str) -> Assignment:
        return self.teams.get(team, Assignment.NONE)


def _strings(value: object, where: str) -> frozenset[str]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise RoutingError(f"{where}: expected a list of text values")
    return frozenset(values)


def _rule(n: int, table: object, teams: Mapping[str, Assignment], reasons: Collection[str]) -> Rule:
    if not isinstance(table, dict):
        raise RoutingError(f"rules[{n}]: expected a table")
    name = str(table.get("name") or f"#{n + 1}")
    where = f"rule {name}"
    unknown = set(table) - {"name", "team", "priority", *FACTS}
    if unknown:
        raise RoutingError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    team = table.get("team")
    if team not in teams:
        raise RoutingError(f"{where}: unknown team {team!r} (declare it under [teams])", "team_id")
    try:
        priority = TicketPriority(table.get("priority", TicketPriority.NORMAL.value))
    except ValueError:
        raise RoutingError(f"{where}: unknown priority {table.get('priority')!r}") from None
    conditions = {k: _strings(table[k], f"{where}.{k}") for k in FACTS if k in table}
    bad = sorted(conditions.get("reason", frozenset()) - set(reasons)) if reasons else []
    if bad:
        raise RoutingError(f"{where}: unknown ticket reason {bad[0]!r}", "reason")
    return Rule(name, str(team), priority, conditions)


def parse_rules(data: Mapping[str, Any], reasons: Collection[str] = ()) -> RoutingRules:
    """Build the rules from the parsed TOML; ``reasons`` are the codes the SLA policy knows."""
    teams: dict[str, Assignment] = {}
    for name, table in data.get("teams", {}).items():
        mode = table.get("assignment", "none") if isinstance(table, dict) else None
        try:
            teams[name] = Assignment(str(mode))
        except ValueError:
            raise RoutingError(f"teams.{name}: unknown assignment {mode!r}") from None
    raw = data.get("rules", [])
    if not isinstance(raw, list) or not raw:
        raise RoutingError("the routing file defines no [[rules]]")
    rules = tuple(_rule(n, t, teams, reasons) for n, t in enumerate(raw))
    if rules[-1].conditions:
        raise RoutingError(f"the last rule ({rules[-1].name}) must have no conditions")
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise RoutingError("rule names must be unique")
    return RoutingRules(rules, teams, frozenset(reasons))


def load_rules(path: Path | None = None, reasons: Collection[str] = ()) -> RoutingRules:
    """Load ``path`` or ``resources/routing.toml``."""
    path = path or resource("routing.toml")
    try:
        return parse_rules(tomllib.loads(path.read_text("utf-8")), reasons)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RoutingError(f"cannot read the routing rules {path}: {exc}") from exc
