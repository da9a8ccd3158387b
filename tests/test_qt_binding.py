"""The installed Qt binding keeps CPython's reference counts intact.

PySide6 6.12.0 on Python 3.11 decrements ``None``'s reference count on
every call of a Qt method that returns nothing; a desktop that paints for a
shift then dies with "Fatal Python error: none_dealloc" (and test runs
abort at exit with code 134). pyproject pins a release without the bug;
this test catches a binding that brings it back.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QRect, Qt
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
