"""Which customers each connected desktop holds, in memory, so a poke reaches only them.

``sync_pin`` is the truth (the pull filters on it in SQL); this is a copy for
the live hub, which must decide per change, without a query, which sockets
to wake. Only desktops with a WebSocket open on this process are kept: a
desktop's pins are read when its socket connects and dropped when its last
socket closes.

Pins written by this process (fills, closures, pop matches, searches, a
customer created on the desktop) are added as they are written. Pins
written by *another* server instance arrive over the bus as that instance
writes them (``server/peers.py``: ``on_added`` there, ``merge_from_peer``
here), and in any case with the periodic :meth:`PinBook.refresh` (every
``REFRESH`` seconds from the hub), the safety net for what a bus outage
drops: until one of them arrives a change to such a customer does not poke
this desktop here, and it reaches the desktop on its next pull (any other
poke, or the engine's safety poll). A pin removed elsewhere (a refill's reset) stays here until the
socket reconnects; that costs a needless pull, never a missed one.

A pop match's pins are written after the match is on its way (``api/cti._pin``); while that
write cannot land (the database restarting) they are *promised* here (:meth:`promise`,
full ids, only until written): the need-to-know check of a push from that desktop on
this process honours a promise and writes the pin with the push, so a wrap-up filed before
the retried pin lands is not refused as "never opened".

Customers are kept as 64 bits of their id (:func:`live.id_key`) in one
sorted ``array('Q')`` per desktop: 8 bytes a pin, where a ``set`` of UUIDs
would cost ~100 (a fill pins ~10 000 customers; 500 desktops -> 40 MB).
"""

from __future__ import annotations

import bisect
import datetime as dt
import threading
import uuid
from array import array
from collections.abc import Callable, Iterable
from typing import cast

from sqlalchemy import Engine, Table, select

from agentdesk.models import SyncPin, utcnow
from agentdesk.store.sync import live

REFRESH = 30.0  # seconds between reloads of pins written by other server instances
# Pins are stamped by the writer's clock at insert, visible at its commit: read back this far.
_OVERLAP = dt.timedelta(seconds=120)
_PIN = cast(Table, SyncPin.__table__)


def _keys(customers: Iterable[uuid.UUID]) -> list[int]:
    return [live.id_key(c) for c in customers]


class PinBook:
    """Customer prefixes per client id, for the desktops connected to this process."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._pins: dict[uuid.UUID, array[int]] = {}
        self._sockets: dict[uuid.UUID, int] = {}
        self._since: dt.datetime | None = None
        self._promised: dict[uuid.UUID, set[uuid.UUID]] = {}  # pins this process owes
        # Told (client id, keys) for pins this process wrote, whether or not the desktop
        # has a socket here: its socket may be on another server instance.
        self.on_added: Callable[[uuid.UUID, list[int]], None] | None = None

    def attach(self, client_id: uuid.UUID) -> None:
        """A socket of ``client_id`` opened: keep its pins (read from the database; blocking)."""
        with self._lock:
            self._sockets[client_id] = self._sockets.get(client_id, 0) + 1
            if client_id in self._pins:
                return
            # Tracked before the read: a pin written meanwhile is added here, and the read
            # below merges with it instead of replacing it.
            self._pins[client_id] = array("Q")
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(select(_PIN.c.customer_id).where(_PIN.c.client_id == client_id))
                found = _keys(r[0] for r in rows)
        except BaseException:
            self.detach(client_id)  # the socket is refused: do not count it
            raise
        self._merge(client_id, found, reset=False)

    def detach(self, client_id: uuid.UUID) -> None:
        """A socket of ``client_id`` closed; forget its pins with its last socket."""
        with self._lock:
            left = self._sockets.get(client_id, 0) - 1
            if left > 0:
                self._sockets[client_id] = left
                return
            self._sockets.pop(client_id, None)
            self._pins.pop(client_id, None)

    def add(self, client_id: uuid.UUID, customers: set[uuid.UUID], reset: bool = False) -> None:
        """This process pinned ``customers`` to ``client_id`` (``reset``: they are all of them)."""
        keys = _keys(customers)
        self._merge(client_id, keys, reset=reset)
        told = self.on_added
        if told is not None and keys:
            told(client_id, keys)

    def promise(self, client_id: uuid.UUID, customers: set[uuid.UUID]) -> None:
        """This process handed ``customers`` to ``client_id`` and owes their pins' write."""
        if customers:
            with self._lock:
                self._promised.setdefault(client_id, set()).update(customers)

    def settle(self, client_id: uuid.UUID, customers: set[uuid.UUID]) -> None:
        """The promised pins are written (or given up on): forget the promise."""
        with self._lock:
            owed = self._promised.get(client_id)
            if owed is not None:
                owed.difference_update(customers)
                if not owed:
                    del self._promised[client_id]

    def promised(self, client_id: uuid.UUID, customer_id: uuid.UUID) -> bool:
        with self._lock:
            return customer_id in self._promised.get(client_id, ())

    def merge_from_peer(self, client_id: uuid.UUID, keys: list[int]) -> None:
        """Pins another server instance wrote (a reset there only adds here: see above)."""
        self._merge(client_id, keys, reset=False)

    def _merge(self, client_id: uuid.UUID, keys: list[int], *, reset: bool) -> None:
        with self._lock:
            held = self._pins.get(client_id)
            if held is None:
                return  # no socket here: read from the database when one connects
            if reset:
                self._pins[client_id] = array("Q", sorted(set(keys)))
            elif len(keys) > 32:
                self._pins[client_id] = array("Q", sorted(set(held).union(keys)))
            else:
                for key in keys:
                    at = bisect.bisect_left(held, key)
                    if at == len(held) or held[at] != key:
                        held.insert(at, key)

    def holds_any(self, client_id: uuid.UUID, customers: frozenset[int]) -> bool:
        """True if this desktop holds one of ``customers`` (``live.id_key`` values)."""
        with self._lock:
            held = self._pins.get(client_id)
            if held is None or not customers:
                return False
            for key in customers:
                at = bisect.bisect_left(held, key)
                if at < len(held) and held[at] == key:
                    return True
            return False

    def count(self, client_id: uuid.UUID) -> int:
        with self._lock:
            return len(self._pins.get(client_id, ()))

    def refresh(self) -> int:
        """Add pins written since the last refresh (by any instance) for connected desktops.

        Blocking; the hub runs it in a thread every ``REFRESH`` seconds. Returns how
        many rows were read.
        """
        now = utcnow()
        with self._lock:
            clients = list(self._pins)
            since = self._since
        self._since = now
        if not clients or since is None:
            return 0  # the first call only starts the clock: attach read everything before
        found: dict[uuid.UUID, list[int]] = {}
        with self._engine.connect() as conn:
            for start in range(0, len(clients), 500):
                rows = conn.execute(
                    select(_PIN.c.client_id, _PIN.c.customer_id).where(
                        _PIN.c.client_id.in_(clients[start : start + 500]),
                        _PIN.c.pinned_at >= since - _OVERLAP,
                    )
                )
                for client_id, customer_id in rows:
                    found.setdefault(client_id, []).append(live.id_key(customer_id))
        for client_id, keys in found.items():
            self._merge(client_id, keys, reset=False)
        return sum(len(k) for k in found.values())
