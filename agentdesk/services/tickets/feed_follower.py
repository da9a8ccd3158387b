"""Server jobs that follow the central change feed from their own cursor and re-plan timers.

SLA escalation (tickets) and reminders both keep scheduler timers in step with rows
that many writers change (desktops' pushes, services at the centre, integrations).
Instead of hooking each writer, a job reads the change feed for its entity type after
its own cursor (a ``sync_state`` row), re-plans each changed row, and moves the cursor
in the same transaction, so no change is missed across a crash or a restart. On first
start, or when the feed was pruned past the cursor, it sweeps every row that may need a
timer, in keyset pages, and then sets the cursor to the feed's head as read *before*
the sweep (changes made during the sweep are the feed's to bring).

:class:`FeedFollower` is that job; a subclass says which rows to sweep
(:meth:`sweep_page`) and how to re-plan one (:meth:`replan_in`). :func:`publish` and
:class:`TimerOps` are what such jobs use to append feed rows and to set timers.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from sqlalchemy import Table, event, text
from sqlalchemy.orm import Session

from agentdesk.models import ChangeLog, SyncState
from agentdesk.store.engine import read_session, write_session
from agentdesk.store.mutations import Changed
from agentdesk.store.sync import live
from agentdesk.store.sync.central import NOTIFY_CHANNEL, CentralStore, record_changes
from agentdesk.store.sync.protocol import Cursor, ResyncRequired

log = logging.getLogger(__name__)

SWEEP_PAGE = 500
MAX_SWEEP_PAGES = 2_000  # a million rows; beyond that the next sweep carries on
_CHANGES = cast(Table, ChangeLog.__table__)
SweepKey = tuple[dt.datetime, uuid.UUID]


class ScheduleFn(Protocol):
    def __call__(
        self,
        session: Session,
        kind: str,
        subject: str,
        due_at: dt.datetime,
        payload: Mapping[str, Any] | None = None,
        *,
        rearm: bool = False,
    ) -> None: ...


@dataclass(frozen=True)
class TimerOps:
    """The scheduler's ``schedule`` and ``cancel`` (server layer), handed down to services."""

    schedule: ScheduleFn
    cancel: Callable[[Session, str, str], bool]


def publish(store: CentralStore, s: Session, changed: Sequence[Changed]) -> int:
    """Append the change-feed rows of ``changed`` in this transaction; desktops are poked
    when it commits (``pg_notify`` is delivered at commit; SQLite's in-process hub after)."""
    count = record_changes(s, changed)
    if not count:
        return 0
    if store.is_postgres:
        s.execute(text("SELECT pg_notify(:c, :p)"), {"c": NOTIFY_CHANNEL, "p": live.ALL_PAYLOAD})
    hub = store.hub_key
    if hub is not None and not s.info.get("followup.poke"):
        s.info["followup.poke"] = True
        event.listen(s, "after_commit", lambda _s: live.poke_in_process(hub), once=True)
    return count


class FeedFollower(ABC):
    """Follows the change feed for one entity type from a cursor kept in ``sync_state``."""

    #: the feed's ``entity_type`` this job follows
    entity_type: str
    #: the ``sync_state`` key holding the cursor
    cursor_key: str
    #: how the job names itself in logs
    name: str

    def __init__(self, store: CentralStore) -> None:
        self.store = store
        self.engine = store.engine

    @abstractmethod
    def replan_in(self, s: Session, entity_id: uuid.UUID) -> None:
        """Bring the timers of one row in line with the row as it stands (in ``s``)."""

    @abstractmethod
    def sweep_page(self, s: Session, after: SweepKey | None, limit: int) -> list[SweepKey]:
        """Up to ``limit`` rows to plan on a sweep, as ``(key, id)`` in key order after
        ``after`` (keyset pagination on an indexed key)."""

    def cursor(self) -> Cursor | None:
        with read_session(self.engine) as s:
            state = s.get(SyncState, self.cursor_key)
            return None if state is None else Cursor.parse(state.value)

    def reconcile(self, limit: int = 500) -> int:
        """Re-plan the rows changed since the cursor; how many rows were looked at."""
        cursor = self.cursor()
        if cursor is None:
            return self.sweep()
        try:
            rows, upto = self.store.pull_page(
                cursor, limit, visible=_CHANGES.c.entity_type == self.entity_type
            )
        except ResyncRequired:
            log.warning("%s: change feed pruned past %s; sweeping", self.name, cursor)
            return self.sweep()
        ids = list(dict.fromkeys(r.entity_id for r in rows))
        with write_session(self.engine) as s:
            for entity_id in ids:
                self.replan_in(s, entity_id)
            self.move_cursor(s, upto)
        return len(ids)

    def sweep(self) -> int:
        """Plan every row :meth:`sweep_page` yields (first start, or after a pruned feed)."""
        head = self.store.head()  # read first: changes after it are the feed's to bring
        seen = 0
        after: SweepKey | None = None
        for _ in range(MAX_SWEEP_PAGES):
            with write_session(self.engine) as s:
                page = self.sweep_page(s, after, SWEEP_PAGE)
                for _key, entity_id in page:
                    self.replan_in(s, entity_id)
            seen += len(page)
            if len(page) < SWEEP_PAGE:
                break
            after = page[-1]
        else:
            log.warning("%s: sweep stopped after %d rows", self.name, seen)
        with write_session(self.engine) as s:
            self.move_cursor(s, head)
        return seen

    def move_cursor(self, s: Session, upto: Cursor) -> None:
        """Move the cursor forward to ``upto`` (never back) in ``s``'s transaction."""
        state = s.get(SyncState, self.cursor_key, with_for_update=True)
        if state is None:
            s.add(SyncState(key=self.cursor_key, value=str(upto)))
        elif Cursor.parse(state.value) < upto:
            state.value = str(upto)
