"""The installed Qt binding keeps CPython's reference counts intact.

PySide6 6.12.0 on Python 3.11 decrements ``None``'s reference count on
every call of a Qt method that returns nothing; a desktop that paints for a
shift then dies with "Fatal Python error: none_dealloc" (and test runs
abort at exit with code 134). pyproject pins a release without the bug;
this test catches a binding that brings it back.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QRect, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter


def test_void_qt_calls_do_not_steal_references_to_none(qapp: object) -> None:
    image = QImage(32, 32, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        before = sys.getrefcount(None)
        for _ in range(500):
            painter.save()
            painter.setPen(QColor("#123456"))
            painter.setFont(QFont())
            painter.drawRoundedRect(QRect(0, 0, 10, 10), 3, 3)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.restore()
            painter.setPen(Qt.PenStyle.NoPen)
        drift = sys.getrefcount(None) - before
    finally:
        painter.end()
    # A few references may come and go with interpreter internals; the bug loses thousands.
    assert abs(drift) < 50, f"None lost {-drift} references across 3,500 void Qt calls"


class _Emitter(QObject):
    changed = Signal(int)


class _NoneModel(QAbstractTableModel):
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 1

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 1

    def data(self, index: QModelIndex, role: int = 0) -> object:
        return None


def test_emits_and_none_returning_overrides_keep_their_references(qapp: object) -> None:
    """6.12.0 also drops a reference to True per emit() and to None per override returning None."""
    emitter, model = _Emitter(), _NoneModel()
    index = model.index(0, 0)
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for i in range(2000):
        emitter.changed.emit(i)
        index.data(Qt.ItemDataRole.DecorationRole)
    assert abs(sys.getrefcount(None) - none_before) < 50
    assert abs(sys.getrefcount(True) - true_before) < 50
