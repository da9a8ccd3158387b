"""Keep ``None`` and ``True`` alive under PySide6 6.12.0 on Python 3.11 (reference-count bugs).

PySide6 6.12.0 drops one reference too many in two hot paths (6.11.3 does not):

* every ``SignalInstance.emit()`` called from Python drops a reference to ``True``;
* every C++ call into a Python override that returns ``None`` (``data()`` for
  an unused role, ``headerData()``, ``paintEvent()`` …) drops one to ``None``.

These singletons start with a few hundred to a few thousand references, so a
live view that emits and repaints drains them within minutes; CPython then
frees the singleton and aborts ("Fatal Python error: none_dealloc" or
"bool_dealloc", often at exit while collecting garbage). Python 3.12 made
them immortal (PEP 683) and is immune. On 3.11 the same effect comes from
giving them a reference count no program can drain: they are never freed
anyway, so nothing else changes. Reproduce with::

    class M(QAbstractTableModel):
        def rowCount(self, p=QModelIndex()): return 1
        def columnCount(self, p=QModelIndex()): return 1
        def data(self, i, r=0): return None
    before = sys.getrefcount(None); M().index(0, 0).data()
    assert sys.getrefcount(None) == before   # fails on PySide6 6.12.0
"""

from __future__ import annotations

import ctypes
import sys

_RESERVE = 1 << 40  # a trillion leaked references before anything could go wrong


def keep_singletons_alive() -> bool:
    """Give None/True/False inexhaustible reference counts (3.11 only); True if applied."""
    if sys.version_info >= (3, 12):
        return False
    for singleton in (None, True, False):
        refcount = ctypes.c_ssize_t.from_address(id(singleton))
        if refcount.value < _RESERVE // 2:
            refcount.value += _RESERVE
    return True


keep_singletons_alive()
