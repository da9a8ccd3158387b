"""One desktop's sync steps — fill, push, refresh, pull — as plain synchronous calls.

``SyncEngine`` schedules these on a background thread; tests and benchmarks
call them directly to interleave several desktops deterministically.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import Table, delete, select, update
from sqlalchemy.orm import Session

from agentdesk.models import OutboxEntry, OutboxState
from agentdesk.store.engine import read_session
from agentdesk.store.sync.central import CentralStore
from agentdesk.store.sync.feed import FeedApplier, PageOutcome
from agentdesk.store.sync.local import (
    CENTRAL_KEY,
    CURSOR_KEY,
    LOGIN_KEY,
    SCOPE_KEY,
    LocalStore,
    sync_session,
)
from agentdesk.store.sync.port import CentralPort, DirectCentral, TableChunk
from agentdesk.store.sync.protocol import (
    Cursor,
    PoisonSuspect,
    ResyncRequired,
    SyncError,
)
from agentdesk.store.sync.scope import SyncScope
from agentdesk.store.sync.snapshot import (
    ROOT_COLUMN,
    clear_unshielded,
    insert_raw,
    merge_rows,
)

log = logging.getLogger(__name__)

ChangeCallback = Callable[[tuple[tuple[str, uuid.UUID], ...]], None]


@dataclass(frozen=True)
class SyncSettings:
    """Tunables of the sync engine (sizes, intervals, patience)."""

    push_batch: int = 100
    page_size: int = 500
    poll_interval: float = 15.0  # slow safety poll, seconds
    horizon_retry: float = 0.05  # re-pull soon when rows wait behind a running transaction
    backoff_base: float = 0.25
    backoff_cap: float = 30.0
    max_attempts: int = 5  # non-validation failures of one mutation before it is rejected
    watchdog_interval: float = 5.0
    stuck_after: float = 60.0  # no progress for this long while working: restart the worker
    reference_every: float = 300.0  # re-copy agents, teams, queues, dispositions, knowledge


@dataclass(frozen=True)
class CycleReport:
    """What one sync cycle did."""

    pushed: int
    rejected: int
    pulled: int
    changed: tuple[tuple[str, uuid.UUID], ...]
    held_back: bool
    filled: bool


class Syncer:
    """The sync steps of one desktop against one central store."""

    def __init__(
        self,
        local: LocalStore,
        central: CentralStore | CentralPort,
        scope: SyncScope,
        agent_login: str,
        client_id: uuid.UUID | None = None,
        settings: SyncSettings | None = None,
    ) -> None:
        self.local = local
        # A CentralStore is the in-process centre (tests, support tools); desktops get a port
        # to the server.
        self.central: CentralPort = (
            DirectCentral(central, scope, agent_login)
            if isinstance(central, CentralStore)
            else central
        )
        self.scope = scope
        self.agent_login = agent_login
        self.settings = settings or SyncSettings()
        self.client_id = local.client_id(client_id)
        self.applier = FeedApplier(local, scope)
        self.progress_at = time.monotonic()  # last completed step, read by the watchdog
        self.on_changes: ChangeCallback | None = None
        self._batch_limit: int | None = None
        self._identity: str | None = None
        self._reference_at = time.monotonic()
        self._held_back = False

    def _progress(self) -> None:
        self.progress_at = time.monotonic()

    def _changed(self, changed: tuple[tuple[str, uuid.UUID], ...]) -> None:
        if changed and self.on_changes is not None:
            self.on_changes(changed)

    # --- fill ------------------------------------------------------------------------------

    def ensure_filled(self) -> bool:
        """Fill the cache if it was never filled from this central store. Returns True if it did."""
        if self._identity is None:
            self._identity = self.central.identity()
        if self.local.is_filled_from(self._identity):
            return False
        self.fill()
        return True

    def fill(self) -> dict[str, int]:
        """(Re)build the working set from one central snapshot; pending local edits survive."""
        identity = self._identity or self.central.identity()
        same_central = self.local.is_filled_from(identity)
        previous = self.local.cursor()
        started = time.perf_counter()
        with (
            self.central.snapshot(self.client_id) as snap,
            sync_session(self.local.engine) as s,
        ):
            shielded = self.local.pending_roots(s)
            clear_unshielded(s, shielded)
            self.local.mark_pending_for_refresh(s)
            counts = _copy_chunks(s, snap.chunks, shielded)
            if shielded and not self.scope.full_replica:
                # Aggregates the agent is still editing stay in the working set, with their
                # whole story, even if the scope alone would no longer include them.
                kept = sorted(shielded)
                for table, rows in self.central.closure(self.client_id, kept, kept):
                    merge_rows(s, table, rows, shielded, only_new=True)
            # A resync never moves the cursor back; a different central store starts afresh.
            cursor = snap.cursor
            new_cursor = max(cursor, previous) if same_central else cursor
            self.local.put_state(s, CURSOR_KEY, str(new_cursor))
            self.local.put_state(s, CENTRAL_KEY, identity)
            # Remembered so support tools (``agentdesk sync``) act like the desktop did.
            self.local.put_state(s, SCOPE_KEY, self.scope.to_json())
            self.local.put_state(s, LOGIN_KEY, self.agent_login)
        self._identity = identity
        log.info(
            "filled the cache from %s in %.2fs: %s",
            self.central.describe(),
            time.perf_counter() - started,
            counts,
        )
        self._progress()
        self._changed((("cache", uuid.UUID(int=0)),))
        return counts

    # --- push ------------------------------------------------------------------------------

    def push_once(self, upto: int | None = None) -> tuple[int, int]:
        """Send one batch (of entries up to #``upto``). Returns (entries settled, of which
        rejected)."""
        limit = self._batch_limit or self.settings.push_batch
        batch = self.local.pending_batch(limit, upto)
        if not batch:
            return 0, 0
        give_up = self._give_up([e.mutation_id for e in batch])
        log.debug("push-begin: %d entries from #%d", len(batch), batch[0].client_seq)
        try:
            reply = self.central.apply_batch(self.client_id, batch, give_up)
        except PoisonSuspect as exc:
            attempts = self.local.bump_attempts(exc.mutation_id)
            position = next(i for i, e in enumerate(batch) if e.mutation_id == exc.mutation_id)
            # Next time send the entries before the suspect on their own, then the suspect alone.
            self._batch_limit = position or 1
            log.warning("%s (attempt %d of %d)", exc, attempts, self.settings.max_attempts)
            raise
        self._batch_limit = None
        settled = self.local.record_results(reply)
        if reply.gap_expected is not None:
            self._requeue_from(reply.gap_expected)
        self._progress()
        return settled, sum(1 for r in reply.results if r.rejected)

    def _give_up(self, mutation_ids: list[uuid.UUID]) -> frozenset[uuid.UUID]:
        with read_session(self.local.engine) as s:
            rows = s.scalars(
                select(OutboxEntry.mutation_id).where(
                    OutboxEntry.mutation_id.in_(mutation_ids),
                    OutboxEntry.attempts >= self.settings.max_attempts,
                )
            )
            return frozenset(rows)

    def _requeue_from(self, expected: int) -> None:
        """The centre lost entries we saw acknowledged (restored from backup): send them again."""
        with sync_session(self.local.engine) as s:
            first = s.get(OutboxEntry, expected)
            if first is None:
                raise SyncError(
                    f"the central store expects change #{expected} from this desktop, "
                    "which is no longer in the local outbox"
                )
            s.execute(
                update(OutboxEntry)
                .where(OutboxEntry.client_seq >= expected, OutboxEntry.state == OutboxState.ACKED)
                .values(state=OutboxState.PENDING, acked_at=None)
            )
        log.warning("central store expected change #%d again; re-sending from there", expected)

    def push_all(self, should_stop: Callable[[], bool] = lambda: False) -> tuple[int, int]:
        """Push what is queued now. Writes made meanwhile wait for the next cycle, so an
        agent writing as fast as batches go cannot keep a cycle from reaching its pull."""
        upto = self.local.last_seq()
        total = rejected = 0
        while not should_stop():
            settled, bad = self.push_once(upto)
            if not settled:
                break
            total, rejected = total + settled, rejected + bad
        return total, rejected

    def refresh(self) -> int:
        """Replace acknowledged or rejected aggregates with the centre's copy."""
        wanted = self.local.refresh_wanted()
        if not wanted:
            return 0
        changed = self.local.apply_units(self.central.units(self.client_id, wanted))
        self._changed(tuple(changed))
        self._progress()
        return len(changed)

    # --- pull ------------------------------------------------------------------------------

    def pull_once(self) -> PageOutcome | None:
        """Apply the next feed page; None when there was nothing new to apply."""
        cursor = self.local.cursor()
        log.debug("pull-begin: after %s", cursor)
        page = self.central.pull(self.client_id, cursor, self.settings.page_size)
        self._held_back = page.held_back
        if not page.rows:
            if page.upto > cursor:  # only rows for other desktops: move past them
                self.applier.apply([], [], upto=page.upto)
            return None
        customers, tickets = self.applier.arrivals(page.rows)
        closure = (
            self.central.closure(self.client_id, customers, tickets) if customers or tickets else []
        )
        outcome = self.applier.apply(page.rows, closure, customers, upto=page.upto)
        self._changed(outcome.changed)
        self._progress()
        return outcome

    def pull_all(self, should_stop: Callable[[], bool] = lambda: False) -> tuple[int, bool]:
        """Pull until caught up. Returns (pages seen, whether rows wait behind the horizon)."""
        seen = 0
        self._held_back = False
        while not should_stop():
            try:
                outcome = self.pull_once()
            except ResyncRequired as exc:
                log.warning("%s: refilling the cache, then re-pushing the outbox", exc)
                self.fill()
                self.push_all(should_stop)
                self.refresh()
                continue
            if outcome is None:
                break
            seen += 1
        return seen, self._held_back

    def cache_customers(self, customer_ids: list[uuid.UUID]) -> int:
        """Bring customers (and their closure) into the working set, e.g. after a lookup."""
        closure = self.central.closure(self.client_id, customer_ids, [])
        outcome = self.applier.apply([], closure, customer_ids)
        self._changed(tuple(("customer", c) for c in customer_ids))
        return len(outcome.pinned_customers)

    def refresh_reference(self) -> int:
        """Re-copy the reference tables (they change at the centre only, rarely)."""
        with (
            self.central.snapshot(self.client_id, reference_only=True) as snap,
            sync_session(self.local.engine) as s,
        ):
            count = sum(_copy_chunks(s, snap.chunks, set()).values())
        self._reference_at = time.monotonic()
        self._changed((("reference", uuid.UUID(int=0)),))
        return count

    def cycle(self, should_stop: Callable[[], bool] = lambda: False) -> CycleReport:
        """Fill if needed, push everything, refresh what was settled, pull until caught up."""
        filled = self.ensure_filled()
        if filled:
            self._reference_at = time.monotonic()
        elif time.monotonic() - self._reference_at >= self.settings.reference_every:
            self.refresh_reference()
        pushed, rejected = self.push_all(should_stop)
        self.refresh()
        pulled, held_back = self.pull_all(should_stop)
        return CycleReport(pushed, rejected, pulled, (), held_back, filled)

    @property
    def cursor(self) -> Cursor:
        return self.local.cursor()


def _copy_chunks(
    s: Session, chunks: Iterator[TableChunk], shielded: set[uuid.UUID]
) -> dict[str, int]:
    """Write a snapshot's rows into the cache.

    Reference tables are replaced whole (each emptied before its first chunk); working-set
    rows are inserted where absent, except rows of aggregates with pending local edits.
    """
    counts: dict[str, int] = {}
    emptied: set[str] = set()
    positions: dict[str, int | None] = {}
    for chunk in chunks:
        table: Table = chunk.table
        rows = chunk.rows
        if chunk.reference:
            if table.name not in emptied:
                s.execute(delete(table))
                emptied.add(table.name)
            insert_raw(s, table, rows, upsert_rows=True)
            counts["reference"] = counts.get("reference", 0) + len(rows)
            continue
        if table.name not in positions:
            root = ROOT_COLUMN.get(table.name)
            if root is None and table.name in ("ticket_comment", "interaction", "audit_entry"):
                root = "id"
            positions[table.name] = list(table.columns.keys()).index(root) if root else None
        at = positions[table.name]
        if shielded and at is not None:
            rows = [r for r in rows if r[at] not in shielded]
        insert_raw(s, table, rows, upsert_rows=False)
        counts[table.name] = counts.get(table.name, 0) + len(rows)
    return counts
