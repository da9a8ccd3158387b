"""One engine factory for every store agentdesk talks to.

* central PostgreSQL (``postgresql+psycopg://…``), password from the keyring
  when the URL carries none;
* central embedded SQLite file (the single-workstation default);
* the workstation's local cache: SQLite in WAL mode, encrypted with SQLCipher
  through ``sqlcipher3`` using a raw 256-bit key (no PBKDF2 on every open).

SQLite connections run with the driver in autocommit mode and SQLAlchemy
emitting ``BEGIN`` itself (SQLAlchemy's documented pysqlite recipe), so a
writer can ask for ``BEGIN IMMEDIATE`` and never hit a lock upgrade deadlock.
"""

from __future__ import annotations

import re
import sqlite3
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

WRITE_OPTION = "agentdesk_write"
_HEX_KEY = re.compile(r"^[0-9a-fA-F]{64}$")


class StoreError(RuntimeError):
    """A store that cannot be opened, with a message an operator can act on."""


def _sqlite_pragmas(dbapi_conn: Any, *, wal: bool) -> None:
    cur = dbapi_conn.cursor()
    try:
        if wal:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        # FULL: the outbox is the only copy of an agent's unsent work; it must
        # survive a power cut, not only a process crash.
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=10000")
    finally:
        cur.close()


def _install_begin_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin.
        dbapi_conn.isolation_level = None

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _sqlite_file_engine(path: Path, *, creator: Any = None, module: Any = None) -> Engine:
    path.parent.mkdir(parents=True, exist_ok=True)
    # hide_parameters: SQLAlchemy puts bound values (names, numbers) into every error's
    # message, and those messages reach log files; see agentdesk.logsafe.
    kwargs: dict[str, Any] = {
        "poolclass": QueuePool,
        "pool_size": 4,
        "max_overflow": 4,
        "hide_parameters": True,
    }
    if creator is not None:
        kwargs["creator"] = creator
    if module is not None:
        kwargs["module"] = module
    engine = create_engine(f"sqlite:///{path}", **kwargs)
    _install_begin_hooks(engine)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        _sqlite_pragmas(dbapi_conn, wal=True)

    return engine


def sqlite_engine(path: Path) -> Engine:
    """Plain SQLite file (the embedded central store, or an unencrypted cache)."""
    return _sqlite_file_engine(path)


def sqlcipher_connect(path: Path | str, key_hex: str, **kwargs: Any) -> Any:
    """A DB-API connection to a SQLCipher file (for bulk work outside SQLAlchemy too)."""
    import sqlcipher3

    conn = sqlcipher3.connect(str(path), **kwargs)
    conn.execute(f"PRAGMA key = \"x'{key_hex}'\"")
    return conn


def encrypted_sqlite_engine(path: Path, key_hex: str, *, what: str = "local cache") -> Engine:
    """SQLCipher-encrypted SQLite file keyed with a raw 256-bit key."""
    if not _HEX_KEY.match(key_hex):
        raise StoreError(f"the {what} key must be 64 hexadecimal digits (256 bits)")
    import sqlcipher3

    def creator() -> Any:
        conn = sqlcipher_connect(path, key_hex, check_same_thread=False)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlcipher3.DatabaseError as exc:
            conn.close()
            raise StoreError(
                f"cannot open the {what} {path}: wrong key or not an agentdesk store ({exc})."
                + (
                    " Move the file aside to rebuild it from the central store."
                    if what == "local cache"
                    else ""
                )
            ) from exc
        if not conn.execute("PRAGMA cipher_version").fetchone()[0]:
            conn.close()
            raise StoreError(
                "sqlcipher3 is not linked against SQLCipher; refusing to store data unencrypted"
            )
        return conn

    engine = _sqlite_file_engine(path, creator=creator, module=sqlcipher3)
    _SQLCIPHER_KEYS[engine] = key_hex
    return engine


# Which engines are SQLCipher files, and their key: bulk loaders open their own connections.
_SQLCIPHER_KEYS: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def sqlcipher_key(engine: Engine) -> str | None:
    """The raw key of an engine made by :func:`encrypted_sqlite_engine`, else None."""
    return _SQLCIPHER_KEYS.get(engine)


def central_engine(url: str, password: str | None = None, *, key_hex: str | None = None) -> Engine:
    """Engine for the central store: PostgreSQL by URL, or an embedded SQLite file.

    ``key_hex`` opens the embedded file with SQLCipher (``store.central`` supplies it).
    """
    try:
        parsed: URL = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"invalid central database URL {url!r}: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise StoreError("the embedded central store needs a file path")
        if key_hex is not None:
            return encrypted_sqlite_engine(
                Path(parsed.database), key_hex, what="embedded central store"
            )
        return sqlite_engine(Path(parsed.database))
    if parsed.get_backend_name() != "postgresql":
        raise StoreError(f"unsupported central database {parsed.get_backend_name()!r}")
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if password is not None and parsed.password is None:
        parsed = parsed.set(password=password)
    return create_engine(
        parsed,
        pool_pre_ping=True,
        hide_parameters=True,
        pool_size=5,
        max_overflow=5,
        connect_args={"connect_timeout": 5, "application_name": "agentdesk"},
    )


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit (rows become plain data)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A session whose transaction is a writer from the start (SQLite ``BEGIN IMMEDIATE``).

    Commits on success, rolls back on any exception.
    """
    bind = (
        engine.execution_options(**{WRITE_OPTION: True})
        if engine.dialect.name == "sqlite"
        else engine
    )
    with Session(bind=bind, expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    with Session(bind=engine, expire_on_commit=False) as session, session.begin():
        yield session


def is_sqlite_error(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.Error)
