"""The sync state a desktop shows: frozen snapshots and the listeners that receive them."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from agentdesk.models import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RejectedMutation:
    """A local change the centre refused; the agent sees it and can fix or dismiss it."""

    mutation_id: uuid.UUID
    client_seq: int
    name: str
    entity_type: str
    entity_id: uuid.UUID
    error: str
    field: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class SyncStatus:
    """One moment of the sync engine, as the status bar shows it.

    ``phase`` is one of: starting, filling, syncing, idle, offline, signed_out (the
    server ended the session: sign in again), stopped, failed.
    """

    client_id: uuid.UUID
    online: bool = False
    phase: str = "starting"
    pending: int = 0
    oldest_pending_at: dt.datetime | None = None
    last_sync_at: dt.datetime | None = None
    last_error: str | None = None
    rejected: tuple[RejectedMutation, ...] = ()
    cursor: str = "0:0"
    restarts: int = 0

    def oldest_pending_age(self, now: dt.datetime | None = None) -> float | None:
        """Seconds the oldest unsent change has waited, or None when nothing waits."""
        if self.oldest_pending_at is None:
            return None
        return max(0.0, ((now or utcnow()) - self.oldest_pending_at).total_seconds())

    def with_changes(self, **changes: object) -> SyncStatus:
        return replace(self, **changes)  # type: ignore[arg-type]


StatusListener = Callable[[SyncStatus], None]


class StatusBoard:
    """Holds the latest status, tells listeners about changes, lets callers wait for a state.

    Listeners run on the sync engine's threads: a GUI must hop to its own thread (a
    queued signal) before touching widgets.
    """

    def __init__(self, initial: SyncStatus) -> None:
        self._status = initial
        self._cond = threading.Condition()
        self._listeners: list[StatusListener] = []

    @property
    def current(self) -> SyncStatus:
        with self._cond:
            return self._status

    def add_listener(self, listener: StatusListener) -> Callable[[], None]:
        with self._cond:
            self._listeners.append(listener)

        def remove() -> None:
            with self._cond:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def publish(self, status: SyncStatus) -> None:
        with self._cond:
            if status == self._status:
                return
            self._status = status
            listeners = list(self._listeners)
            self._cond.notify_all()
        for listener in listeners:
            try:
                listener(status)
            except Exception:  # a broken listener must not stop sync
                log.exception("sync status listener failed")

    def update(self, **changes: object) -> SyncStatus:
        status = self.current.with_changes(**changes)
        self.publish(status)
        return status

    def wait_for(self, predicate: Callable[[SyncStatus], bool], timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self._status), timeout=timeout)
