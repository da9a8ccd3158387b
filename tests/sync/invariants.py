"""The sync invariants, checked after quiescence (shared by the model and chaos tests)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Set
from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from agentdesk.models import (
    AppliedMutation,
    ChangeLog,
    Customer,
    CustomerHistory,
    OutboxEntry,
    OutboxState,
)
from agentdesk.store.engine import read_session
from agentdesk.store.sync import SyncScope
from agentdesk.store.sync.verify import compare, explain


@dataclass(frozen=True)
class DeskView:
    """What the checks need to know about one desktop."""

    name: str
    engine: Engine
    scope: SyncScope
    client_id: uuid.UUID


def check_quiescent(
    central: Engine,
    desks: list[DeskView],
    outside_feed: Mapping[str, Set[str]] | None = None,
) -> dict[str, int]:
    """Assert every invariant; returns a few counts for the report.

    ``outside_feed`` names rows (table -> ids) the centre wrote without a feed row, which a
    cache therefore holds only after its next fill (the server's own audit entries).
    """
    with read_session(central) as s:
        applied = {
            (m.client_id, m.client_seq): m.mutation_id for m in s.scalars(select(AppliedMutation))
        }
        doubles = s.execute(
            select(ChangeLog.mutation_id, ChangeLog.entity_type, ChangeLog.entity_id)
            .where(ChangeLog.mutation_id.is_not(None))
            .group_by(ChangeLog.mutation_id, ChangeLog.entity_type, ChangeLog.entity_id)
            .having(func.count() > 1)
        ).all()
        once_deleted = set(
            s.scalars(
                select(CustomerHistory.customer_id).where(CustomerHistory.field == "deleted_at")
            )
        )
        live = set(s.scalars(select(Customer.id).where(Customer.deleted_at.is_(None))))
    assert not doubles, f"mutations applied twice: {doubles[:3]}"
    assert not once_deleted & live, "a deleted customer was resurrected at the centre"
    writes = 0
    for desk in desks:
        with read_session(desk.engine) as s:
            entries = list(s.scalars(select(OutboxEntry)))
            local_live = set(s.scalars(select(Customer.id).where(Customer.deleted_at.is_(None))))
        for e in entries:
            assert e.state != OutboxState.PENDING, (
                f"{desk.name}: entry #{e.client_seq} still pending"
            )
            key = (desk.client_id, e.client_seq)
            assert applied.get(key) == e.mutation_id, f"{desk.name}: write #{e.client_seq} lost"
        writes += len(entries)
        assert not once_deleted & local_live, f"{desk.name}: a deleted customer came back"
        checks = compare(desk.engine, central, desk.scope)
        unfed = outside_feed or {}
        bad = [
            c
            for c in checks
            if c.local_digest != c.central_digest or set(c.missing) - unfed.get(c.table, set())
        ]
        assert not bad, f"{desk.name}: {explain(bad)}"
    return {"writes": writes, "applied": len(applied)}
