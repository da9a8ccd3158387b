"""Retention: delete records older than the policy allows, everywhere the rule runs.

The same policy runs on the central store and on each workstation cache, so
no deletions need to travel through sync. Customers under legal hold are
exempt. Every purge run, dry or real, leaves an audit entry saying what it
removed and under which policy.
"""

from __future__ import annotations

import datetime as dt
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from agentdesk.models import AuditEntry, CallRecord, Customer, Interaction, utcnow
from agentdesk.paths import resource
from agentdesk.store.audit_log import PURGE_ACTION, append_audit, purge_before
from agentdesk.store.engine import write_session

BATCH = 5_000


@dataclass(frozen=True)
class RetentionPolicy:
    """Days to keep each kind of record."""

    interaction_days: int = 2555
    call_record_days: int = 400
    audit_days: int = 3650

    @classmethod
    def load(cls, path: Path | None = None) -> RetentionPolicy:
        data = tomllib.loads((path or resource("retention.toml")).read_text(encoding="utf-8"))
        policy = cls(
            interaction_days=int(
                data.get("interaction", {}).get("keep_days", cls.interaction_days)
            ),
            call_record_days=int(
                data.get("call_record", {}).get("keep_days", cls.call_record_days)
            ),
            audit_days=int(data.get("audit_entry", {}).get("keep_days", cls.audit_days)),
        )
        for name, days in (
            ("interaction", policy.interaction_days),
            ("call_record", policy.call_record_days),
            ("audit_entry", policy.audit_days),
        ):
            if days < 30:
                raise ValueError(f"retention for {name} is {days} days; below 30 days is refused")
        return policy


@dataclass(frozen=True)
class PurgeReport:
    """How many rows a purge removed (or would remove, when dry)."""

    interactions: int
    call_records: int
    audit_entries: int
    dry_run: bool
    cutoff_interactions: dt.datetime


def _held_customers() -> Select[uuid.UUID]:
    return select(Customer.id).where(Customer.legal_hold.is_(True))


def _interaction_filter(cutoff: dt.datetime) -> ColumnElement[bool]:
    return and_(
        Interaction.started_at < cutoff,
        or_(Interaction.customer_id.is_(None), Interaction.customer_id.not_in(_held_customers())),
    )


def _call_record_filter(cutoff: dt.datetime) -> ColumnElement[bool]:
    return and_(
        func.coalesce(CallRecord.ended_at, CallRecord.enqueued_at, CallRecord.offered_at) < cutoff,
        or_(CallRecord.customer_id.is_(None), CallRecord.customer_id.not_in(_held_customers())),
    )


def _delete_in_batches(
    engine: Engine, model: type[Interaction | CallRecord | AuditEntry], where: ColumnElement[bool]
) -> int:
    """Delete matching rows a batch per transaction, so writers are never blocked for long."""
    total = 0
    pk = model.__mapper__.primary_key[0]
    while True:
        with write_session(engine) as session:
            ids = list(session.scalars(select(pk).where(where).limit(BATCH)))
            if not ids:
                return total
            # Calls reference interactions; unlink before the interaction goes.
            if model is Interaction:
                session.execute(
                    update(CallRecord)
                    .where(CallRecord.interaction_id.in_(ids))
                    .values(interaction_id=None)
                )
            session.execute(delete(model).where(pk.in_(ids)))
            total += len(ids)


def _count(session: Session, model: type, where: ColumnElement[bool]) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(where)) or 0)


def purge(
    engine: Engine,
    policy: RetentionPolicy,
    *,
    actor: str,
    now: dt.datetime | None = None,
    dry_run: bool = False,
) -> PurgeReport:
    """Apply ``policy`` to the store behind ``engine`` and audit the run."""
    now = now or utcnow()
    cut_i = now - dt.timedelta(days=policy.interaction_days)
    cut_c = now - dt.timedelta(days=policy.call_record_days)
    cut_a = now - dt.timedelta(days=policy.audit_days)
    if dry_run:
        with write_session(engine) as s:
            interactions = _count(s, Interaction, _interaction_filter(cut_i))
            call_records = _count(s, CallRecord, _call_record_filter(cut_c))
    else:
        call_records = _delete_in_batches(engine, CallRecord, _call_record_filter(cut_c))
        interactions = _delete_in_batches(engine, Interaction, _interaction_filter(cut_i))
    # The audit trail is cut only from its start and in the same transaction as the purge's
    # own entry, which records where the chain now begins (store/audit_log.py).
    with write_session(engine) as s:
        cut = purge_before(s, cut_a, dry_run=dry_run)
        report = PurgeReport(
            interactions,
            call_records,
            int(cut["removed"]),
            dry_run=dry_run,
            cutoff_interactions=cut_i,
        )
        details: dict[str, Any] = {
            "interactions": report.interactions,
            "call_records": report.call_records,
            "audit_entries": report.audit_entries,
            "policy_days": {
                "interaction": policy.interaction_days,
                "call_record": policy.call_record_days,
                "audit_entry": policy.audit_days,
            },
            "dry_run": dry_run,
        }
        if not dry_run and "purged_through" in cut:
            details["purged_through"] = cut["purged_through"]
        append_audit(
            s,
            actor=actor,
            action=PURGE_ACTION,
            entity_type="store",
            reason="dry run" if dry_run else "retention policy",
            details=details,
        )
    return report
