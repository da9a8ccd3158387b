"""One "what changed" signal on the GUI thread for every local write and every pulled change.

``LocalWriter`` listeners (after each committed write, on the writing thread)
and the sync engine's change listener (after each applied page, on a sync
thread) hand ``(entity kind, id)`` pairs to :meth:`ChangeBus.publish`. The
bus gathers them, works out on the bridge's local lane which customers they
belong to, and emits one :class:`Changes` value on the GUI thread. Changes
that arrive while one batch is on its way join it, so a burst of writes or a
large pull repaints each screen once.

Screens connect to ``changed`` and refresh what they show in place; nothing
polls for data.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from PySide6.QtCore import QObject, Signal

from agentdesk.ui.bridge import Bridge

log = logging.getLogger(__name__)
Origin = Literal["local", "server"]
# Kinds the sync engine reports when a whole cache (fill) or the reference data was replaced.
EVERYTHING_KINDS = frozenset({"cache", "reference"})
CustomerResolver = Callable[[Iterable[tuple[str, uuid.UUID]]], frozenset[uuid.UUID]]
MAX_BATCH = 50_000  # pairs kept per batch; beyond it the batch says "everything changed"


@dataclass(frozen=True)
class Changes:
    """What changed since the last value: rows by kind, the customers they belong to."""

    entities: frozenset[tuple[str, uuid.UUID]] = frozenset()
    customers: frozenset[uuid.UUID] = frozenset()
    origins: frozenset[Origin] = frozenset()
    everything: bool = False  # a cache fill or reference refresh: refresh whatever is shown

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(kind for kind, _ in self.entities)

    def ids(self, kind: str) -> frozenset[uuid.UUID]:
        return frozenset(i for k, i in self.entities if k == kind)

    def touches(self, *kinds: str) -> bool:
        """True when a row of any of ``kinds`` changed (or everything did)."""
        return self.everything or any(k in kinds for k, _ in self.entities)

    def touches_customer(self, customer_id: uuid.UUID | None) -> bool:
        return customer_id is not None and (self.everything or customer_id in self.customers)


class ChangeBus(QObject):
    """Collects changes from any thread and emits them, resolved, on the GUI thread."""

    changed = Signal(object)  # Changes

    def __init__(
        self,
        bridge: Bridge,
        resolve_customers: CustomerResolver | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._resolve = resolve_customers
        self._lock = threading.Lock()
        self._pending: set[tuple[str, uuid.UUID]] = set()
        self._origins: set[Origin] = set()
        self._everything = False
        self._scheduled = False

    # --- publishers (any thread) ------------------------------------------------------------

    def publish(self, changed: Iterable[tuple[str, uuid.UUID]], origin: Origin) -> None:
        """Queue ``(kind, id)`` pairs; one ``changed`` value follows on the GUI thread."""
        with self._lock:
            for kind, entity_id in changed:
                if kind in EVERYTHING_KINDS:
                    self._everything = True
                elif len(self._pending) < MAX_BATCH:
                    self._pending.add((kind, entity_id))
                else:
                    self._everything = True
            self._origins.add(origin)
            if self._scheduled or not (self._pending or self._everything):
                return
            self._scheduled = True
        self._bridge.submit(self._take, on_done=self._emit, on_error=self._on_error)

    def on_local_write(self, result: Any) -> None:
        """For ``LocalWriter.add_listener``: the rows a committed write changed."""
        self.publish(((c.entity_type, c.entity_id) for c in result.changed), "local")

    def on_pulled(self, changed: Iterable[tuple[str, uuid.UUID]]) -> None:
        """For ``SyncEngine.add_change_listener``: rows a pull brought into the cache."""
        self.publish(changed, "server")

    # --- the batch (local lane, then GUI thread) ---------------------------------------------

    def _take(self) -> Changes:
        with self._lock:
            pending, self._pending = frozenset(self._pending), set()
            origins, self._origins = frozenset(self._origins), set()
            everything, self._everything = self._everything, False
            self._scheduled = False
        customers: frozenset[uuid.UUID] = frozenset()
        if self._resolve is not None and pending:
            customers = self._resolve(pending)
        return Changes(pending, customers, origins, everything)

    def _emit(self, changes: Changes) -> None:
        self.changed.emit(changes)

    def _on_error(self, exc: BaseException) -> None:
        # The rows are in the cache either way; screens still refresh, just more broadly.
        log.warning("change bus: could not tell which customers changed (%s)", type(exc).__name__)
        self.changed.emit(Changes(everything=True, origins=frozenset({"local"})))
