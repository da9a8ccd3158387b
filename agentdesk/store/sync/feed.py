"""Applying change-feed pages to a cache, and widening the working set as tickets arrive.

A page is applied in one local transaction together with the cursor that
follows it, so a crash either keeps the page and the cursor or neither; a
replayed page changes nothing (version guard, upsert by id).

A ticket that enters the working set (routed to the team, or assigned to
the agent) brings its whole story: before the page is applied the sync
engine fetches the ticket's history and comments and, if its customer is
not cached yet, the customer's card, history, tickets and recent timeline.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from agentdesk.models import Customer, Ticket, agent_team
from agentdesk.store.engine import read_session
from agentdesk.store.sync.entities import (
    BROADCAST_KINDS,
    KINDS,
    EntityKind,
    decode_row,
    payload_root_id,
)
from agentdesk.store.sync.local import CURSOR_KEY, LocalStore, sync_session, upsert
from agentdesk.store.sync.protocol import Cursor, FeedRow
from agentdesk.store.sync.scope import SyncScope
from agentdesk.store.sync.snapshot import merge_rows

ClosureFetcher = Callable[
    [list[uuid.UUID], list[uuid.UUID]], list[tuple[Table, list[dict[str, Any]]]]
]


@dataclass(frozen=True)
class PageOutcome:
    """What one applied page changed, for screens to refresh."""

    changed: tuple[tuple[str, uuid.UUID], ...]
    cursor: Cursor
    skipped_pending: int = 0
    pinned_customers: tuple[uuid.UUID, ...] = field(default_factory=tuple)


def _uuid(value: Any) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(str(value))


def _page_ids(rows: Sequence[FeedRow]) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """Every customer and ticket id a page mentions (as the entity or as a parent)."""
    customers: set[uuid.UUID] = set()
    tickets: set[uuid.UUID] = set()
    for r in rows:
        if not r.data:
            continue
        row = r.data["row"]
        if r.entity_type == "customer":
            customers.add(r.entity_id)
        elif r.entity_type == "ticket":
            tickets.add(r.entity_id)
        for key, bucket in (("customer_id", customers), ("ticket_id", tickets)):
            ident = _uuid(row.get(key))
            if ident is not None:
                bucket.add(ident)
    return customers, tickets


def _cached_versions(
    s: Session, model: type[Customer] | type[Ticket], ids: set[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Version of each of ``ids`` present in the cache (one query per 500 ids)."""
    found: dict[uuid.UUID, int] = {}
    listed = list(ids)
    for start in range(0, len(listed), 500):
        chunk = listed[start : start + 500]
        found.update(
            (row[0], row[1])
            for row in s.execute(select(model.id, model.version).where(model.id.in_(chunk)))
        )
    return found


class FeedApplier:
    """Decides, row by row, whether a feed row belongs in this cache and applies it.

    Per page it loads which of the mentioned customers and tickets are cached
    (with their versions) once, and keeps that up to date as rows apply.
    """

    def __init__(self, local: LocalStore, scope: SyncScope) -> None:
        self.local = local
        self.scope = scope

    def _routed_here(self, row: dict[str, Any]) -> bool:
        team = _uuid(row.get("team_id"))
        assignee = _uuid(row.get("assignee_id"))
        return team in self.scope.team_ids or (
            self.scope.agent_id is not None and assignee == self.scope.agent_id
        )

    def _in_scope(
        self, kind: EntityKind, row: dict[str, Any], cached: dict[str, dict[uuid.UUID, int]]
    ) -> bool:
        if self.scope.full_replica or kind.name in BROADCAST_KINDS:
            return True
        customers, tickets = cached["customer"], cached["ticket"]
        name = kind.name
        if name == "customer":
            return _uuid(row["id"]) in customers
        if (
            name in ("customer_history", "interaction")
            and _uuid(row.get("customer_id")) in customers
        ):
            return True
        if name == "interaction":
            return (
                self.scope.agent_id is not None
                and _uuid(row.get("agent_id")) == self.scope.agent_id
            )
        if name == "ticket":
            return (
                _uuid(row["id"]) in tickets
                or self._routed_here(row)
                or _uuid(row.get("customer_id")) in customers
            )
        if name in ("ticket_history", "ticket_comment"):
            return _uuid(row.get("ticket_id")) in tickets
        if name in ("reminder", "ticket_alert"):
            # One agent's follow-ups: kept only on that agent's desk.
            owner = _uuid(row.get("agent_id" if name == "reminder" else "recipient_id"))
            return self.scope.agent_id is not None and owner == self.scope.agent_id
        return False

    def _team_agents(self, s: Session) -> set[uuid.UUID]:
        agents = set(
            s.scalars(
                select(agent_team.c.agent_id).where(
                    agent_team.c.team_id.in_(sorted(self.scope.team_ids))
                )
            )
        )
        return agents | ({self.scope.agent_id} if self.scope.agent_id else set())

    def _cached(self, s: Session, rows: Sequence[FeedRow]) -> dict[str, dict[uuid.UUID, int]]:
        customers, tickets = _page_ids(rows)
        return {
            "customer": _cached_versions(s, Customer, customers),
            "ticket": _cached_versions(s, Ticket, tickets),
        }

    def arrivals(self, rows: Sequence[FeedRow]) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
        """(customers, tickets) entering the working set with this page: fetch their closure.

        The same rules as the initial fill: a ticket routed to the team or the agent, and a
        customer such a ticket is about or the team just spoke with; and the survivor of a
        merge whose duplicate this desktop holds (services/crm/merge.py).
        """
        if self.scope.full_replica:
            return [], []
        customers: dict[uuid.UUID, None] = {}
        tickets: dict[uuid.UUID, None] = {}
        with read_session(self.local.engine) as s:
            team_agents = self._team_agents(s)
            cached = self._cached(s, rows)
        for r in rows:
            if not r.data:
                continue
            row = r.data["row"]
            survivor = _uuid(row.get("merged_into")) if r.entity_type == "customer" else None
            if survivor is not None:
                # A customer this desktop holds was merged: bring the one it was merged into,
                # so the moved tickets and timeline (in this page) land on a cached customer.
                if r.entity_id in cached["customer"] and survivor not in cached["customer"]:
                    customers[survivor] = None
                continue
            customer = _uuid(row.get("customer_id"))
            if r.entity_type == "ticket" and self._routed_here(row):
                if r.entity_id not in cached["ticket"]:
                    tickets[r.entity_id] = None
            elif not (r.entity_type == "interaction" and _uuid(row.get("agent_id")) in team_agents):
                continue
            if customer is not None and customer not in cached["customer"]:
                customers[customer] = None
        return list(customers), list(tickets)

    def apply(
        self,
        rows: Sequence[FeedRow],
        closure: list[tuple[Table, list[dict[str, Any]]]],
        pinned: Sequence[uuid.UUID] = (),
        *,
        upto: Cursor | None = None,
    ) -> PageOutcome:
        changed: list[tuple[str, uuid.UUID]] = []
        skipped = 0
        current = self.local.cursor()
        with sync_session(self.local.engine) as s:
            pending = self.local.pending_roots(s)
            for table, chunk in closure:
                merge_rows(s, table, chunk, pending)
            cached = self._cached(s, rows)
            for r in rows:
                outcome = self._apply_row(s, r, pending, cached)
                if outcome == "applied":
                    changed.append((r.entity_type, r.entity_id))
                elif outcome == "pending":
                    skipped += 1
            cursor = max([current, *(r.cursor for r in rows), *([upto] if upto else [])])
            if cursor != current:
                self.local.put_state(s, CURSOR_KEY, str(cursor))
        return PageOutcome(tuple(dict.fromkeys(changed)), cursor, skipped, tuple(pinned))

    def _apply_row(
        self,
        s: Session,
        r: FeedRow,
        pending: set[uuid.UUID],
        cached: dict[str, dict[uuid.UUID, int]],
    ) -> str:
        kind = KINDS.get(r.entity_type)
        if kind is None or r.data is None:
            return "ignored"
        row = r.data["row"]
        if not self._in_scope(kind, row, cached):
            return "out_of_scope"
        if kind.root is not None and payload_root_id(kind, r.data) in pending:
            return "pending"  # the agent's unacknowledged edit stays; refreshed after the ack
        if kind.versioned:
            written = self.local._write_versioned(
                s, kind, r.data, allow_equal=False, known=cached.get(kind.name)
            )
            return "applied" if written else "stale"
        upsert(s, kind.table, [decode_row(row, kind.table)])
        return "applied"


__all__ = ["ClosureFetcher", "FeedApplier", "PageOutcome"]
