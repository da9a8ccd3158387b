"""The audit log's hash chain catches rows edited, deleted or inserted behind the server's back."""

from __future__ import annotations

import argparse
import datetime as dt
import threading
import uuid

import pytest
from sqlalchemy import Engine, select, text

from agentdesk.commands import audit as audit_command
from agentdesk.ids import uuid7
from agentdesk.models import AuditEntry
from agentdesk.store.audit_log import append_audit, verify_chain
from agentdesk.store.engine import read_session, write_session
from agentdesk.store.mutations import MutationContext, apply_mutation


def _cli(*argv: str) -> int:
    """``agentdesk audit …`` through its own parser (the command as an operator runs it)."""
    parser = argparse.ArgumentParser(prog="agentdesk")
    audit_command.register(parser.add_subparsers(required=True))
    args = parser.parse_args(["audit", *argv])
    return int(args.func(args))


def _fill(engine: Engine, n: int = 5) -> list[AuditEntry]:
    entries = []
    for i in range(n):
        with write_session(engine) as s:
            entries.append(
                append_audit(
                    s,
                    actor="carol",
                    action="alert.ack",
                    entity_type="alert",
                    entity_id=f"a{i}",
                    reason=f"seen {i}",
                    details={"n": i, "queue": "cards"},
                    workstation="ws-9",
                )
            )
    return entries


def _verify(engine: Engine, expect_head: str | None = None) -> str | None:
    with read_session(engine) as s:
        report = verify_chain(s, expect_head)
    return None if report.broken is None else str(report.broken)


def _sql(engine: Engine, statement: str, **params: object) -> None:
    with engine.begin() as conn:
        conn.execute(text(statement), params)


def test_an_untouched_chain_verifies(central: Engine) -> None:
    entries = _fill(central)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[1].prev_hash == entries[0].entry_hash
    assert _verify(central) is None
    url = central.url.render_as_string(hide_password=False)
    assert _cli("verify", "--url", url) == 0


def test_an_edited_entry_is_caught(central: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    entries = _fill(central)
    _sql(central, "UPDATE audit_entry SET actor = 'mallory' WHERE seq = 3")
    broken = _verify(central)
    assert broken is not None and "seq 3" in broken and "edited" in broken
    assert str(entries[2].id) in broken
    url = central.url.render_as_string(hide_password=False)
    assert _cli("verify", "--url", url) == 1
    assert "seq 3" in capsys.readouterr().err


def test_a_deleted_entry_is_caught(central: Engine) -> None:
    _fill(central)
    _sql(central, "DELETE FROM audit_entry WHERE seq = 2")
    broken = _verify(central)
    assert broken is not None and "seq 3" in broken and "removed" in broken


def test_entries_cut_off_the_end_are_caught(central: Engine) -> None:
    _fill(central)
    _sql(central, "DELETE FROM audit_entry WHERE seq = 5")
    broken = _verify(central)
    assert broken is not None and "recorded head" in broken


def test_an_inserted_entry_is_caught(central: Engine) -> None:
    entries = _fill(central)
    with write_session(central) as s:
        s.add(
            AuditEntry(
                id=uuid7(),
                at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                actor="carol",
                action="pii.reveal",
                details={},
            )
        )
    broken = _verify(central)
    assert broken is not None and "no sequence number" in broken
    # A forger who also makes up chain fields still breaks the links around the new row.
    _sql(central, "DELETE FROM audit_entry WHERE seq IS NULL")
    _sql(central, "UPDATE audit_entry SET seq = seq + 100 WHERE seq >= 3")
    _sql(central, "UPDATE audit_entry SET seq = seq - 99 WHERE seq >= 100")
    with write_session(central) as s:
        s.add(
            AuditEntry(
                id=uuid7(),
                at=entries[1].at,
                actor="carol",
                action="pii.reveal",
                details={},
                seq=3,
                prev_hash=entries[1].entry_hash,
                entry_hash="f" * 64,
            )
        )
    broken = _verify(central)
    assert broken is not None and "seq 3" in broken


def test_an_anchored_head_catches_a_rewritten_chain(central: Engine) -> None:
    _fill(central, 3)
    with read_session(central) as s:
        report = verify_chain(s)
    anchor = f"{report.head_seq}:{report.head_hash}"
    _fill(central, 2)
    assert _verify(central, anchor) is None
    _sql(central, "UPDATE audit_entry SET entry_hash = :h WHERE seq = 3", h="0" * 64)
    assert _verify(central, anchor) is not None


def test_the_audit_mutation_takes_actor_and_time_from_the_server(central: Engine) -> None:
    now = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
    entry_id = uuid7()
    args = {
        "id": str(entry_id),
        "actor": "carol",
        "at": "2020-01-01T00:00:00+00:00",
        "action": "pii.reveal",
        "reason": "back-dated",
    }
    with write_session(central) as s:
        apply_mutation(s, "audit.add", args, MutationContext("alice", "central", now))
    with read_session(central) as s:
        row = s.get(AuditEntry, entry_id)
        assert row is not None
        assert row.actor == "alice" and row.at.year == 2026 and row.seq == 1
    assert _verify(central) is None


@pytest.mark.postgres
def test_concurrent_appends_keep_one_chain(pg_url: str) -> None:
    from agentdesk.store import migrate
    from agentdesk.store.engine import central_engine

    engine = central_engine(pg_url)
    migrate.upgrade(engine)
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            for _ in range(15):
                with write_session(engine) as s:
                    append_audit(s, actor=name, action="test", entity_id=str(uuid.uuid4()))
                    s.flush()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"a{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with read_session(engine) as s:
        assert s.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) == 45
    assert _verify(engine) is None
    engine.dispose()
