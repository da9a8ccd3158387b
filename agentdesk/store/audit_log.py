"""The central audit log: append-only, hash-chained, server time and a server-given actor.

Every audited action on the server goes through ``append_audit`` inside the
caller's transaction, so the entry commits or rolls back with the work it
records (a reveal whose audit entry fails returns nothing).

Each entry carries ``seq`` (1, 2, 3 … without gaps), ``prev_hash`` (the
``entry_hash`` of entry ``seq - 1``; 64 zeros for the first) and
``entry_hash`` = SHA-256 of a canonical JSON document of its own fields and
``prev_hash``. Changing any field of any entry, removing one, or slipping one
in breaks the chain at that point. The newest ``seq:hash`` is also kept in
``sync_state`` (``audit.chain_head``), written in the same transaction, so
cutting entries off the end is caught too. Someone who can rewrite the whole
table *and* the head can forge a consistent chain; operators who need more
copy the head ``agentdesk audit verify`` prints to somewhere the database
login cannot write, and pass it back with ``--expect-head``.

Appends are serialised so two server instances cannot both extend the same
head: on PostgreSQL a transaction-scoped advisory lock (the default READ
COMMITTED isolation then sees the latest committed head); on SQLite the write
transaction is already exclusive. The unique index on ``seq`` is the last
wall: a fork fails to commit instead of being stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from agentdesk.ids import uuid7
from agentdesk.models import AuditEntry, SyncState, utcnow

GENESIS_HASH = "0" * 64
HEAD_KEY = "audit.chain_head"
# ``seq:hash`` of the last entry a retention purge removed: the chain resumes after it.
FLOOR_KEY = "audit.chain_floor"
PURGE_ACTION = "retention.purge"
# Any constant works; this one spells "AUDITCHN" so it is recognisable in pg_locks.
_PG_LOCK_KEY = 0x41554449_5443484E


def canonical_json(
    *,
    seq: int,
    entry_id: uuid.UUID,
    at: dt.datetime,
    actor: str,
    action: str,
    entity_type: str | None,
    entity_id: str | None,
    reason: str | None,
    details: dict[str, Any] | None,
    workstation: str | None,
    prev_hash: str,
) -> bytes:
    """The exact bytes an entry's hash covers (sorted keys, no spaces, UTC microseconds)."""
    document = {
        "seq": seq,
        "id": str(entry_id),
        "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "reason": reason,
        "details": details or {},
        "workstation": workstation,
        "prev_hash": prev_hash,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def hash_entry(entry: AuditEntry, seq: int, prev_hash: str) -> str:
    """SHA-256 (hex) of ``entry`` as it would stand at ``seq`` after ``prev_hash``."""
    return hashlib.sha256(
        canonical_json(
            seq=seq,
            entry_id=entry.id,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            entity_type=entry.entity_type,
            entity_id=entry.entity_id,
            reason=entry.reason,
            details=entry.details,
            workstation=entry.workstation,
            prev_hash=prev_hash,
        )
    ).hexdigest()


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})


def _head(session: Session) -> tuple[int, str]:
    row = session.execute(
        select(AuditEntry.seq, AuditEntry.entry_hash)
        .where(AuditEntry.seq.is_not(None))
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).first()
    if row is None or row[0] is None:
        return 0, GENESIS_HASH
    return int(row[0]), str(row[1])


def _store_head(session: Session, seq: int, digest: str) -> None:
    value = f"{seq}:{digest}"
    head = session.get(SyncState, HEAD_KEY)
    if head is None:
        session.add(SyncState(key=HEAD_KEY, value=value))
    else:
        head.value = value


def append_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str | None = None,
    entity_id: str | uuid.UUID | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
    workstation: str | None = None,
    entry_id: uuid.UUID | None = None,
) -> AuditEntry:
    """Append one chained entry in ``session``'s transaction and return it (flushed).

    ``actor`` must come from the server's session, never from a client field; the time
    is the server's. ``entry_id`` lets a replayed client mutation keep its id.
    """
    _lock_chain(session)
    # Pending objects would otherwise flush between reading the head and writing.
    session.flush()
    seq, prev = _head(session)
    entry = AuditEntry(
        id=entry_id or uuid7(),
        at=utcnow(),
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        reason=reason,
        details=dict(details or {}),
        workstation=workstation,
        seq=seq + 1,
        prev_hash=prev,
    )
    entry.entry_hash = hash_entry(entry, seq + 1, prev)
    session.add(entry)
    _store_head(session, seq + 1, entry.entry_hash)
    session.flush()
    return entry


# --- verification ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainBreak:
    """The first place the chain does not hold: which entry and what is wrong with it."""

    seq: int | None
    entry_id: uuid.UUID | None
    problem: str

    def __str__(self) -> str:
        where = f"entry seq {self.seq}" if self.seq is not None else "an entry"
        ident = f" (id {self.entry_id})" if self.entry_id is not None else ""
        return f"{where}{ident}: {self.problem}"


@dataclass(frozen=True)
class ChainReport:
    """What ``verify_chain`` found: entries checked, the head, and the first break if any."""

    entries: int
    head_seq: int
    head_hash: str
    broken: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def _walk(session: Session, batch: int = 5000) -> Iterator[AuditEntry]:
    last = 0
    while True:
        rows = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.seq > last)
            .order_by(AuditEntry.seq)
            .limit(batch)
            .execution_options(populate_existing=True)
        ).all()
        if not rows:
            return
        yield from rows
        last = int(rows[-1].seq or last)
        session.expunge_all()


def _anchor(expect_head: str | None) -> tuple[int, str] | None:
    if expect_head is None:
        return None
    seq_text, _, digest = expect_head.partition(":")
    if not seq_text.isdigit() or len(digest) != 64:
        raise ValueError(f"{expect_head!r} is not a chain head; expected SEQ:SHA256HEX")
    return int(seq_text), digest.lower()


def purge_before(session: Session, cutoff: dt.datetime, *, dry_run: bool = False) -> dict[str, Any]:
    """Remove the oldest entries written before ``cutoff``, as a prefix of the chain.

    Retention may only cut the chain from its start, so what remains still verifies:
    the last removed entry's ``seq:hash`` becomes the chain's floor (``FLOOR_KEY``) and
    is returned for the purge's own audit entry, which the caller appends in the same
    transaction (``verify_chain`` accepts a floor only when such an entry vouches for it).
    An entry newer than ``cutoff`` ends the prefix, so nothing after it goes.
    """
    _lock_chain(session)
    first_kept = session.scalar(
        select(func.min(AuditEntry.seq)).where(AuditEntry.seq.is_not(None), AuditEntry.at >= cutoff)
    )
    head_seq, _ = _head(session)
    last_gone = (first_kept - 1) if first_kept is not None else head_seq
    floor_seq, _floor_hash = _floor(session)
    if last_gone <= floor_seq:
        return {"removed": 0}
    digest = session.scalar(select(AuditEntry.entry_hash).where(AuditEntry.seq == last_gone))
    removed = int(
        session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.seq.is_not(None), AuditEntry.seq <= last_gone)
        )
        or 0
    )
    if not dry_run:
        session.execute(delete(AuditEntry).where(AuditEntry.seq <= last_gone))
        row = session.get(SyncState, FLOOR_KEY)
        value = f"{last_gone}:{digest}"
        if row is None:
            session.add(SyncState(key=FLOOR_KEY, value=value))
        else:
            row.value = value
    return {"removed": removed, "purged_through": {"seq": last_gone, "hash": digest}}


def _floor(session: Session) -> tuple[int, str]:
    row = session.get(SyncState, FLOOR_KEY)
    if row is None:
        return 0, GENESIS_HASH
    seq, _, digest = row.value.partition(":")
    return int(seq), digest


def _floor_vouched(session: Session, floor_seq: int, floor_hash: str) -> bool:
    """True when a chained purge entry recorded exactly this floor."""
    for details in session.scalars(
        select(AuditEntry.details).where(
            AuditEntry.action == PURGE_ACTION, AuditEntry.seq > floor_seq
        )
    ):
        through = (details or {}).get("purged_through") or {}
        if through.get("seq") == floor_seq and through.get("hash") == floor_hash:
            return True
    return False


def verify_chain(session: Session, expect_head: str | None = None) -> ChainReport:
    """Walk every entry in ``seq`` order and report the first one that breaks the chain.

    ``expect_head`` (``seq:hash``, as printed by an earlier verify and kept elsewhere)
    additionally requires entry ``seq`` to still carry that hash.
    """
    anchor = _anchor(expect_head)
    unchained = session.execute(
        select(AuditEntry.id).where(AuditEntry.seq.is_(None)).order_by(AuditEntry.at).limit(1)
    ).scalar()
    floor_seq, floor_hash = _floor(session)
    expected_seq, prev, count = floor_seq + 1, floor_hash, 0
    broken: ChainBreak | None = None
    if floor_seq and not _floor_vouched(session, floor_seq, floor_hash):
        broken = ChainBreak(
            floor_seq, None, "the chain's start was moved without a retention purge entry"
        )
    for entry in [] if broken is not None else _walk(session):
        count += 1
        if entry.seq != expected_seq:
            problem = (
                f"sequence jumps from {expected_seq - 1} to {entry.seq}: "
                f"{'entries were removed' if (entry.seq or 0) > expected_seq else 'out of order'}"
            )
            broken = ChainBreak(entry.seq, entry.id, problem)
            break
        if entry.prev_hash != prev:
            broken = ChainBreak(
                entry.seq,
                entry.id,
                "prev_hash does not match the previous entry's hash "
                "(the previous entry was replaced, or this one was inserted)",
            )
            break
        actual = hash_entry(entry, expected_seq, prev)
        if entry.entry_hash != actual:
            broken = ChainBreak(
                entry.seq, entry.id, "its fields no longer match its hash (edited after writing)"
            )
            break
        if anchor is not None and anchor[0] == expected_seq and anchor[1] != actual:
            broken = ChainBreak(
                entry.seq, entry.id, f"its hash is {actual}, not the anchored {anchor[1]}"
            )
            break
        prev = actual
        expected_seq += 1
    head_seq = expected_seq - 1
    if broken is None and unchained is not None:
        broken = ChainBreak(None, unchained, "it has no sequence number (inserted outside the log)")
    if broken is None:
        stored = session.get(SyncState, HEAD_KEY)
        recorded = stored.value if stored is not None else None
        actual_head = f"{head_seq}:{prev}"
        if recorded is None and head_seq > 0:
            broken = ChainBreak(head_seq, None, "the recorded chain head is missing")
        elif recorded is not None and recorded != actual_head:
            broken = ChainBreak(
                head_seq,
                None,
                f"the log ends at {actual_head} but the recorded head is {recorded} "
                "(entries were cut off the end, or the head was altered)",
            )
        elif anchor is not None and anchor[0] > head_seq:
            broken = ChainBreak(
                head_seq, None, f"the log ends at seq {head_seq}, before the anchor {anchor[0]}"
            )
    return ChainReport(count, head_seq, prev, broken)
