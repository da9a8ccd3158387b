"""Retention purge: old records go, legal holds and recent records stay, every run is audited."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from unittest.mock import patch

import pytest
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from agentdesk.cli import main
from agentdesk.models import AuditEntry, CallRecord, Customer, Interaction, SyncState
from agentdesk.services.platform.retention import RetentionPolicy, purge
from agentdesk.store.audit_log import FLOOR_KEY, append_audit, verify_chain

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


def _customer(s: Session, *, hold: bool) -> Customer:
    c = Customer(
        kind="person",
        given_name="Ada",
        family_name="Byron",
        display_name="Ada Byron",
        legal_hold=hold,
    )
    s.add(c)
    s.flush()
    return c


def _interaction(s: Session, customer: Customer | None, days_ago: int) -> Interaction:
    started = NOW - dt.timedelta(days=days_ago)
    row = Interaction(
        customer_id=customer.id if customer else None,
        channel="phone",
        direction="inbound",
        started_at=started,
        ended_at=started + dt.timedelta(minutes=4),
    )
    s.add(row)
    s.flush()
    return row


@pytest.fixture
def populated(central: Engine) -> Engine:
    with Session(central) as s, s.begin():
        free, held = _customer(s, hold=False), _customer(s, hold=True)
        old = _interaction(s, free, 3000)
        _interaction(s, free, 10)
        _interaction(s, held, 3000)
        _interaction(s, None, 3000)
        s.add(
            CallRecord(
                linkedid="1700000000.1",
                customer_id=free.id,
                interaction_id=old.id,
                ended_at=NOW - dt.timedelta(days=3000),
            )
        )
        s.add(CallRecord(linkedid="1700000000.2", ended_at=NOW - dt.timedelta(days=5)))
    # One audit entry written (through the chain) 4000 days ago, one today.
    long_ago = patch("agentdesk.store.audit_log.utcnow", lambda: NOW - dt.timedelta(days=4000))
    with long_ago, Session(central) as s, s.begin():
        append_audit(s, actor="x", action="pii.reveal")
    with Session(central) as s, s.begin():
        append_audit(s, actor="x", action="pii.reveal")
    return central


def _count(engine: Engine, model: type) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_dry_run_counts_without_deleting(populated: Engine) -> None:
    report = purge(populated, RetentionPolicy(), actor="tester", now=NOW, dry_run=True)
    assert (report.interactions, report.call_records, report.audit_entries) == (2, 1, 1)
    assert _count(populated, Interaction) == 4


def test_purge_removes_old_rows_and_keeps_legal_holds(populated: Engine) -> None:
    report = purge(populated, RetentionPolicy(), actor="tester", now=NOW)
    assert (report.interactions, report.call_records, report.audit_entries) == (2, 1, 1)
    with Session(populated) as s:
        left = s.execute(
            select(Interaction.started_at, Customer.legal_hold).join(
                Customer, Customer.id == Interaction.customer_id, isouter=True
            )
        ).all()
        assert len(left) == 2
        assert all(held or started > NOW - dt.timedelta(days=30) for started, held in left)
        runs = s.scalars(select(AuditEntry).where(AuditEntry.action == "retention.purge")).all()
        assert len(runs) == 1 and runs[0].details["interactions"] == 2
    # A second run finds nothing more and leaves its own audit entry.
    again = purge(populated, RetentionPolicy(), actor="tester", now=NOW)
    assert (again.interactions, again.call_records, again.audit_entries) == (0, 0, 0)


def test_the_audit_chain_still_verifies_after_a_purge_and_a_forged_start_is_caught(
    populated: Engine,
) -> None:
    purge(populated, RetentionPolicy(), actor="tester", now=NOW)
    with Session(populated) as s:
        report = verify_chain(s)
        assert report.ok, report.broken
        first = s.scalar(select(func.min(AuditEntry.seq)))
    assert first == 2  # the old entry went, the chain resumes after it
    # Deleting the oldest remaining entry as if retention had done it is caught.
    with Session(populated) as s, s.begin():
        s.execute(delete(AuditEntry).where(AuditEntry.seq == first))
        s.execute(
            update(SyncState).where(SyncState.key == FLOOR_KEY).values(value=f"{first}:{'f' * 64}")
        )
    with Session(populated) as s:
        assert not verify_chain(s).ok


def test_too_short_a_policy_is_refused(tmp_path: Path) -> None:
    policy = tmp_path / "r.toml"
    policy.write_text("[interaction]\nkeep_days = 3\n")
    with pytest.raises(ValueError, match="below 30 days"):
        RetentionPolicy.load(policy)


def test_cli_purge_dry_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    assert main(["db", "upgrade", "--url", url]) == 0
    assert main(["retention", "purge", "--dry-run", "--url", url]) == 0
    assert "would delete 0 interactions" in capsys.readouterr().out
