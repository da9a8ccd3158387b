"""Offline-first sync between a desktop's local cache and the central store (DESIGN.md §3).

Public entry points:

* ``SyncEngine`` — the background service the desktop starts (asyncio on its
  own thread, no Qt): push, pull, live pokes, watchdog, status snapshots.
* ``SyncScope`` — which rows the cache holds; ``SyncSettings`` — tunables.
* ``Syncer`` — the same steps as plain synchronous calls (tests, CLI, benchmarks).
* ``CentralStore`` — the central side (exactly-once apply, change feed).
"""

from agentdesk.store.sync.central import CentralStore, record_changes
from agentdesk.store.sync.protocol import Cursor, ResyncRequired, SyncError
from agentdesk.store.sync.scope import SyncScope
from agentdesk.store.sync.syncer import Syncer, SyncSettings

__all__ = [
    "CentralStore",
    "Cursor",
    "ResyncRequired",
    "SyncError",
    "SyncScope",
    "SyncSettings",
    "Syncer",
    "record_changes",
]
