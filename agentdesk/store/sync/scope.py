"""Which central rows belong in a desktop's cache (its working set), as SQL over the centre.

The working set is the team's tickets (and the agent's own), the customers
those tickets are about, customers the team spoke to recently, everything
hanging off those customers and tickets, plus all reference data. A small
site can ask for a full replica instead. Rows that enter the cache later
(a customer opened from a screen pop, a ticket moved into the team) stay and
are kept current by the feed.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, false, or_, select, true, union

from agentdesk.models import (
    AuditEntry,
    Customer,
    CustomerHistory,
    Interaction,
    KnowledgeArticle,
    KnowledgeArticleVersion,
    Reminder,
    Ticket,
    TicketAlert,
    TicketComment,
    TicketHistory,
    agent_team,
    utcnow,
)
from agentdesk.store.sync.entities import CUSTOMER_CHILDREN, replica_select


@dataclass(frozen=True)
class SyncScope:
    """What one desktop caches. ``full_replica`` copies every replicated row."""

    team_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)
    agent_id: uuid.UUID | None = None
    full_replica: bool = False
    recent_days: int = 30  # customers the team spoke to within this many days
    interaction_days: int = 90  # timeline depth copied for each cached customer

    def __post_init__(self) -> None:
        if self.recent_days < 0 or self.interaction_days < 0:
            raise ValueError("scope windows must not be negative")

    def to_json(self) -> str:
        return json.dumps(
            {
                "team_ids": sorted(str(t) for t in self.team_ids),
                "agent_id": None if self.agent_id is None else str(self.agent_id),
                "full_replica": self.full_replica,
                "recent_days": self.recent_days,
                "interaction_days": self.interaction_days,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> SyncScope:
        data = json.loads(text)
        return cls(
            team_ids=frozenset(uuid.UUID(t) for t in data["team_ids"]),
            agent_id=None if data["agent_id"] is None else uuid.UUID(data["agent_id"]),
            full_replica=bool(data["full_replica"]),
            recent_days=int(data["recent_days"]),
            interaction_days=int(data["interaction_days"]),
        )


@dataclass(frozen=True)
class ScopeQueries:
    """The id sets of a working set, as central sub-selects, and the timeline cutoff."""

    customer_ids: Select[Any] | None  # None: every customer
    ticket_ids: Select[Any] | None
    interaction_cutoff: dt.datetime | None
    agent_id: uuid.UUID | None
    with_audit: bool
    with_knowledge: bool = True  # the whole knowledge base: a fill, not a pin's closure


def _ticket_condition(scope: SyncScope) -> ColumnElement[bool]:
    conds: list[ColumnElement[bool]] = []
    if scope.team_ids:
        conds.append(Ticket.team_id.in_(sorted(scope.team_ids)))
    if scope.agent_id is not None:
        conds.append(Ticket.assignee_id == scope.agent_id)
    return or_(*conds) if conds else false()


def scope_queries(scope: SyncScope, now: dt.datetime | None = None) -> ScopeQueries:
    now = now or utcnow()
    if scope.full_replica:
        return ScopeQueries(None, None, None, scope.agent_id, True)
    team_agents = select(agent_team.c.agent_id).where(
        agent_team.c.team_id.in_(sorted(scope.team_ids))
    )
    spoke_with = or_(
        Interaction.agent_id.in_(team_agents),
        Interaction.agent_id == scope.agent_id if scope.agent_id else false(),
    )
    customers = union(
        select(Ticket.customer_id).where(_ticket_condition(scope), Ticket.customer_id.is_not(None)),
        select(Interaction.customer_id).where(
            Interaction.started_at >= now - dt.timedelta(days=scope.recent_days),
            Interaction.customer_id.is_not(None),
            spoke_with,
        ),
    )
    customer_ids = select(customers.subquery().c[0])
    tickets = select(Ticket.id).where(
        or_(_ticket_condition(scope), Ticket.customer_id.in_(customer_ids))
    )
    return ScopeQueries(
        customer_ids,
        tickets,
        now - dt.timedelta(days=scope.interaction_days),
        scope.agent_id,
        False,
    )


def pin_queries(
    customer_ids: list[uuid.UUID],
    ticket_ids: list[uuid.UUID],
    scope: SyncScope,
    now: dt.datetime | None = None,
) -> ScopeQueries:
    """The closure of some customers and tickets entering the working set.

    A customer brings its card, history, tickets and recent timeline; a
    ticket brings its history and comments.
    """
    now = now or utcnow()
    ids = select(Customer.id).where(Customer.id.in_(customer_ids))
    tickets = select(Ticket.id).where(
        or_(Ticket.customer_id.in_(customer_ids), Ticket.id.in_(ticket_ids))
    )
    return ScopeQueries(
        ids,
        tickets,
        now - dt.timedelta(days=scope.interaction_days),
        None,
        False,
        with_knowledge=False,
    )


def _in(column: ColumnElement[uuid.UUID], ids: Select[Any] | None) -> ColumnElement[bool]:
    return true() if ids is None else column.in_(ids)


def table_selects(q: ScopeQueries) -> Iterator[tuple[Table, Select[Any]]]:
    """One SELECT per synced table, parents first, all within the working set."""
    if q.with_knowledge:
        # Every desktop holds the whole knowledge base (suggestions need no round trip);
        # before interactions, which may cite an article.
        for knowledge in (KnowledgeArticle.__table__, KnowledgeArticleVersion.__table__):
            assert isinstance(knowledge, Table)
            yield knowledge, select(knowledge)
    cust = Customer.__table__
    assert isinstance(cust, Table)
    # replica_select: ciphertext columns stay at the centre (NULL in the cache).
    yield cust, replica_select(cust).where(_in(cust.c.id, q.customer_ids))
    for _, table in CUSTOMER_CHILDREN:
        yield table, replica_select(table).where(_in(table.c.customer_id, q.customer_ids))
    hist = CustomerHistory.__table__
    assert isinstance(hist, Table)
    yield hist, select(hist).where(_in(hist.c.customer_id, q.customer_ids))
    for model, column in (
        (Ticket, "id"),
        (TicketHistory, "ticket_id"),
        (TicketComment, "ticket_id"),
    ):
        table = cast(Table, model.__table__)
        yield table, select(table).where(_in(table.c[column], q.ticket_ids))
    inter = Interaction.__table__
    assert isinstance(inter, Table)
    recent = true() if q.interaction_cutoff is None else inter.c.started_at >= q.interaction_cutoff
    mine = inter.c.agent_id == q.agent_id if q.agent_id is not None else false()
    yield inter, select(inter).where(recent, or_(_in(inter.c.customer_id, q.customer_ids), mine))
    # One agent's follow-ups: open reminders and the escalation alerts addressed to them.
    followups: tuple[tuple[Table, str, ColumnElement[bool]], ...] = (
        (cast(Table, Reminder.__table__), "agent_id", Reminder.state.in_(("pending", "due"))),
        (cast(Table, TicketAlert.__table__), "recipient_id", true()),
    )
    for table, owner, extra in followups:
        if q.customer_ids is None and q.ticket_ids is None:
            yield table, select(table)  # a full replica
        elif q.agent_id is not None:
            yield table, select(table).where(table.c[owner] == q.agent_id, extra)
    if q.with_audit:
        audit = AuditEntry.__table__
        assert isinstance(audit, Table)
        yield audit, select(audit)
