"""Open the workstation's encrypted cache, or set an unreadable one aside and start afresh.

The cache key lives in the OS keyring. When that entry is lost (a reset
keyring, a new user profile, a cache copied from another machine) or the
file is damaged, SQLCipher can only say "file is not a database". Nothing
in the file can be recovered without the old key, so the desktop asks the
agent (``on_unreadable``), moves the file aside as
``cache.db.unreadable-<UTC timestamp>`` (with its ``-wal``/``-shm``
companions) and starts with an empty cache that the next sync fills from
the centre. Mutations still waiting in the old file's outbox are in that
file and cannot be read unless the old key turns up.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from agentdesk.store.engine import StoreError, encrypted_sqlite_engine

log = logging.getLogger(__name__)

_SQLITE_HEADER = b"SQLite format 3\x00"
_COMPANIONS = ("", "-wal", "-shm", "-journal")


@dataclass(frozen=True)
class UnreadableCache:
    """A cache file the current key cannot open, and where it will be kept."""

    path: Path
    reason: str
    moved_to: Path
    plaintext: bool  # an unencrypted SQLite file (an old "encrypted = false" cache)

    @property
    def outbox_note(self) -> str:
        return (
            "Work that had not reached the server yet (the outbox) stays in the old file "
            "and cannot be read without the key it was written with."
        )


def probe(path: Path, key_hex: str) -> str | None:
    """Why ``path`` cannot be opened with ``key_hex``, or None if it can (or is absent)."""
    if not path.exists():
        return None
    import sqlcipher3

    conn = sqlcipher3.connect(str(path))
    try:
        conn.execute(f"PRAGMA key = \"x'{key_hex}'\"")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlcipher3.DatabaseError as exc:
        return str(exc)
    finally:
        conn.close()
    return None


def aside_name(path: Path, now: dt.datetime) -> Path:
    stamp = now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return path.with_name(f"{path.name}.unreadable-{stamp}")


def move_aside(problem: UnreadableCache) -> None:
    """Rename the cache and its WAL/SHM companions to ``problem.moved_to`` (+ suffix)."""
    for suffix in _COMPANIONS:
        source = problem.path.with_name(problem.path.name + suffix)
        if source.exists():
            source.rename(problem.moved_to.with_name(problem.moved_to.name + suffix))


def open_local_cache(
    path: Path,
    key_hex: str,
    *,
    on_unreadable: Callable[[UnreadableCache], bool],
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> Engine:
    """The SQLCipher engine for ``path``; an unreadable file is set aside if the agent agrees.

    ``on_unreadable`` is shown the problem (the desktop's dialog) and returns True to
    start with a fresh cache, False to stop: then ``StoreError`` is raised with the reason.
    """
    reason = probe(path, key_hex)
    if reason is not None:
        with path.open("rb") as handle:
            plaintext = handle.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER
        problem = UnreadableCache(path, reason, aside_name(path, now()), plaintext)
        if not on_unreadable(problem):
            raise StoreError(
                f"the local cache {path} cannot be opened with this workstation's key "
                f"({reason}); move it aside or restore the keyring entry"
            )
        move_aside(problem)
        log.warning(
            "local cache could not be opened (%s); kept as %s, starting a fresh cache",
            reason,
            problem.moved_to.name,
        )
    return encrypted_sqlite_engine(path, key_hex)
