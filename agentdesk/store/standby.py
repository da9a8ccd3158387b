"""Reports read from a PostgreSQL hot standby when one is configured, else from the primary.

A site with a streaming-replication hot standby names it in ``[central]``::

    [central]
    url = "postgresql://agentdesk@db1.bank.local/agentdesk"
    standby_url = "postgresql://agentdesk@db2.bank.local/agentdesk"

The standby is a physical copy of the primary, so it has the same roles and
passwords: a URL without a password uses the primary's keyring entry
(``password_key``). Its connections are read-only twice over: a standby
refuses writes anyway, and the engine sets ``default_transaction_read_only``
so a ``standby_url`` pointing at the primary by mistake cannot write either.

What reads the standby (:class:`ReportReader`): the queue reports
(``/supervisor/reports``, which the Reports window and its charts use), ring →
pop latency, the breached-ticket list and the audit chain walk — history and
long scans, where a second of replication lag changes nothing. Everything else
stays on the primary: every write, sign-in and sync, the live floor, and the
reads that must see a write just made or compare against the live board —
the reconciliation (it compares the board's counts with the records written
up to a sequence number it has just flushed; a lagging standby would show a
drift that does not exist), the floor's restore of today's records at start
(the board resumes counting after the last record stored), the abandoned-call
worklist (a callback created a moment ago settles its caller) and the
escalation alerts (marked read, then listed again). The wallboard's ``today``
charts need no database: they come from the board's live cells.

The standby is never a reason for a report to fail: when it does not answer
(stopped, unreachable, a query cancelled by a recovery conflict) the reader
logs a warning, answers from the primary, and leaves the standby alone for
``retry_s`` before trying it again; ``/ready`` says which one reports read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from agentdesk.config import Settings
from agentdesk.store.engine import StoreError
from agentdesk.vault import KeyringUnavailable, get_secret

log = logging.getLogger(__name__)

T = TypeVar("T")
RETRY_S = 30.0  # after a failure, reports read the primary this long before trying again


def standby_engine(url: str, password: str | None = None) -> Engine:
    """A read-only engine for a PostgreSQL hot standby (refuses other databases)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"invalid standby database URL {url!r}: {exc}") from exc
    if parsed.get_backend_name() != "postgresql":
        raise StoreError("[central] standby_url must be a PostgreSQL URL (a hot standby)")
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if password is not None and parsed.password is None:
        parsed = parsed.set(password=password)
    return create_engine(
        parsed,
        pool_pre_ping=True,
        hide_parameters=True,
        pool_size=3,
        max_overflow=3,
        connect_args={
            # Short: a standby that does not answer costs a report this much, once per retry_s.
            "connect_timeout": 3,
            "application_name": "agentdesk-reports",
            "options": "-c default_transaction_read_only=on",
            # A standby lost mid-report (its host gone, not refusing) is noticed in about a
            # minute, and the report then answers from the primary.
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
        },
    )


def open_standby(settings: Settings) -> Engine | None:
    """The engine for ``[central] standby_url``, or None when no standby is configured."""
    url = settings.central.standby_url
    if not url:
        return None
    if make_url(settings.central_url).get_backend_name() != "postgresql":
        raise StoreError("[central] standby_url needs a PostgreSQL [central] url (the primary)")
    password = None
    if make_url(url).password is None:
        try:
            password = get_secret(settings.central.password_key)
        except KeyringUnavailable:
            password = None
    return standby_engine(url, password)


class ReportReader:
    """Runs a report's reads on the standby, or on the primary when there is none or it fails."""

    def __init__(
        self,
        primary: Engine,
        standby: Engine | None = None,
        *,
        retry_s: float = RETRY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.standby = standby
        self.retry_s = retry_s
        self._clock = clock
        self._lock = threading.Lock()
        self._down_until = 0.0
        self.last_error: str | None = None

    def run(self, work: Callable[[Engine], T]) -> T:
        """``work(engine)`` on the standby if it answers, else on the primary."""
        standby = self._usable()
        if standby is None:
            return work(self.primary)
        try:
            return work(standby)
        except (OperationalError, DBAPIError) as exc:
            if not _standby_trouble(exc):
                raise
            self._failed(exc)
        return work(self.primary)

    def status(self) -> str:
        """For ``/ready``: where reports read now, and why not the standby.

        Probes the standby only when it is not already known to be down, so a standby
        that hangs slows at most one readiness check per ``retry_s`` (by its
        ``connect_timeout``), and never makes the server unready.
        """
        if self.standby is None:
            return "none (reports read the primary)"
        if self._usable() is None:
            return f"unavailable ({self.last_error}); reports read the primary"
        try:
            with self.standby.connect() as conn:
                recovering = conn.execute(text("SELECT pg_is_in_recovery()")).scalar()
        except DBAPIError as exc:
            self._failed(exc)
            return f"unavailable ({type(exc).__name__}); reports read the primary"
        with self._lock:
            self._down_until = 0.0
        return "ok" if recovering else "ok (not in recovery: is standby_url the primary?)"

    def close(self) -> None:
        if self.standby is not None:
            self.standby.dispose()

    def _usable(self) -> Engine | None:
        if self.standby is None:
            return None
        with self._lock:
            return None if self._clock() < self._down_until else self.standby

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            first = self._down_until == 0.0 or self._clock() >= self._down_until
            self._down_until = self._clock() + self.retry_s
            self.last_error = type(exc).__name__
        if first:
            log.warning(
                "the reports' standby does not answer (%s): reports read the primary "
                "for the next %.0f s",
                type(exc).__name__,
                self.retry_s,
            )


def _standby_trouble(exc: DBAPIError) -> bool:
    """Lost, refused or cancelled by recovery: the standby's fault, not the report's."""
    return isinstance(exc, OperationalError) or exc.connection_invalidated


__all__ = ["RETRY_S", "ReportReader", "open_standby", "standby_engine"]
