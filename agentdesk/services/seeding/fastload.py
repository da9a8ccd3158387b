"""Loading generated customers: bulk mode for an empty store, the ordinary path otherwise.

Bulk mode exists because indexes and search triggers kept live during a
million-customer load cost more than the rows themselves. For an empty store
it:

1. reads the definitions of the secondary indexes of the loaded tables, the
   ``search_*`` triggers that feed the search index (migration 0003) and, on
   PostgreSQL, the foreign keys of the loaded tables from the database's own
   catalogue, parks them in ``sync_state`` (so a seed killed half-way is
   repaired by the next run) and drops or disables them;
2. generates chunks in worker processes which write them themselves: on
   SQLite taking turns in chunk order (one writer; rollback journal, fsync,
   CHECK and foreign-key enforcement off), on PostgreSQL side by side with
   ``COPY``;
3. writes the search documents with set-based SQL and recreates every index,
   trigger and foreign key exactly as it was defined; on SQLite the FTS5
   index is rebuilt in one pass in a side file on the second core, then
   copied in, and the store goes back to WAL; PostgreSQL gets ``ANALYZE``.

A load that is interrupted between steps is finished by the next seed (the
parked definitions). With SQLite's journal off, a process killed in the
middle of writing a chunk can leave a damaged file: bulk mode is for a new,
empty store, which one deletes and seeds again.

The ordinary path inserts chunk after chunk with every index and trigger
live; tests check that both paths leave the same rows, documents and schema.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import Engine, func, select

from agentdesk.models import Agent, Customer, CustomerPhone, Interaction, Product, Team, Ticket
from agentdesk.services.seeding import generator
from agentdesk.services.seeding.bulk import (
    Batch,
    BulkWriter,
    Prepared,
    prepare_batch,
    write_prepared,
)
from agentdesk.services.seeding.generator import (
    CUSTOMER_TABLES,
    Progress,
    SeedOptions,
    SeedReport,
)
from agentdesk.store.engine import sqlcipher_connect, sqlcipher_key, write_session

PARKED_KEY = "seed.bulk_load"
# Below this many customers the worker processes cost more than bulk mode saves.
BULK_MIN_CUSTOMERS = 20_000
Log = Callable[[str], None]

# The documents the search triggers of migration 0003 would have written, per dialect.
# Kept in step with them by tests/services/test_seed.py, which compares a bulk-loaded
# index with a trigger-fed one on both databases.
_SQLITE_DOCS = (
    """INSERT INTO search_doc(source_id, customer_id, name)
       SELECT c.id, c.id, c.display_name FROM customer c
       WHERE c.deleted_at IS NULL
         AND NOT EXISTS (SELECT 1 FROM search_doc d WHERE d.source_id = c.id)""",
    """INSERT INTO search_doc(source_id, customer_id, phone)
       SELECT p.id, p.customer_id, coalesce(ltrim(p.e164, '+'), p.number_raw) FROM customer_phone p
       WHERE NOT EXISTS (SELECT 1 FROM search_doc d WHERE d.source_id = p.id)""",
    """INSERT INTO search_doc(source_id, customer_id, email)
       SELECT e.id, e.customer_id, e.address_norm FROM customer_email e
       WHERE NOT EXISTS (SELECT 1 FROM search_doc d WHERE d.source_id = e.id)""",
)
# Into an empty search_doc (every bulk load) the same documents without the existence
# probes: the backfill statements of migration 0003 as they stand.
_SQLITE_FRESH_DOCS = (
    """INSERT INTO search_doc(source_id, customer_id, name)
        SELECT id, id, display_name FROM customer WHERE deleted_at IS NULL""",
    """INSERT INTO search_doc(source_id, customer_id, phone)
        SELECT id, customer_id, coalesce(ltrim(e164, '+'), number_raw) FROM customer_phone""",
    """INSERT INTO search_doc(source_id, customer_id, email)
        SELECT id, customer_id, address_norm FROM customer_email""",
)
_PG_DOCS = (
    """INSERT INTO search_doc
       SELECT id, id, 'name', display_name FROM customer WHERE deleted_at IS NULL
       ON CONFLICT (source_id) DO NOTHING""",
    """INSERT INTO search_doc
       SELECT id, customer_id, 'phone', coalesce(ltrim(e164, '+'), number_raw) FROM customer_phone
       ON CONFLICT (source_id) DO NOTHING""",
    """INSERT INTO search_doc SELECT id, customer_id, 'email', address_norm FROM customer_email
       ON CONFLICT (source_id) DO NOTHING""",
)
_SEARCH_TABLES = ("customer", "customer_phone", "customer_email", "search_doc")


@dataclass(frozen=True)
class Job:
    """One chunk of customers: its stream (id range and random stream) and index range."""

    order: int
    stream: int
    start: int
    count: int


@dataclass(frozen=True)
class Target:
    """Where a worker process writes: a SQLite file or a PostgreSQL conninfo.

    ``key`` is the SQLCipher key of an encrypted embedded store (the default one).
    """

    dialect: str
    location: str
    key: str | None = field(default=None, repr=False)


def _open_sqlite(path: str, key: str | None, **kwargs: Any) -> Any:
    """A DB-API connection to a store file, through SQLCipher when it is encrypted."""
    if key is None:
        return sqlite3.connect(path, **kwargs)
    return sqlcipher_connect(path, key, **kwargs)


@dataclass(frozen=True)
class Parked:
    """Definitions taken off the store for a bulk load, to put back afterwards."""

    indexes: dict[str, str]  # name -> CREATE INDEX statement
    # SQLite: name -> CREATE TRIGGER statement (dropped); PostgreSQL: name -> its table
    # (disabled, so its definition never leaves the catalogue).
    triggers: dict[str, str]
    foreign_keys: dict[str, str]  # "table.constraint" -> definition (PostgreSQL only)

    def to_json(self) -> str:
        return json.dumps(
            {"indexes": self.indexes, "triggers": self.triggers, "foreign_keys": self.foreign_keys}
        )

    @classmethod
    def from_json(cls, text: str) -> Parked:
        data = json.loads(text)
        return cls(data["indexes"], data["triggers"], data["foreign_keys"])


# --- entry point -----------------------------------------------------------------------------


def run(
    engine: Engine,
    options: SeedOptions,
    progress: Progress | None = None,
    *,
    workers: int | None = None,
    bulk: bool | None = None,
    log: Log | None = None,
) -> SeedReport:
    """Seed ``engine`` (see ``generator.seed``)."""
    say = log or (lambda _line: None)
    report = SeedReport()
    started = time.perf_counter()
    repair(engine)  # a bulk load that died half-way
    agent_ids, team_ids, existing = _reference_ids(engine, options)
    jobs = _plan(options, existing)
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    if bulk is None:
        bulk = existing == 0 and options.customers >= BULK_MIN_CUSTOMERS
    elif bulk and existing:
        raise ValueError("bulk loading needs a store without customers")
    report.bulk = bool(bulk and jobs)
    total = options.customers

    def tick(done: int, rows: int) -> None:
        if progress:
            progress(done, total, rows)

    if report.bulk:
        report.rows = _bulk_load(
            engine, options, jobs, workers, agent_ids, team_ids, tick, report.phases, say
        )
    else:
        report.rows = _ordinary_load(engine, options, jobs, workers, agent_ids, team_ids, tick)
    if options.heavy_customer_interactions:
        stream = (jobs[-1].stream if jobs else _first_stream(options, existing)) + 1
        for batch in generator.heavy_customer(options, stream, agent_ids, team_ids):
            report.rows += _write_batch(engine, batch)
    report.customers = total
    report.seconds = time.perf_counter() - started
    with write_session(engine) as session:
        for table in (Customer, CustomerPhone, Product, Interaction, Ticket):
            report.tables[table.__tablename__] = (
                session.scalar(select(func.count()).select_from(table)) or 0
            )
    return report


def _first_stream(options: SeedOptions, existing: int) -> int:
    # Streams continue after what is already there, so a second run adds new customers.
    size = options.chunk_size
    return 1 + existing // size + (1 if existing % size else 0)


def _plan(options: SeedOptions, existing: int) -> list[Job]:
    first = _first_stream(options, existing)
    jobs: list[Job] = []
    done = 0
    while done < options.customers:
        count = min(options.chunk_size, options.customers - done)
        jobs.append(Job(len(jobs), first + len(jobs), existing + done, count))
        done += count
    return jobs


def _reference_ids(engine: Engine, options: SeedOptions) -> tuple[list[UUID], list[UUID], int]:
    """Agent and team ids, writing the reference data first if the store has none."""
    with write_session(engine) as session:
        has_agents = session.scalar(select(func.count()).select_from(Agent)) or 0
    if not has_agents:
        generator.write_reference(engine, options)
    with write_session(engine) as session:
        agents = list(session.scalars(select(Agent.id).order_by(Agent.login)))
        teams = list(session.scalars(select(Team.id).order_by(Team.name)))
        existing = session.scalar(select(func.count()).select_from(Customer)) or 0
    return agents, teams, existing


def _write_batch(engine: Engine, batch: Batch) -> int:
    with write_session(engine) as session:
        writer = BulkWriter(session.connection())
        writer.insert_batch(batch, CUSTOMER_TABLES)
        return writer.rows_written


# --- ordinary path -----------------------------------------------------------------------------

_JobArgs = tuple[SeedOptions, str, Job, list[UUID], list[UUID]]


def _generate_prepared(args: _JobArgs) -> list[Prepared]:
    options, dialect, job, agent_ids, team_ids = args
    batch = generator.chunk(options, job.stream, job.start, job.count, agent_ids, team_ids)
    return prepare_batch(dialect, CUSTOMER_TABLES, batch)


def _ordinary_load(
    engine: Engine,
    options: SeedOptions,
    jobs: Sequence[Job],
    workers: int,
    agent_ids: list[UUID],
    team_ids: list[UUID],
    tick: Callable[[int, int], None],
) -> int:
    """Chunk after chunk with indexes and triggers live (generated in workers when asked)."""
    dialect = engine.dialect.name
    args = [(options, dialect, job, agent_ids, team_ids) for job in jobs]
    done = rows = 0

    def write(job: Job, prepared: list[Prepared]) -> None:
        nonlocal done, rows
        with write_session(engine) as session:
            raw = session.connection().connection.driver_connection
            rows += write_prepared(raw, dialect, prepared)
        done += job.count
        tick(done, rows)

    if workers > 1 and len(jobs) > 1:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            for job, prepared in zip(jobs, pool.map(_generate_prepared, args), strict=True):
                write(job, prepared)
    else:
        for job, arg in zip(jobs, args, strict=True):
            write(job, _generate_prepared(arg))
    return rows


# --- bulk path: worker side ------------------------------------------------------------------


class _Turn:
    """Lets SQLite writers in several processes take turns in chunk order."""

    def __init__(self, context: Any) -> None:
        self.cond = context.Condition()
        self.next = context.Value("q", 0, lock=False)
        self.failed = context.Value("b", 0, lock=False)

    def wait_for(self, order: int, timeout: float = 600.0) -> None:
        with self.cond:
            if not self.cond.wait_for(
                lambda: self.next.value == order or self.failed.value, timeout
            ):
                raise TimeoutError(f"chunk {order} waited {timeout:.0f} s for its turn")
            if self.failed.value:
                raise RuntimeError("another seeding worker failed")

    def advance(self, failed: bool = False) -> None:
        with self.cond:
            if failed:
                self.failed.value = 1
            else:
                self.next.value += 1
            self.cond.notify_all()


_worker_turn: _Turn | None = None
_worker_conn: Any = None


def _init_worker(turn: _Turn | None) -> None:
    global _worker_turn
    _worker_turn = turn


def _connect(target: Target) -> Any:
    if target.dialect == "sqlite":
        conn = _open_sqlite(target.location, target.key, isolation_level=None, timeout=600)
        # The generator's rows are valid by construction (the ordinary path, which checks
        # everything, writes the same rows in the tests). SQLite re-evaluates each
        # ``CHECK (x IN (...))`` by building a temporary table per inserted row, which
        # tripled the cost of an interaction row, and a foreign key costs a lookup.
        for pragma in (
            "journal_mode=OFF",
            "synchronous=OFF",
            "foreign_keys=OFF",
            "ignore_check_constraints=ON",
            "cache_size=-200000",
        ):
            conn.execute(f"PRAGMA {pragma}")
        return conn
    import psycopg

    pg = psycopg.connect(target.location)
    # A chunk lost to a crash is reloaded anyway: no need to wait for each commit's flush.
    pg.execute("SET synchronous_commit = off")
    pg.commit()
    return pg


def _worker_connection(target: Target) -> Any:
    global _worker_conn
    if _worker_conn is None:
        _worker_conn = _connect(target)
    return _worker_conn


_BulkArgs = tuple[SeedOptions, Target, Job, list[UUID], list[UUID]]


def _bulk_job(args: _BulkArgs) -> tuple[int, int]:
    """Generate one chunk and write it (in its turn on SQLite); (customers, rows)."""
    options, target, job, agent_ids, team_ids = args
    prepared = _generate_prepared((options, target.dialect, job, agent_ids, team_ids))
    conn = _worker_connection(target)
    turn = _worker_turn
    if turn is not None:
        turn.wait_for(job.order)
    try:
        if target.dialect == "sqlite":
            conn.execute("BEGIN")
        rows = write_prepared(conn, target.dialect, prepared)
        conn.commit() if target.dialect != "sqlite" else conn.execute("COMMIT")
    except BaseException:
        if turn is not None:
            turn.advance(failed=True)
        raise
    if turn is not None:
        turn.advance()
    return job.count, rows


# --- bulk path: coordinator side -------------------------------------------------------------


def _bulk_load(
    engine: Engine,
    options: SeedOptions,
    jobs: Sequence[Job],
    workers: int,
    agent_ids: list[UUID],
    team_ids: list[UUID],
    tick: Callable[[int, int], None],
    phases: dict[str, float],
    say: Log,
) -> int:
    sqlite = engine.dialect.name == "sqlite"
    target = _target(engine)
    started = time.perf_counter()
    parked = _suspend(engine)
    engine.dispose()
    if sqlite:
        _sqlite_journal(target.location, target.key, "DELETE")
    args = [(options, target, job, agent_ids, team_ids) for job in jobs]
    done = rows = 0
    try:
        if workers > 1 and len(jobs) > 1:
            context = multiprocessing.get_context("spawn")
            turn = _Turn(context) if sqlite else None
            with ProcessPoolExecutor(
                max_workers=workers,
                mp_context=context,
                initializer=_init_worker,
                initargs=(turn,),
            ) as pool:
                for customers, written in pool.map(_bulk_job, args):
                    done, rows = done + customers, rows + written
                    tick(done, rows)
        else:
            _init_worker(None)
            try:
                for arg in args:
                    customers, written = _bulk_job(arg)
                    done, rows = done + customers, rows + written
                    tick(done, rows)
            finally:
                _close_worker_connection()
        phases["load"] = time.perf_counter() - started
        say(
            f"loaded {rows:,} rows in {phases['load']:.1f} s "
            f"({rows / phases['load'] if phases['load'] else 0:,.0f} rows/s); "
            "building search documents and indexes"
        )
    finally:
        restore(engine, parked, phases, say)
    return rows


def _close_worker_connection() -> None:
    global _worker_conn
    if _worker_conn is not None:
        _worker_conn.close()
        _worker_conn = None


def _target(engine: Engine) -> Target:
    if engine.dialect.name == "sqlite":
        return Target("sqlite", str(engine.url.database), sqlcipher_key(engine))
    url = engine.url.set(drivername="postgresql")
    return Target("postgresql", url.render_as_string(hide_password=False))


def _sqlite_journal(path: str, key: str | None, mode: str) -> None:
    conn = _open_sqlite(path, key, isolation_level=None, timeout=30)
    try:
        conn.execute(f"PRAGMA journal_mode={mode}")
    finally:
        conn.close()


# --- suspending and restoring ----------------------------------------------------------------


def _loaded_tables() -> list[str]:
    return [*CUSTOMER_TABLES, "search_doc"]


def _suspend(engine: Engine) -> Parked:
    """Take indexes, search triggers and (PostgreSQL) foreign keys off; park their SQL."""
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        parked = _sqlite_catalogue(raw) if engine.dialect.name == "sqlite" else _pg_catalogue(raw)
        conn.exec_driver_sql(
            _param_sql(engine, "INSERT INTO sync_state(key, value) VALUES (?, ?)"),
            (PARKED_KEY, parked.to_json()),
        )
        if engine.dialect.name == "sqlite":
            for name in parked.triggers:
                conn.exec_driver_sql(f"DROP TRIGGER {name}")
            for name in parked.indexes:
                conn.exec_driver_sql(f"DROP INDEX {name}")
        else:
            for table, name in _pg_trigger_tables(parked):
                conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER {name}")
            for qualified in parked.foreign_keys:
                table, name = qualified.split(".", 1)
                conn.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
            for name in parked.indexes:
                conn.exec_driver_sql(f"DROP INDEX {name}")
    return parked


def _param_sql(engine: Engine, sql: str) -> str:
    return sql if engine.dialect.name == "sqlite" else sql.replace("?", "%s")


def _sqlite_catalogue(raw: Any) -> Parked:
    tables = _loaded_tables()
    marks = ", ".join("?" for _ in tables)
    indexes = dict(
        raw.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({marks}) ORDER BY name",
            tables,
        ).fetchall()
    )
    triggers = dict(
        raw.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'search%' "
            f"AND tbl_name IN ({marks}) ORDER BY name",
            tables,
        ).fetchall()
    )
    return Parked(indexes, triggers, {})


def _pg_catalogue(raw: Any) -> Parked:
    tables = _loaded_tables()
    with raw.cursor() as cur:
        cur.execute(
            """SELECT i.relname, pg_get_indexdef(i.oid)
               FROM pg_index x
               JOIN pg_class i ON i.oid = x.indexrelid
               JOIN pg_class t ON t.oid = x.indrelid
               WHERE t.relnamespace = current_schema()::regnamespace
                 AND t.relname = ANY(%s)
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
               ORDER BY i.relname""",
            (tables,),
        )
        indexes = {name: sql for name, sql in cur.fetchall()}
        cur.execute(
            """SELECT g.tgname, t.relname, pg_get_triggerdef(g.oid)
               FROM pg_trigger g JOIN pg_class t ON t.oid = g.tgrelid
               WHERE NOT g.tgisinternal AND g.tgname LIKE 'search%%'
                 AND t.relnamespace = current_schema()::regnamespace
                 AND t.relname = ANY(%s)
               ORDER BY g.tgname""",
            (tables,),
        )
        triggers = {name: table for name, table, _sql in cur.fetchall()}
        cur.execute(
            """SELECT t.relname, c.conname, pg_get_constraintdef(c.oid)
               FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
               WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace
                 AND t.relname = ANY(%s)
               ORDER BY t.relname, c.conname""",
            (tables,),
        )
        foreign_keys = {f"{table}.{name}": sql for table, name, sql in cur.fetchall()}
    return Parked(indexes, triggers, foreign_keys)


def _pg_trigger_tables(parked: Parked) -> Iterator[tuple[str, str]]:
    for name, table in parked.triggers.items():
        yield table, name


def repair(engine: Engine) -> None:
    """Finish a bulk load that was interrupted (its definitions are still parked)."""
    with engine.connect() as conn:
        parked = conn.exec_driver_sql(
            _param_sql(engine, "SELECT value FROM sync_state WHERE key = ?"), (PARKED_KEY,)
        ).scalar()
    if parked is not None:
        restore(engine, Parked.from_json(parked), {}, lambda _line: None)


def restore(engine: Engine, parked: Parked, phases: dict[str, float], say: Log) -> None:
    """Search documents, indexes, triggers and foreign keys back as they were defined."""
    engine.dispose()  # SQLite changes journal mode only when no other connection is open
    if engine.dialect.name == "sqlite":
        _restore_sqlite(str(engine.url.database), sqlcipher_key(engine), parked, phases, say)
    else:
        _restore_pg(engine, parked, phases, say)
    engine.dispose()


def _timed(phases: dict[str, float], name: str, say: Log) -> Callable[[], None]:
    started = time.perf_counter()

    def done() -> None:
        phases[name] = time.perf_counter() - started
        say(f"  {name}: {phases[name]:.1f} s")

    return done


def _restore_sqlite(
    path: str, key: str | None, parked: Parked, phases: dict[str, float], say: Log
) -> None:
    conn = _open_sqlite(path, key, isolation_level=None, timeout=600)
    try:
        with contextlib.suppress(sqlite3.OperationalError):
            # Fails when someone else has the store open (a repair): keep its journal then.
            conn.execute("PRAGMA journal_mode=OFF")
        for pragma in ("synchronous=OFF", "cache_size=-400000", "temp_store=MEMORY"):
            conn.execute(f"PRAGMA {pragma}")
        conn.execute("BEGIN")
        done = _timed(phases, "search documents", say)
        fresh = conn.execute("SELECT 1 FROM search_doc LIMIT 1").fetchone() is None
        for statement in _SQLITE_FRESH_DOCS if fresh else _SQLITE_DOCS:
            conn.execute(statement)
        conn.execute("COMMIT")
        done()
        done = _timed(phases, "indexes and full-text index", say)
        started = time.perf_counter()
        with _FullTextBuild(conn, path, key) as fts:
            conn.execute("BEGIN")
            for sql in parked.indexes.values():
                conn.execute(sql.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))
            conn.execute("COMMIT")
            say(f"    B-tree indexes built after {time.perf_counter() - started:.1f} s")
            fts.install()
            say(f"    full-text index in place after {time.perf_counter() - started:.1f} s")
            conn.execute("BEGIN")
            for name, sql in parked.triggers.items():
                exists = conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?", (name,)
                ).fetchone()
                if not exists:
                    conn.execute(sql)
            conn.execute("DELETE FROM sync_state WHERE key = ?", (PARKED_KEY,))
            conn.execute("COMMIT")
        done()
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()


# FTS5 keeps an external-content index in these tables (``<name>_<suffix>``).
_FTS_SHADOWS = ("data", "idx", "docsize", "config")


class _FullTextBuild:
    """Builds the FTS5 index in a side file on a second core while the store builds B-trees.

    SQLite has one writer per file, so rebuilding FTS5 in the store would wait
    for every ``CREATE INDEX``. The side file gets the same ``search_doc``
    rows (same docids) and the same ``search_fts`` definition, builds the
    index in a thread (sqlite3 releases the GIL while a statement runs), and
    ``install`` copies its four shadow tables into the store: the index it
    would have built itself, byte for byte.
    """

    def __init__(self, store: sqlite3.Connection, path: str, key: str | None) -> None:
        self._store = store
        self._path = f"{path}.fts-build"
        # An encrypted store's side file is encrypted with the same key (SQLCipher attaches
        # it with the main database's key): the index holds names and numbers too.
        self._key = key
        self._attach = "ATTACH DATABASE ? AS fts_side" + (
            "" if key is None else f" KEY \"x'{key}'\""
        )
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def __enter__(self) -> _FullTextBuild:
        with contextlib.suppress(FileNotFoundError):
            os.remove(self._path)
        definitions = [
            sql
            for (sql,) in self._store.execute(
                "SELECT sql FROM sqlite_master WHERE name IN ('search_doc', 'search_fts') "
                "ORDER BY name = 'search_fts'"
            )
        ]
        side = _open_sqlite(self._path, self._key, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-200000"):
            side.execute(f"PRAGMA {pragma}")
        for sql in definitions:
            side.execute(sql)
        self._store.execute(self._attach, (self._path,))
        try:
            self._store.execute("INSERT INTO fts_side.search_doc SELECT * FROM main.search_doc")
        finally:
            self._store.execute("DETACH DATABASE fts_side")
        self._thread = threading.Thread(target=self._build, args=(side,), name="fts-build")
        self._thread.start()
        return self

    def _build(self, side: sqlite3.Connection) -> None:
        try:
            side.execute("INSERT INTO search_fts(search_fts) VALUES ('rebuild')")
        except BaseException as exc:
            self._error = exc
        finally:
            side.close()

    def install(self) -> None:
        """Wait for the side build, then copy its index into the store."""
        assert self._thread is not None
        self._thread.join()
        if self._error is not None:
            raise self._error
        # ATTACH and DETACH are refused inside a transaction, so the copy has its own.
        self._store.execute(self._attach, (self._path,))
        try:
            self._store.execute("BEGIN")
            for suffix in _FTS_SHADOWS:
                table = f"search_fts_{suffix}"
                self._store.execute(f"DELETE FROM main.{table}")
                self._store.execute(f"INSERT INTO main.{table} SELECT * FROM fts_side.{table}")
            self._store.execute("COMMIT")
        finally:
            if self._store.in_transaction:
                self._store.execute("ROLLBACK")
            self._store.execute("DETACH DATABASE fts_side")

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._thread.join()
        with contextlib.suppress(FileNotFoundError):
            os.remove(self._path)


_ON_SEARCH_DOC = re.compile(r" ON (?:\S+\.)?search_doc ")


def _restore_pg(engine: Engine, parked: Parked, phases: dict[str, float], say: Log) -> None:
    url = _target(engine).location
    import psycopg

    def execute(statements: Sequence[str], parallel: int) -> None:
        errors: list[BaseException] = []
        lock = threading.Lock()
        queue = list(statements)

        def worker() -> None:
            with psycopg.connect(url, autocommit=True) as conn:
                # Sorts and the GIN build run in memory rather than in temporary files.
                conn.execute("SET maintenance_work_mem = '512MB'")
                while True:
                    with lock:
                        if not queue or errors:
                            return
                        statement = queue.pop(0)
                    try:
                        conn.execute(statement)
                    except BaseException as exc:
                        with lock:
                            errors.append(exc)
                        return

        with ThreadPoolExecutor(max_workers=parallel) as pool:
            for future in [pool.submit(worker) for _ in range(parallel)]:
                future.result()
        if errors:
            raise errors[0]

    with psycopg.connect(url, autocommit=True) as conn:
        existing = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes")}
        constraints = {
            f"{r[0]}.{r[1]}"
            for r in conn.execute(
                "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE contype = 'f'"
            )
        }
    missing = {name: sql for name, sql in parked.indexes.items() if name not in existing}
    search = [sql for sql in missing.values() if _ON_SEARCH_DOC.search(sql)]
    # The search documents and the other tables' indexes share the sessions (largest
    # tables first, so the sessions finish together); the search documents' own indexes
    # can only follow them, and the foreign keys come last.
    others = sorted(
        (sql for sql in missing.values() if sql not in search),
        key=lambda sql: ("interaction" not in sql, "product" not in sql, sql),
    )
    done = _timed(phases, "search documents and indexes", say)
    execute([*_PG_DOCS, *others], 3)
    done()
    # The GIN index over 3.2 M documents is the longest single step and PostgreSQL builds
    # it on one core: it starts first, the foreign keys' checks and the statistics share
    # the other sessions meanwhile.
    search.sort(key=lambda sql: " USING gin " not in sql)
    done = _timed(phases, "full-text index, foreign keys and statistics", say)
    execute(
        [
            *search,
            *(
                "ALTER TABLE {} ADD CONSTRAINT {} {}".format(*qualified.split(".", 1), definition)
                for qualified, definition in parked.foreign_keys.items()
                if qualified not in constraints
            ),
            *(f"ANALYZE {table}" for table in _loaded_tables()),
        ],
        3,
    )
    with psycopg.connect(url, autocommit=True) as conn:
        for table, name in _pg_trigger_tables(parked):
            conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER {name}")
        conn.execute("DELETE FROM sync_state WHERE key = %s", (PARKED_KEY,))
    done()
