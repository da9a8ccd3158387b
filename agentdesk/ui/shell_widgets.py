"""Building blocks of the main window: notes banner, customer tabs, scrolling pages, and the
pieces that keep text readable on a 1366×768 screen (eliding labels, tables that fit)."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QTableView,
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


class ElidedLabel(QLabel):
    """A one-line plain label that elides (…) to the width it gets; the full text is its tooltip.

    ``text()`` is the full text; what is painted is the elided one (``shown_text()``). Its
    minimum width is a few characters, so a long name or reason never pushes the row wider.
    The property ``elides`` tells the layout test this label elides on purpose.
    """

    def __init__(
        self,
        text: str = "",
        parent: QWidget | None = None,
        mode: Qt.TextElideMode = Qt.TextElideMode.ElideRight,
    ) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setProperty("elides", True)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self._mode = mode
        self._full = ""
        self._tip: str | None = None
        self.setText(text)

    def setText(self, text: str, tooltip: str | None = None) -> None:
        """Show ``text`` (elided when narrow); ``tooltip`` replaces the full text as the tip."""
        self._full = text
        self._tip = tooltip
        self.setProperty("full_text", text)
        self._elide()
        self.updateGeometry()

    def text(self) -> str:
        return self._full

    def shown_text(self) -> str:
        return super().text()

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        margins = self.contentsMargins()
        width = self.fontMetrics().horizontalAdvance(self._full) + margins.left()
        return QSize(width + margins.right() + 2 * max(self.margin(), 0) + 2, hint.height())

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        few = self.fontMetrics().horizontalAdvance(self._full[:3] + "…")
        margins = self.contentsMargins()
        return QSize(min(few, self.sizeHint().width()) + margins.left() + margins.right(),
                     hint.height())  # fmt: skip

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        room = self.contentsRect().width() - 2 * max(self.margin(), 0)
        shown = self.fontMetrics().elidedText(self._full, self._mode, max(room, 0))
        if super().text() != shown:
            super().setText(shown)
        tip = self._tip if self._tip is not None else (self._full if shown != self._full else "")
        self.setToolTip(tip)


class ColumnFitter(QObject):
    """Keeps every column of a table inside its view: content widths while they fit, else
    the wide columns give up room (their cells elide, …) so none is scrolled out of sight.
    ``whole`` columns (amounts, times: a cut one misleads) keep their content width."""

    def __init__(self, view: QTableView, floor: int = 48, whole: Iterable[int] = ()) -> None:
        super().__init__(view)
        self._view = view
        self._floor = floor
        self._whole = frozenset(whole)
        self._fitting = False  # the fitter's own resizes are not the agent's or a hide
        header = view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)  # the fitter gives the last column the rest
        header.setMinimumSectionSize(min(header.minimumSectionSize(), floor))
        view.setTextElideMode(Qt.TextElideMode.ElideRight)
        view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        view.viewport().installEventFilter(self)
        view.installEventFilter(self)  # shown (a tab brought forward): the contents measure now
        model = view.model()
        if model is not None:
            for signal in (model.modelReset, model.rowsInserted, model.dataChanged,
                           model.layoutChanged):  # fmt: skip
                signal.connect(self.fit)
        # A column hidden or shown (its size goes to or from 0): the others share the room.
        header.sectionResized.connect(self._on_header_section_resized)

    def _on_header_section_resized(self, _logical: int, old: int, new: int) -> None:
        if not self._fitting and (old == 0) != (new == 0):
            # Qt resizes a section before marking it hidden: fit once the header says so.
            QTimer.singleShot(0, self, self.fit)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            self.fit()
        return False

    def fit(self, *_args: object) -> None:
        view, header = self._view, self._view.horizontalHeader()
        columns = [c for c in range(header.count()) if not header.isSectionHidden(c)]
        if not columns:
            return
        wanted = {c: max(view.sizeHintForColumn(c), header.sectionSizeHint(c)) for c in columns}
        room = view.viewport().width()
        flexible = {c: w for c, w in wanted.items() if c not in self._whole}
        room_left = room - sum(w for c, w in wanted.items() if c in self._whole)
        sizes = dict(wanted)
        if flexible and sum(flexible.values()) > room_left and room > 0:
            # Headings stay whole while they all fit: cells elide (with their tooltip), a cut
            # heading ("Descriptio") leaves the agent guessing what the column is.
            headings = {c: min(w, header.sectionSizeHint(c)) for c, w in flexible.items()}
            floor = 0  # the headings are the floor
            if sum(headings.values()) > room_left:
                headings, floor = dict.fromkeys(flexible, 0), self._floor
            # Shrink the widest first: cut every column above a level down to that level.
            level = max(flexible.values())
            for _ in range(64):  # bounded bisection on the level
                used = sum(max(min(w, level), headings[c]) for c, w in flexible.items())
                if used <= room_left or level <= floor:
                    break
                level = max(floor, level - max(1, (used - room_left) // len(flexible)))
            sizes.update({c: max(min(w, level), headings[c]) for c, w in flexible.items()})
        last = columns[-1]
        sizes[last] = max(sizes[last], room - sum(sizes[c] for c in columns[:-1]))
        self._fitting = True
        try:
            for c in columns:
                header.resizeSection(c, sizes[c])
        finally:
            self._fitting = False


def fit_columns(view: QTableView, whole: Iterable[int] = ()) -> ColumnFitter:
    """Keep ``view``'s columns inside it, ``whole`` ones uncut (see :class:`ColumnFitter`)."""
    fitter = ColumnFitter(view, whole=whole)
    fitter.fit()
    return fitter
