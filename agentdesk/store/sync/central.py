"""The central side of sync: exactly-once apply of pushed mutations, and the change feed.

Push: each batch runs in one transaction. The client's ``sync_client`` row
is locked first (``FOR UPDATE`` on PostgreSQL; SQLite serialises writers
anyway), so two pushes of the same client cannot interleave. Each entry is
then a duplicate (return the stored verdict, change nothing), the next one
(apply the mutator inside a savepoint, record the verdict in
``applied_mutation``, append ``change_log`` rows), or beyond a gap (stop:
per-client order holds). Validation failures are verdicts too, so a rejected
entry is never retried and never blocks the queue.

Pull: on PostgreSQL every ``change_log`` row carries its writer's
``pg_current_xact_id()`` and a page only holds rows below
``pg_snapshot_xmin(pg_current_snapshot())``, computed in the same statement
that reads them: a transaction that took its row early and commits late is
delayed, never skipped. On SQLite ``seq`` is assigned inside the serialised
write transaction, so ``seq > cursor`` is already safe.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Connection,
    CursorResult,
    Engine,
    Table,
    and_,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from agentdesk.ids import uuid7
from agentdesk.models import (
    AppliedMutation,
    ChangeLog,
    SyncClient,
    SyncPin,
    SyncState,
    Ticket,
    utcnow,
)
from agentdesk.store.engine import write_session
from agentdesk.store.field_crypto import FieldCipher
from agentdesk.store.mutations import (
    Changed,
    MutationContext,
    MutationOutcome,
    MutationRejected,
    apply_mutation,
)
from agentdesk.store.sync import live
from agentdesk.store.sync.entities import BROADCAST_KINDS, KINDS, scope_keys, serialise, unique
from agentdesk.store.sync.protocol import (
    START,
    ClientIdentityError,
    Cursor,
    FeedRow,
    PoisonSuspect,
    PushEntry,
    PushReply,
    PushResult,
    PushState,
    ResyncRequired,
    is_transient,
)
from agentdesk.store.sync.scope import SyncScope

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "agentdesk_changes"
FLOOR_KEY = "central.feed_floor"
IDENTITY_KEY = "central.identity"
_HORIZON: ColumnClause[Any] = literal_column(
    "(pg_snapshot_xmin(pg_current_snapshot())::text::bigint)"
)
_CHANGES = cast(Table, ChangeLog.__table__)


def change_rows(
    session: Session,
    changed: Iterable[Changed],
    *,
    client_id: uuid.UUID | None = None,
    mutation_id: uuid.UUID | None = None,
) -> list[dict[str, Any]]:
    """One feed row per changed entity, holding its state right after the change."""
    deleted = {(c.entity_type, c.entity_id) for c in changed if c.op == "delete"}
    rows: list[dict[str, Any]] = []
    for entity_type, entity_id in unique((c.entity_type, c.entity_id) for c in changed):
        kind = KINDS.get(entity_type)
        if kind is None:
            continue  # not replicated (e.g. central-only tables)
        data = serialise(session, kind, entity_id)
        team_id, customer_id = scope_keys(kind, data)
        if data is not None and team_id is None and customer_id is None:
            team_id, customer_id = _ticket_scope(session, data["row"].get("ticket_id"))
        rows.append(
            {
                "entity_type": entity_type,
                "entity_id": entity_id,
                "op": "delete" if data is None or (entity_type, entity_id) in deleted else "upsert",
                "version": int(data["row"].get("version", 1)) if data else 0,
                "changed_at": utcnow(),
                "data": data,
                "team_id": None if team_id is None else uuid.UUID(str(team_id)),
                "customer_id": None if customer_id is None else uuid.UUID(str(customer_id)),
                "origin_client_id": client_id,
                "mutation_id": mutation_id,
            }
        )
    return rows


def _ticket_scope(session: Session, ticket_id: Any) -> tuple[Any, Any]:
    """A ticket's (team, customer), so its history and comments reach the same desktops."""
    if ticket_id is None:
        return None, None
    ticket = session.get(Ticket, uuid.UUID(str(ticket_id)))
    return (None, None) if ticket is None else (ticket.team_id, ticket.customer_id)


def feed_visibility(client_id: uuid.UUID, scope: SyncScope) -> ColumnElement[bool]:
    """The rows of ``change_log`` one desktop may receive, as SQL.

    Its teams' (and its agent's) tickets, and every change about a customer the
    server handed to this desktop installation (``sync_pin``). A full replica
    sees everything (the server grants that only to roles allowed to).
    """
    if scope.full_replica:
        return true()
    c = _CHANGES.c
    pins = select(SyncPin.customer_id).where(SyncPin.client_id == client_id)
    conds: list[ColumnElement[bool]] = [
        c.customer_id.in_(pins),
        c.entity_type.in_(sorted(BROADCAST_KINDS)),  # the knowledge base: everyone's
    ]
    if scope.team_ids:
        conds.append(c.team_id.in_(sorted(scope.team_ids)))
    return or_(*conds)


def record_changes(
    session: Session,
    changed: Iterable[Changed],
    *,
    client_id: uuid.UUID | None = None,
    mutation_id: uuid.UUID | None = None,
) -> int:
    """Append the feed rows of a change. Call inside the writing transaction, after the
    mutator flushed; on PostgreSQL the ``xid`` column's default stamps the transaction id."""
    rows = change_rows(session, changed, client_id=client_id, mutation_id=mutation_id)
    if rows:
        session.execute(insert(_CHANGES), rows)
    return len(rows)


Authorizer = Callable[[Session, PushEntry], None]


class _NeedsGuard(Exception):
    """An entry failed on the fast path: redo the batch with a savepoint per entry."""


class CentralStore:
    """Push apply, change feed, point fetches and retention on one central database."""

    def __init__(self, engine: Engine, field_cipher: FieldCipher | None = None) -> None:
        self.engine = engine
        # The server's field key: mutators encrypt identity numbers and dates of birth with it.
        self.field_cipher = field_cipher
        self.is_postgres = engine.dialect.name == "postgresql"
        self.hub_key = None if self.is_postgres else live.hub_key(engine)

    # --- identity and feed floor ------------------------------------------------------------

    def identity(self) -> str:
        """A stable id of this central database; a desktop refills when it changes."""
        with write_session(self.engine) as s:
            row = s.get(SyncState, IDENTITY_KEY)
            if row is None:
                row = SyncState(key=IDENTITY_KEY, value=str(uuid7()))
                s.add(row)
            return row.value

    def floor(self, conn: Connection | None = None) -> Cursor:
        stmt = select(SyncState.value).where(SyncState.key == FLOOR_KEY)
        if conn is not None:
            return Cursor.parse(conn.execute(stmt).scalar())
        with self.engine.connect() as c:
            return Cursor.parse(c.execute(stmt).scalar())

    # --- push -------------------------------------------------------------------------------

    def apply_batch(
        self,
        client_id: uuid.UUID,
        agent_login: str,
        entries: Sequence[PushEntry],
        give_up: frozenset[uuid.UUID] = frozenset(),
        authorize: Authorizer | None = None,
    ) -> PushReply:
        """Apply ``entries`` (in client order) exactly once each, in one transaction.

        ``give_up`` lists mutations that already failed repeatedly for a
        non-validation reason: their next failure is recorded as a rejection.
        ``authorize(session, entry)`` runs before each new entry inside the same
        transaction; a ``MutationRejected`` from it becomes that entry's verdict.
        """
        if not entries:
            return PushReply(())
        try:
            # Fast path: most batches hold no invalid entry, so skip the per-entry savepoints
            # (two round trips each); the first failure rolls the batch back and it is redone
            # with a savepoint around every entry.
            return self._apply_batch(
                client_id, agent_login, entries, give_up, authorize, guarded=False
            )
        except _NeedsGuard:
            return self._apply_batch(
                client_id, agent_login, entries, give_up, authorize, guarded=True
            )

    def _apply_batch(
        self,
        client_id: uuid.UUID,
        agent_login: str,
        entries: Sequence[PushEntry],
        give_up: frozenset[uuid.UUID],
        authorize: Authorizer | None,
        *,
        guarded: bool,
    ) -> PushReply:
        results: list[PushResult] = []
        gap: int | None = None
        feed: list[dict[str, Any]] = []
        verdicts: list[dict[str, Any]] = []
        with write_session(self.engine) as s:
            client = self._lock_client(s, client_id, agent_login, entries[0].client_seq)
            last = client.last_mutation_seq
            for entry in entries:
                if entry.client_seq <= last:
                    results.append(self._stored(s, client_id, entry))
                    continue
                if entry.client_seq > last + 1:
                    gap = last + 1
                    break
                results.append(
                    self._apply_one(
                        s, client_id, agent_login, entry, give_up, feed, authorize, guarded
                    )
                )
                verdicts.append(
                    {
                        "mutation_id": entry.mutation_id,
                        "client_id": client_id,
                        "client_seq": entry.client_seq,
                        "result": results[-1].result,
                        "applied_at": utcnow(),
                    }
                )
                last = entry.client_seq
            # Written once per batch (multi-row inserts), still inside the same transaction.
            if feed:
                s.execute(insert(_CHANGES), feed)
            if verdicts:
                s.execute(insert(AppliedMutation), verdicts)
            client.last_mutation_seq = last
            client.last_seen_at = utcnow()
            # Whose data changed (teams, customers of the feed rows), so the server pokes only
            # the desktops whose pulls would return it.
            change = live.Change.of(feed)
            if self.is_postgres and any(r.state != "duplicate" for r in results):
                # One small poke per push transaction, delivered by PostgreSQL at commit.
                s.execute(
                    text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": NOTIFY_CHANNEL, "payload": change.payload()},
                )
        if self.hub_key is not None and any(r.state != "duplicate" for r in results):
            live.poke_in_process(self.hub_key, change)
        return PushReply(tuple(results), gap)

    def _lock_client(
        self, s: Session, client_id: uuid.UUID, login: str, first_seq: int
    ) -> SyncClient:
        dialect_insert = postgresql.insert if self.is_postgres else sqlite.insert
        # A client seen for the first time starts just before its oldest pending entry.
        s.execute(
            dialect_insert(SyncClient)
            .values(
                client_id=client_id,
                agent_login=login,
                last_mutation_seq=first_seq - 1,
                last_seen_at=utcnow(),
            )
            .on_conflict_do_nothing()
        )
        client = s.get(SyncClient, client_id, with_for_update=True, populate_existing=True)
        assert client is not None
        return client

    def _stored(self, s: Session, client_id: uuid.UUID, entry: PushEntry) -> PushResult:
        stored = s.scalars(
            select(AppliedMutation).where(
                AppliedMutation.client_id == client_id,
                AppliedMutation.client_seq == entry.client_seq,
            )
        ).one_or_none()
        if stored is None:  # applied long ago and since pruned: still applied exactly once
            return PushResult(
                entry.client_seq, entry.mutation_id, "duplicate", {"state": "applied"}
            )
        if stored.mutation_id != entry.mutation_id:
            raise ClientIdentityError(
                f"client {client_id} counter {entry.client_seq} was used by mutation "
                f"{stored.mutation_id}, not {entry.mutation_id}: this cache needs a new client id"
            )
        verdict = stored.result
        return PushResult(
            entry.client_seq,
            entry.mutation_id,
            "duplicate",
            verdict,
            verdict.get("error"),
            verdict.get("field"),
        )

    def _apply_one(
        self,
        s: Session,
        client_id: uuid.UUID,
        login: str,
        entry: PushEntry,
        give_up: frozenset[uuid.UUID],
        feed: list[dict[str, Any]],
        authorize: Authorizer | None,
        guarded: bool,
    ) -> PushResult:
        ctx = MutationContext(
            actor=login,
            side="central",
            now=utcnow(),
            client_id=client_id,
            field_cipher=self.field_cipher,
        )
        error: str | None = None
        field: str | None = None
        if not guarded:
            try:
                if authorize is not None:
                    authorize(s, entry)
                outcome = apply_mutation(s, entry.name, copy.deepcopy(entry.args), ctx)
                s.flush()
            except Exception as exc:
                if is_transient(exc):
                    raise
                raise _NeedsGuard from exc
            feed.extend(
                change_rows(s, outcome.changed, client_id=client_id, mutation_id=entry.mutation_id)
            )
            return PushResult(
                entry.client_seq,
                entry.mutation_id,
                "applied",
                {"state": "applied", **outcome.result},
            )
        savepoint = s.begin_nested()
        try:
            if authorize is not None:
                authorize(s, entry)
            outcome = apply_mutation(s, entry.name, copy.deepcopy(entry.args), ctx)
            s.flush()
            rows = change_rows(
                s, outcome.changed, client_id=client_id, mutation_id=entry.mutation_id
            )
            savepoint.commit()
            feed.extend(rows)
            verdict: dict[str, Any] = {"state": "applied", **outcome.result}
        except MutationRejected as exc:
            savepoint.rollback()
            error, field = str(exc), exc.field
        except Exception as exc:
            savepoint.rollback()
            if is_transient(exc):
                raise
            if entry.mutation_id not in give_up:
                raise PoisonSuspect(entry.mutation_id, f"{type(exc).__name__}: {exc}") from exc
            error = f"the central store could not apply this change ({type(exc).__name__}: {exc})"
            log.error("giving up on mutation %s (%s): %s", entry.mutation_id, entry.name, exc)
        if error is not None:
            verdict = {"state": "rejected", "error": error[:2000], "field": field}
        state: PushState = "rejected" if error is not None else "applied"
        return PushResult(entry.client_seq, entry.mutation_id, state, verdict, error, field)

    def write(self, name: str, args: dict[str, Any], actor: str) -> MutationOutcome:
        """Apply a mutation directly at the centre (seeding, server-side jobs), feed included."""
        ctx = MutationContext(
            actor=actor, side="central", now=utcnow(), field_cipher=self.field_cipher
        )
        with write_session(self.engine) as s:
            outcome = apply_mutation(s, name, copy.deepcopy(args), ctx)
            s.flush()
            if record_changes(s, outcome.changed) and self.is_postgres:
                # Server-side jobs and seeding: no targeting, every desktop pulls.
                s.execute(
                    text("SELECT pg_notify(:c, :p)"), {"c": NOTIFY_CHANNEL, "p": live.ALL_PAYLOAD}
                )
        if self.hub_key is not None:
            live.poke_in_process(self.hub_key)
        return outcome

    # --- pull -------------------------------------------------------------------------------

    def pull(
        self, cursor: Cursor, limit: int = 500, *, visible: ColumnElement[bool] | None = None
    ) -> list[FeedRow]:
        """The next page after ``cursor``; raises ``ResyncRequired`` if it was pruned away."""
        return self.pull_page(cursor, limit, visible=visible)[0]

    def pull_page(
        self, cursor: Cursor, limit: int = 500, *, visible: ColumnElement[bool] | None = None
    ) -> tuple[list[FeedRow], Cursor]:
        """The next page after ``cursor`` and the position the reader may move to.

        ``visible`` narrows the page to the rows one desktop may receive (see
        :func:`feed_visibility`). The returned position also moves past rows it
        may not see, read in the same snapshot as the page, so a filtered reader
        neither stalls behind other desktops' rows nor skips a late commit.
        """
        c = _CHANGES.c
        cols = (c.xid, c.seq, c.entity_type, c.entity_id, c.op, c.version, c.data)
        after = (
            and_(tuple_(c.xid, c.seq) > tuple_(cursor.xid, cursor.seq), c.xid < _HORIZON)
            if self.is_postgres
            else c.seq > cursor.seq
        )
        order = (c.xid, c.seq) if self.is_postgres else (c.seq,)
        where = after if visible is None else and_(after, visible)
        stmt = select(*cols).where(where).order_by(*order).limit(limit)
        options: dict[str, Any] = (
            {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
            if self.is_postgres
            else {}
        )
        with self.engine.connect().execution_options(**options) as conn, conn.begin():
            rows = conn.execute(stmt).all()
            upto = Cursor(rows[-1].xid or 0, rows[-1].seq) if rows else cursor
            if visible is not None and len(rows) < limit:
                # Everything up to the newest settled row was scanned: skip the unseen ones.
                top = conn.execute(
                    select(c.xid, c.seq)
                    .where(after)
                    .order_by(*(col.desc() for col in order))
                    .limit(1)
                ).first()
                if top is not None:
                    upto = max(upto, Cursor(top[0] or 0, top[1]))
            # Read after the page: a prune that removed rows we needed is always seen here.
            floor = self.floor(conn)
        if floor > cursor:
            raise ResyncRequired(f"the change feed was pruned up to {floor}; cursor {cursor}")
        page = [
            FeedRow(r.xid or 0, r.seq, r.entity_type, r.entity_id, r.op, r.version, r.data)
            for r in rows
        ]
        return page, upto

    def has_more(self, cursor: Cursor) -> bool:
        """True if rows exist after ``cursor``, including ones still above the horizon."""
        c = _CHANGES.c
        cond = (
            tuple_(c.xid, c.seq) > tuple_(cursor.xid, cursor.seq)
            if self.is_postgres
            else c.seq > cursor.seq
        )
        with self.engine.connect() as conn:
            return conn.execute(select(select(c.seq).where(cond).exists())).scalar() is True

    def head(self) -> Cursor:
        """The newest settled position (used by tests and status)."""
        c = _CHANGES.c
        with self.engine.connect() as conn:
            if self.is_postgres:
                row = conn.execute(
                    select(c.xid, c.seq)
                    .where(c.xid < _HORIZON)
                    .order_by(c.xid.desc(), c.seq.desc())
                    .limit(1)
                ).first()
                return START if row is None else Cursor(row[0], row[1])
            top = conn.execute(select(func.max(c.seq))).scalar()
        return START if top is None else Cursor(0, top)

    # --- retention --------------------------------------------------------------------------

    def prune(self, retention: dt.timedelta) -> int:
        """Drop feed rows older than ``retention``; clients behind the new floor must refill."""
        cutoff = utcnow() - retention
        c = _CHANGES.c
        with write_session(self.engine) as s:
            old = [c.changed_at < cutoff] + ([c.xid < _HORIZON] if self.is_postgres else [])
            top = s.execute(
                select(c.xid, c.seq).where(*old).order_by(c.xid.desc(), c.seq.desc()).limit(1)
            ).first()
            if top is None:
                return 0
            new_floor = Cursor(top[0] or 0, top[1])
            result = s.execute(
                delete(_CHANGES).where(
                    tuple_(c.xid, c.seq) <= tuple_(new_floor.xid, new_floor.seq)
                    if self.is_postgres
                    else c.seq <= new_floor.seq
                )
            )
            count = cast(CursorResult[Any], result).rowcount
            row = s.get(SyncState, FLOOR_KEY)
            if row is None:
                s.add(SyncState(key=FLOOR_KEY, value=str(new_floor)))
            elif Cursor.parse(row.value) < new_floor:
                row.value = str(new_floor)
        log.info("pruned %d change-feed rows; floor now %s", count, new_floor)
        return int(count or 0)
