"""Cross-sell: one suggestion per customer from transparent rules, and the customer's answer.

The rules (``resources/cross_sell.toml``) look at the segment, the kinds of products
held or lacking and the IVR intents of recent calls; the first rule that matches and
whose product the customer is eligible for is the suggestion, shown with the rule's
plain-words reason. A customer who opted out of marketing gets no suggestion at all,
whatever the rules say. The agent's "accepted" or "declined" is filed as an internal
note on the customer's timeline, linked to the call (``linkedid``), through the normal
``interaction.add`` mutation.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from agentdesk.ids import uuid7
from agentdesk.models import Channel, Direction, Interaction, ProductKind, utcnow
from agentdesk.paths import resource
from agentdesk.services.orders.catalogue import SEGMENTS, Catalogue, CatalogueError
from agentdesk.services.orders.eligibility import CustomerFacts, evaluate
from agentdesk.services.orders.facts import UnknownCustomer, read_facts
from agentdesk.services.orders.service import open_order_products
from agentdesk.store.engine import read_session
from agentdesk.store.mutation_args.base import rejecting
from agentdesk.store.mutation_args.interactions import InteractionAdd
from agentdesk.store.writer import LocalWriter

_NAME = re.compile(r"^[a-z][a-z0-9-]{1,47}$")
_KEYS = frozenset(
    {"name", "product", "why", "segments", "holds", "lacks", "recent_intents", "within_days"}
)
MAX_DAYS = 730
SUBJECT_PREFIX = "Offer"


class CrossSellError(ValueError):
    """A rules file that cannot be used; the message names the rule and key."""


@dataclass(frozen=True)
class CrossSellRule:
    """Conditions on a customer and the product they point to."""

    name: str
    product: str
    why: str
    segments: frozenset[str] = frozenset()
    holds: frozenset[ProductKind] = frozenset()
    lacks: frozenset[ProductKind] = frozenset()
    recent_intents: frozenset[str] = frozenset()
    within_days: int = 90

    def matches(self, facts: CustomerFacts, recent: frozenset[str]) -> bool:
        return (
            (not self.segments or facts.segment in self.segments)
            and self.holds <= facts.held
            and not self.lacks & facts.held
            and (not self.recent_intents or bool(self.recent_intents & recent))
        )


@dataclass(frozen=True)
class Suggestion:
    """What the agent offers, and why."""

    rule: str
    product_code: str
    product_name: str
    why: str


def _strings(table: Mapping[str, Any], key: str, where: str) -> frozenset[str]:
    values = table.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise CrossSellError(f"{where}: {key} must be a list of text values")
    return frozenset(values)


def _kinds(table: Mapping[str, Any], key: str, where: str) -> frozenset[ProductKind]:
    values = _strings(table, key, where)
    unknown = sorted(values - {k.value for k in ProductKind})
    if unknown:
        raise CrossSellError(f"{where}: {key} names an unknown product kind {unknown[0]!r}")
    return frozenset(ProductKind(v) for v in values)


def _rule(n: int, table: object, catalogue: Catalogue) -> CrossSellRule:
    if not isinstance(table, dict):
        raise CrossSellError(f"rules[{n}]: expected a table")
    name = table.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise CrossSellError(f"rules[{n}]: name must be lower-case letters, digits and -")
    where = f"rule {name}"
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise CrossSellError(f"{where}: unknown key {unknown[0]!r}")
    product = table.get("product")
    try:
        catalogue.get(str(product))
    except CatalogueError:
        raise CrossSellError(f"{where}: product {product!r} is not in the catalogue") from None
    why = table.get("why")
    if not isinstance(why, str) or not why.strip() or len(why) > 160 or "\n" in why:
        raise CrossSellError(f"{where}: why must be one line of at most 160 characters")
    segments = _strings(table, "segments", where)
    if segments - SEGMENTS:
        raise CrossSellError(f"{where}: unknown segment {sorted(segments - SEGMENTS)[0]!r}")
    days = table.get("within_days", 90)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise CrossSellError(f"{where}: within_days must be a whole number from 1 to {MAX_DAYS}")
    holds, lacks = _kinds(table, "holds", where), _kinds(table, "lacks", where)
    if holds & lacks:
        raise CrossSellError(f"{where}: a kind is both held and lacking")
    return CrossSellRule(
        name, str(product), why.strip(), segments, holds, lacks,
        _strings(table, "recent_intents", where), days,
    )  # fmt: skip


def parse_rules(data: Mapping[str, Any], catalogue: Catalogue) -> tuple[CrossSellRule, ...]:
    """The rules in file order; :class:`CrossSellError` on anything odd."""
    unknown = sorted(set(data) - {"rules"})
    if unknown:
        raise CrossSellError(f"unknown top-level key {unknown[0]!r} (only [[rules]])")
    raw = data.get("rules")
    if not isinstance(raw, list) or not raw:
        raise CrossSellError("the cross-sell file defines no [[rules]]")
    rules = tuple(_rule(n, table, catalogue) for n, table in enumerate(raw))
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise CrossSellError("rule names must be unique")
    return rules


def load_rules(catalogue: Catalogue, path: Path | None = None) -> tuple[CrossSellRule, ...]:
    """Load ``path`` or ``resources/cross_sell.toml``."""
    path = path or resource("cross_sell.toml")
    try:
        return parse_rules(tomllib.loads(path.read_text("utf-8")), catalogue)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CrossSellError(f"cannot read the cross-sell rules {path}: {exc}") from exc


def suggest(
    rules: tuple[CrossSellRule, ...],
    catalogue: Catalogue,
    facts: CustomerFacts,
    recent: Mapping[str, dt.datetime],
    now: dt.datetime,
    on_order: frozenset[str] = frozenset(),
) -> Suggestion | None:
    """The first matching rule whose product the customer may have; ``None`` if opted out.

    ``recent`` maps each IVR intent of the customer's calls to when it was last seen;
    ``on_order`` are the products the customer has already ordered (never suggested again).
    """
    if facts.marketing_opt_out:
        return None
    for rule in rules:
        cutoff = now - dt.timedelta(days=rule.within_days)
        intents = frozenset(i for i, at in recent.items() if at >= cutoff)
        if rule.product in on_order or not rule.matches(facts, intents):
            continue
        product = catalogue.get(rule.product)
        if evaluate(product, facts, now.date()).eligible:
            return Suggestion(rule.name, product.code, product.name, rule.why)
    return None


class CrossSellService:
    """Suggestions for the pop and workspace, and recording the customer's answer."""

    def __init__(
        self,
        engine: Engine,
        writer: LocalWriter,
        catalogue: Catalogue,
        rules: tuple[CrossSellRule, ...],
        agent_id: uuid.UUID | None = None,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self._writer = writer
        self._catalogue = catalogue
        self._rules = rules
        self._agent_id = agent_id
        self._clock = clock

    def suggestion(self, customer_id: uuid.UUID) -> Suggestion | None:
        """The suggestion for ``customer_id`` now, or ``None``."""
        now = self._clock()
        longest = max(r.within_days for r in self._rules)
        with read_session(self._engine) as session:
            try:
                facts = read_facts(session, customer_id, now.date())
            except UnknownCustomer:
                return None
            rows = session.execute(
                select(Interaction.ivr_intent, Interaction.started_at).where(
                    Interaction.customer_id == customer_id,
                    Interaction.ivr_intent.is_not(None),
                    Interaction.started_at >= now - dt.timedelta(days=longest),
                )
            ).all()
            on_order = frozenset(open_order_products(session, customer_id))
        recent: dict[str, dt.datetime] = {}
        for intent, at in rows:
            if intent is None:
                continue
            at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
            recent[intent] = max(at, recent.get(intent, at))
        return suggest(self._rules, self._catalogue, facts, recent, now, on_order)

    def answer_on_call(
        self, customer_id: uuid.UUID, suggestion: Suggestion, linkedid: str | None
    ) -> bool | None:
        """The answer already filed for ``suggestion`` on call ``linkedid`` (True: accepted),
        or ``None``. The pop and the workspace both offer it: the first answer counts."""
        if not linkedid:
            return None
        subjects = {
            f"{SUBJECT_PREFIX} {answer}: {suggestion.product_name}": answer == "accepted"
            for answer in ("accepted", "declined")
        }
        with read_session(self._engine) as session:
            subject = session.scalar(
                select(Interaction.subject)
                .where(
                    Interaction.customer_id == customer_id,
                    Interaction.linkedid == linkedid,
                    Interaction.subject.in_(subjects),
                )
                .order_by(Interaction.started_at)
                .limit(1)
            )
        return None if subject is None else subjects[subject]

    def record(
        self,
        customer_id: uuid.UUID,
        suggestion: Suggestion,
        accepted: bool,
        *,
        linkedid: str | None = None,
        channel: Channel = Channel.PHONE,
    ) -> bool:
        """File the customer's answer as an internal note linked to the call. Returns the
        answer on file: an offer already answered on this call (in the pop or the
        workspace) keeps its first answer and nothing more is written."""
        earlier = self.answer_on_call(customer_id, suggestion, linkedid)
        if earlier is not None:
            return earlier
        now = self._clock()
        answer = "accepted" if accepted else "declined"
        note_id = uuid7()
        with rejecting("interaction.add"):
            args = InteractionAdd(
                id=note_id,
                customer_id=customer_id,
                channel=channel,
                direction=Direction.INTERNAL,
                started_at=now,
                ended_at=now,
                agent_id=self._agent_id,
                linkedid=linkedid,
                subject=f"{SUBJECT_PREFIX} {answer}: {suggestion.product_name}",
                notes=f"Cross-sell rule {suggestion.rule}: {suggestion.why}.",
            )
        self._writer.write("interaction.add", args)
        return accepted
