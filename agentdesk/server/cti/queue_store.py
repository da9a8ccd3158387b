"""The day's queue records, kept durably: one source for the live wallboard and the reports.

Issue 15 item 1. Every queue_log record a site's floor counts (the twins of
the PBX's AMI events that :mod:`agentdesk.services.supervisor.records` builds,
after its abandon/leave resolvers) goes through :class:`StoredBoard`: named by
:class:`RecordKeys`, counted by the wallboard's
:class:`~agentdesk.services.supervisor.board.LiveBoard` and queued for
``queue_record`` by :class:`QueueStore`, in that order and only once. So:

- **a server restart mid-day keeps today's figures**: a new floor replays the
  stored records (:meth:`QueueStore.load`, in the order they were counted)
  into its board before it listens to the PBX again;
- **the reports read the same rows** (:func:`build_store_from_db`, then
  ``reports.build_report``): the same ``QueueLogInterpreter`` and the same
  ``MetricsConfig``, so the definitions are the wallboard's;
- **a reconciliation** (:func:`reconcile`) compares the board's day totals with
  the report over the same records and the same day: the drift is 0 unless a
  record was counted but never stored (the buffer overflowed, the database
  refused it), and then it says so.

Dedupe (:class:`RecordKeys`): a call's records are named by call id, queue,
attempt and kind (a call that queues again after leaving starts a new
attempt), a ring-no-answer by its agent and time, a member's records by
agent, queue, kind and time. A record whose name was already seen is neither
counted nor stored; the database's unique (site, dedupe_key) stops a second
writer (another server logged in to the same PBX) from storing it twice.

Writing (:class:`QueueStore`): the floor appends on the event loop to a
bounded buffer; a writer task inserts batches on a worker thread
(``asyncio.to_thread``), retrying a failed batch with back-off while the
buffer holds. A full buffer drops the newest record and counts it (the
reconciliation then shows the drift and why). ``stop`` writes what is left.
Nothing here logs a record's data (ENTERQUEUE carries the caller's number).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import hashlib
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from agentdesk.models.queue_record import QueueRecord
from agentdesk.services.supervisor.board import LiveBoard
from agentdesk.services.supervisor.queue_log import QueueLogRecord
from agentdesk.services.supervisor.queue_metrics import (
    CellStore,
    MetricsConfig,
    MetricsRow,
    local_midnight,
)
from agentdesk.services.supervisor.reports import (
    GroupBy,
    Interval,
    Report,
    build_report,
    build_store,
)
from agentdesk.services.supervisor.settings import SupervisorSettings
from agentdesk.store.engine import read_session, write_session

log = logging.getLogger(__name__)

BATCH = 500  # rows per INSERT
FLUSH_S = 0.5  # a record waits at most this long before its batch is written
BUFFER_LIMIT = 50_000  # records waiting for the database before new ones are dropped
MAX_BACKOFF_S = 30.0
MARGIN_S = 4 * 3600  # records read before a period: calls that span its start, open pauses
KEY_LIMIT = 200_000  # record names remembered for dedupe (a busy day is well under this)
YIELD_ROWS = 5_000  # rows per fetch when streaming a period into a report

_NO_CALL = frozenset({"", "NONE", "MANAGER", "REALTIME"})
_ENDS = frozenset({
    "COMPLETECALLER", "COMPLETEAGENT", "TRANSFER", "BLINDTRANSFER", "ATTENDEDTRANSFER",
    "ABANDON", "EXITWITHTIMEOUT", "EXITWITHKEY", "EXITEMPTY", "WITHDRAW",
})  # fmt: skip
_CALL_KINDS = _ENDS | {"ENTERQUEUE", "CONNECT"}
# The figures the reconciliation compares: call facts, which both views count from the
# records alone. Agent state time is left out: the board adds open time up to now.
CALL_FIGURES = (
    "offered", "answered", "answered_within", "abandoned", "short_abandoned", "flowed_out",
    "withdrawn", "handled", "transfers", "ring_no_answers",
)  # fmt: skip


def _short(key: str) -> str:
    if len(key) <= 200:
        return key
    return key[:150] + "#" + hashlib.sha256(key.encode()).hexdigest()[:40]


class _Attempts:
    """When each attempt of one call in one queue started, and when the latest ended."""

    __slots__ = ("ended", "starts")

    def __init__(self, first: float) -> None:
        self.starts = [first]
        self.ended: float | None = None

    def of(self, at: float) -> int:
        """The attempt a record at ``at`` belongs to (the last one started by then)."""
        index = 0
        for i, started in enumerate(self.starts):
            if started <= at:
                index = i
        return index


class RecordKeys:
    """Names records so each fact is counted and stored once (see the module's docstring).

    A call's attempts are told apart by time: an ENTERQUEUE after the latest attempt
    ended starts a new one; an older record (a repeat of an earlier attempt's) is
    named as that attempt's, so it is recognised as a repeat.
    """

    MAX_ATTEMPTS = 32

    def __init__(self, limit: int = KEY_LIMIT) -> None:
        self._limit = limit
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._calls: OrderedDict[tuple[str, str], _Attempts] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def _attempt(self, record: QueueLogRecord, *, learn: bool) -> int:
        call, at = (record.call_id, record.queue), record.timestamp
        state = self._calls.get(call)
        if state is None:
            if not learn:
                return 0
            first = at if record.event == "ENTERQUEUE" else float("-inf")
            state = self._calls[call] = _Attempts(first)
            if len(self._calls) > self._limit:
                self._calls.popitem(last=False)
            return 0
        if (
            learn
            and record.event == "ENTERQUEUE"
            and state.ended is not None
            and at > state.ended
            and len(state.starts) < self.MAX_ATTEMPTS
        ):
            state.starts.append(at)  # queued again after leaving: a new attempt
            state.ended = None
        return state.of(at)

    def name(self, record: QueueLogRecord, *, learn: bool = False) -> str:
        """The record's dedupe key (``learn``: note a new call or attempt)."""
        kind, queue, at = record.event, record.queue, f"{record.timestamp:.3f}"
        if record.call_id in _NO_CALL:
            return _short(f"m|{record.agent}|{queue}|{kind}|{at}|{'|'.join(record.data)}")
        attempt = self._attempt(record, learn=learn)
        if kind in _CALL_KINDS:
            return _short(f"c|{record.call_id}|{queue}|{attempt}|{kind}")
        return _short(f"r|{record.call_id}|{queue}|{attempt}|{kind}|{record.agent}|{at}")

    def accept(self, record: QueueLogRecord) -> str | None:
        """The record's key if it is new (remembered from now on); None for a repeat."""
        key = self.name(record, learn=True)
        if key in self._seen:
            return None
        self._seen[key] = None
        if len(self._seen) > self._limit:
            self._seen.popitem(last=False)
        if record.event in _ENDS and record.call_id not in _NO_CALL:
            state = self._calls.get((record.call_id, record.queue))
            if state is not None and state.of(record.timestamp) == len(state.starts) - 1:
                state.ended = max(state.ended or record.timestamp, record.timestamp)
        return key


def _seconds(record: QueueLogRecord) -> tuple[int | None, int | None]:
    """Wait and talk of a record, where it carries them (for SQL readers of the table)."""
    wait = record.int_field("holdtime")
    if wait is None:
        wait = record.int_field("waittime")
    return wait, record.int_field("calltime")


def _row(site: str, seq: int, key: str, record: QueueLogRecord) -> dict[str, Any]:
    wait, talk = _seconds(record)
    return {
        "site": site,
        "seq": seq,
        "epoch": record.timestamp,
        "kind": record.event[:24],
        "call_id": record.call_id[:64],
        "queue": record.queue[:128],
        "agent": record.agent[:128],
        "wait_s": wait,
        "talk_s": talk,
        "data": list(record.data),
        "dedupe_key": key,
    }


def _record(row: Any) -> QueueLogRecord:
    return QueueLogRecord(
        0, float(row.epoch), row.call_id, row.queue, row.agent, row.kind,
        tuple(str(d) for d in (row.data or ())),
    )  # fmt: skip


def insert_rows(engine: Engine, rows: Sequence[dict[str, Any]]) -> None:
    """Insert a batch; a row whose (site, dedupe_key) is stored already is skipped."""
    if not rows:
        return
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(QueueRecord).on_conflict_do_nothing(index_elements=["site", "dedupe_key"])
    with write_session(engine) as session:
        session.execute(stmt, list(rows))


def iter_records(
    engine: Engine,
    site: str,
    since: float,
    until: float | None = None,
    *,
    upto_seq: int | None = None,
) -> Iterator[QueueLogRecord]:
    """A site's stored records with ``since <= epoch < until``, in the order they were counted."""
    t = QueueRecord
    query = select(t.epoch, t.call_id, t.queue, t.agent, t.kind, t.data).where(
        t.site == site, t.epoch >= since
    )
    if until is not None:
        query = query.where(t.epoch < until)
    if upto_seq is not None:
        query = query.where(t.seq <= upto_seq)
    query = query.order_by(t.seq, t.id).execution_options(yield_per=YIELD_ROWS)
    with read_session(engine) as session:
        for row in session.execute(query):
            yield _record(row)


def stored_sites(engine: Engine) -> list[str]:
    with read_session(engine) as session:
        return sorted(session.scalars(select(QueueRecord.site).distinct()))


def _merge(into: CellStore, other: CellStore) -> None:
    for key, cell in other.cells.items():
        mine = into.cells.get(key)
        if mine is None:
            into.cells[key] = cell
        else:
            mine.merge_calls(cell)
            mine.merge_time(cell)


def build_store_from_db(
    engine: Engine,
    config: MetricsConfig,
    sites: Iterable[str],
    start: dt.datetime,
    end: dt.datetime,
    *,
    upto_seq: dict[str, int] | None = None,
) -> CellStore:
    """Quarter-hour cells of the stored records around [start, end), one interpreter per site.

    Each site is interpreted by ``reports.build_store`` (its own calls and agents), and the
    cells are summed: the same rules as a queue_log report, over the server's records.
    """
    lo, hi = start.timestamp() - MARGIN_S, end.timestamp()
    total: CellStore | None = None
    for site in sites:
        cap = None if upto_seq is None else upto_seq.get(site, 0)
        store = build_store(iter_records(engine, site, lo, hi, upto_seq=cap), config)
        if total is None:
            total = store
        else:
            _merge(total, store)
    return total if total is not None else CellStore()


def report_from_db(
    engine: Engine,
    config: MetricsConfig,
    sites: Iterable[str],
    start: dt.datetime,
    end: dt.datetime,
    *,
    interval: Interval = Interval.DAY,
    group_by: GroupBy = GroupBy.QUEUE,
    upto_seq: dict[str, int] | None = None,
) -> Report:
    """``build_report`` over the server's stored records for [start, end)."""
    names = list(sites)
    store = build_store_from_db(engine, config, names, start, end, upto_seq=upto_seq)
    return build_report(
        store, config, interval=interval, group_by=group_by, start=start, end=end,
        title=f"Queue report: {', '.join(names) or 'no site'} (server records)",
    )  # fmt: skip


def call_figures(row: MetricsRow | None) -> dict[str, int]:
    return {name: int(getattr(row, name)) if row is not None else 0 for name in CALL_FIGURES}


class QueueStore:
    """One site's writer: a bounded buffer on the loop, batches inserted on a worker thread."""

    def __init__(
        self,
        engine: Engine,
        site: str,
        *,
        batch: int = BATCH,
        flush_s: float = FLUSH_S,
        limit: int = BUFFER_LIMIT,
        insert: Callable[[Engine, Sequence[dict[str, Any]]], None] = insert_rows,
    ) -> None:
        self.engine = engine
        self.site = site
        self._batch = batch
        self._flush_s = flush_s
        self._limit = limit
        self._insert = insert
        self._pending: deque[dict[str, Any]] = deque()
        self._wake: asyncio.Event | None = None
        self._written: asyncio.Condition | None = None
        self._task: asyncio.Task[None] | None = None
        self.seq = 0  # the last record accepted
        self.written_seq = 0  # every record up to here is in the database (or was dropped)
        self.last_epoch = 0.0
        self.dropped = 0
        self.failures = 0
        self.last_error = ""

    @property
    def pending(self) -> int:
        return len(self._pending)

    # ------------------------------------------------------------------ reading
    def last_seq(self) -> int:
        with read_session(self.engine) as session:
            found = session.scalar(
                select(func.max(QueueRecord.seq)).where(QueueRecord.site == self.site)
            )
        return int(found or 0)

    def load(self, since: float) -> tuple[list[QueueLogRecord], int]:
        """Records since ``since`` in counted order, and the last seq stored (worker thread)."""
        last = self.last_seq()
        return list(iter_records(self.engine, self.site, since)), last

    # ------------------------------------------------------------------ writing (the loop)
    def add(self, key: str, record: QueueLogRecord) -> int:
        """Queue one counted record for the database; its seq (0: dropped, buffer full)."""
        self.seq += 1
        self.last_epoch = max(self.last_epoch, record.timestamp)
        if len(self._pending) >= self._limit:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning(
                    "queue records %s: the database is behind; %d record(s) dropped",
                    self.site,
                    self.dropped,
                )
            return 0
        self._pending.append(_row(self.site, self.seq, key, record))
        if self._wake is not None and len(self._pending) >= self._batch:
            self._wake.set()
        return self.seq

    async def start(self) -> None:
        self._wake = asyncio.Event()
        self._written = asyncio.Condition()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self, timeout: float = 10.0) -> None:
        """Write what is left (for at most ``timeout`` seconds), then end the writer."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await self.flushed(self.seq, timeout)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._pending:
            log.warning("queue records %s: %d record(s) not written", self.site, self.pending)

    async def flushed(self, seq: int, timeout: float) -> bool:
        """Until every record up to ``seq`` is written (True) or ``timeout`` passed (False)."""
        if self.written_seq >= seq:
            return True
        if self._written is None or self._wake is None:
            return False
        self._wake.set()
        cond = self._written
        async with cond:
            try:
                await asyncio.wait_for(cond.wait_for(lambda: self.written_seq >= seq), timeout)
            except TimeoutError:
                return False
        return True

    async def _run(self) -> None:
        assert self._wake is not None and self._written is not None
        backoff = 0.0
        while True:
            if not self._pending or backoff:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), backoff or self._flush_s)
                self._wake.clear()
            if not self._pending:
                self._advance(self.seq)
                continue
            count = min(len(self._pending), self._batch)
            rows = [self._pending[i] for i in range(count)]
            try:
                await asyncio.to_thread(self._insert, self.engine, rows)
            except (SQLAlchemyError, OSError) as exc:
                self.failures += 1
                self.last_error = type(exc).__name__
                backoff = min(MAX_BACKOFF_S, max(0.5, backoff * 2))
                log.warning(
                    "queue records %s: a batch of %d failed (%s); retrying in %.1f s",
                    self.site, count, self.last_error, backoff,
                )  # fmt: skip
                continue
            backoff = 0.0
            for _ in range(count):
                self._pending.popleft()
            self._advance(self._pending[0]["seq"] - 1 if self._pending else self.seq)

    def _advance(self, seq: int) -> None:
        if seq <= self.written_seq:
            return
        self.written_seq = seq
        cond = self._written
        if cond is None:
            return

        async def notify() -> None:
            async with cond:
                cond.notify_all()

        asyncio.get_running_loop().create_task(notify())


class StoredBoard(LiveBoard):
    """A live board whose every counted record is named once and stored.

    ``LiveBoard`` hands each record (from an event, a resolver or a resync) to
    :meth:`feed`; here a repeat is dropped before the board counts it, and a new
    one is counted and queued for the database, so the board and the stored
    records hold the same facts in the same order.
    """

    def __init__(self, settings: SupervisorSettings, store: QueueStore) -> None:
        self.keys = RecordKeys()
        self.store = store
        self.repeats = 0
        super().__init__(settings)

    def feed(self, record: QueueLogRecord) -> None:
        key = self.keys.accept(record)
        if key is None:
            self.repeats += 1
            return
        super().feed(record)
        self.store.add(key, record)

    def replay(self, records: Iterable[QueueLogRecord]) -> int:
        """Count stored records again (a restart): named, counted, not stored twice."""
        count = 0
        for record in records:
            if self.keys.accept(record) is not None:
                super().feed(record)
                self.store.last_epoch = max(self.store.last_epoch, record.timestamp)
                count += 1
        self.version += 1
        return count


@dataclasses.dataclass(frozen=True)
class Reconciliation:
    """The board's day totals against the report over the stored records, same day, same cut."""

    site: str
    start: dt.datetime
    end: dt.datetime
    upto_seq: int
    live: dict[str, dict[str, int]]  # queue ("" = all) -> figure -> value
    report: dict[str, dict[str, int]]
    drift: int  # sum over queues and figures of |live - report|
    dropped: int
    pending: int
    complete: bool  # every record up to upto_seq was written before the report was read

    def as_json(self) -> dict[str, Any]:
        differs = {
            q: {f: self.live.get(q, {}).get(f, 0) - self.report.get(q, {}).get(f, 0)
                for f in CALL_FIGURES
                if self.live.get(q, {}).get(f, 0) != self.report.get(q, {}).get(f, 0)}
            for q in sorted(set(self.live) | set(self.report))
        }  # fmt: skip
        return {
            "site": self.site,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "upto_seq": self.upto_seq,
            "drift": self.drift,
            "complete": self.complete,
            "dropped": self.dropped,
            "pending": self.pending,
            "live": self.live.get("", call_figures(None)),
            "report": self.report.get("", call_figures(None)),
            "differences": {q: d for q, d in differs.items() if d},
        }


def day_of(board: StoredBoard, now: float) -> tuple[dt.datetime, dt.datetime]:
    """The board's current local day (the newest of the clock and the last record)."""
    tz = board.settings.metrics.tz
    start = local_midnight(max(now, board.store.last_epoch), tz)
    end = local_midnight(start + 26 * 3600, tz)
    return dt.datetime.fromtimestamp(start, tz), dt.datetime.fromtimestamp(end, tz)


async def reconcile(board: StoredBoard, site: str, *, timeout: float = 10.0) -> Reconciliation:
    """Live day totals vs the report of the stored records for the same day (see module doc).

    The live figures and the last counted seq are read together on the loop (no await in
    between); the report reads the records up to that seq once they are written.
    """
    store = board.store
    now = time.time()
    start, end = day_of(board, now)
    upto = store.seq
    queues = set(board.metrics.queues())
    live = {q: call_figures(board.metrics.today(queue=q, now=now)) for q in queues}
    live[""] = call_figures(board.metrics.today(now=now))
    complete = await store.flushed(upto, timeout)
    config = board.settings.metrics
    report = await asyncio.to_thread(
        report_from_db, store.engine, config, [site], start, end, upto_seq={site: upto}
    )
    reported = {line.row.queue: call_figures(line.row) for line in report.totals}
    reported[""] = call_figures(report.grand_total.row)
    for q in set(live) | set(reported):
        live.setdefault(q, call_figures(None))
        reported.setdefault(q, call_figures(None))
    drift = sum(
        abs(live[q][f] - reported[q][f]) for q in live for f in CALL_FIGURES if q != ""
    ) + sum(abs(live[""][f] - reported[""][f]) for f in CALL_FIGURES)
    return Reconciliation(
        site, start, end, upto, live, reported, drift, store.dropped, store.pending, complete
    )


__all__ = [
    "CALL_FIGURES",
    "QueueStore",
    "Reconciliation",
    "RecordKeys",
    "StoredBoard",
    "build_store_from_db",
    "call_figures",
    "day_of",
    "insert_rows",
    "iter_records",
    "reconcile",
    "report_from_db",
    "stored_sites",
]
