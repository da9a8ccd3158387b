"""Building blocks of the main window: notes banner, customer tabs, scrolling pages."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QTabWidget,
    QToolButton,
    QWidget,
)

from agentdesk.ui import format as fmt


def scrolling(widget: QWidget, parent: QWidget) -> QScrollArea:
    """``widget`` in a frameless scroll area, so its natural height never sizes the window."""
    area = QScrollArea(parent)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setWidget(widget)
    return area


class WorkspaceTabs(QTabWidget):
    """The customer tabs; tells the window when the first opens or the last closes."""

    count_changed = Signal(int)

    def tabInserted(self, index: int) -> None:
        super().tabInserted(index)
        self.count_changed.emit(self.count())

    def tabRemoved(self, index: int) -> None:
        super().tabRemoved(index)
        self.count_changed.emit(self.count())


class NoticeBanner(QFrame):
    """Start-up notes that change what works (no keyring, central store down …), dismissible."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noticeBanner")
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 6, 6, 6)
        self.text = fmt.plain(QLabel(self))
        self.text.setWordWrap(True)
        self.text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        close = QToolButton(self)
        close.setText("Dismiss")
        close.clicked.connect(self.hide)
        row.addWidget(self.text, 1)
        row.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def add(self, note: str) -> None:
        notes = [n for n in self.text.text().split("\n") if n]
        note = fmt.display_text(note)
        if note not in notes:
            notes.append(note)
        self.text.setText("\n".join(notes))
        self.show()
