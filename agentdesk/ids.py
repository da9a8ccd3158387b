"""Client-generated UUIDv7 identifiers (RFC 9562).

Records created offline on different desktops must never collide, and
time-ordered ids keep B-tree inserts append-mostly. Python 3.11 has no
``uuid.uuid7`` (it arrives in 3.14), so this module builds one.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7() -> uuid.UUID:
    """Return a new UUIDv7, strictly increasing within this process.

    The 12-bit ``rand_a`` field is used as a counter when two ids fall in
    the same millisecond (or the clock steps back), as RFC 9562 §6.2
    method 1 allows, so ids sort in generation order.
    """
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            ms = _last_ms
            _counter += 1
            if _counter > 0xFFF:
                ms += 1
                _counter = 0
        else:
            # Start low so a burst in one millisecond has room to count up.
            _counter = int.from_bytes(os.urandom(2), "big") & 0x7FF
        _last_ms = ms
        rand_a = _counter
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    return uuid.UUID(int=value)


def uuid7_time_ms(value: uuid.UUID) -> int:
    """Milliseconds since the epoch embedded in a UUIDv7."""
    return value.int >> 80
