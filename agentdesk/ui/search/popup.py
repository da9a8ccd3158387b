"""Ctrl+K search: an as-you-type popup over customers and tickets, driven from the keyboard.

Typing restarts a short debounce; each query runs on the bridge and carries a
sequence number so a slow answer to an older query never replaces a newer
one. Up/Down move through results without leaving the text box; Enter opens.
"""

from __future__ import annotations

import uuid

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QListView, QVBoxLayout, QWidget

from agentdesk.services.crm.search import Searcher, SearchHit, SearchResults
from agentdesk.ui import format as fmt
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.change_bus import Changes
from agentdesk.ui.named import named
from agentdesk.ui.row_model import Column, RowTableModel

DEBOUNCE_MS = 120
KIND_LABEL = {"customer": "Customer", "ticket": "Ticket"}
HIT_COLUMNS = (
    Column[SearchHit](
        "Result",
        lambda h: f"{h.title}    —    {h.detail}",
        tooltip=lambda h: f"{KIND_LABEL[h.kind]} matched on {h.matched}",
    ),
)


class SearchPopup(QDialog):
    """The search box and its result list; emits what the agent chose to open."""

    customer_chosen = Signal(uuid.UUID)
    ticket_chosen = Signal(uuid.UUID, object)  # ticket id, customer id (or None)
    results_shown = Signal(object)  # SearchResults

    def __init__(self, bridge: Bridge, service: Searcher, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._service = service
        self._sequence = 0
        self._keep: uuid.UUID | None = None  # the hit to keep current when results refresh
        self.setWindowTitle("Search customers and tickets")
        self.setAccessibleName("Search customers and tickets")
        self.setMinimumWidth(560)
        self.box = named(
            QLineEdit(
                placeholderText="Name, phone, e-mail, last 4 account digits, ticket number",
            ),
            "Search text",
        )
        self.box.setClearButtonEnabled(True)
        self.model = RowTableModel[SearchHit](HIT_COLUMNS, parent=self)
        self.results = named(QListView(), "Search results")
        self.results.setModel(self.model)
        self.hint = fmt.plain(named(QLabel(), "Search status"))
        layout = QVBoxLayout(self)
        layout.addWidget(self.box)
        layout.addWidget(self.results, 1)
        layout.addWidget(self.hint)
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._timer.timeout.connect(self._on_timer_timeout)
        self.box.textChanged.connect(lambda _t: self._timer.start())
        self.box.installEventFilter(self)
        self.results.activated.connect(lambda index: self._open(index.row()))

    def open_search(self) -> None:
        """Show, focus the box and select what was typed before."""
        self.show()
        self.activateWindow()
        self.box.setFocus()
        self.box.selectAll()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.box and event.type() == QEvent.Type.KeyPress:
            key = event.key() if isinstance(event, QKeyEvent) else None
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                self._move(1 if key == Qt.Key.Key_Down else -1)
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self._open(max(0, self.results.currentIndex().row()))
                return True
        return super().eventFilter(watched, event)

    def _move(self, step: int) -> None:
        count = self.model.rowCount()
        if count:
            row = min(count - 1, max(0, self.results.currentIndex().row() + step))
            self.results.setCurrentIndex(self.model.index(row, 0))

    def apply_changes(self, changes: Changes) -> None:
        """Run the shown search again when customers or tickets changed (the change bus),
        keeping the highlighted result."""
        if not self.isVisible() or not self.box.text().strip() or self._timer.isActive():
            return
        if not changes.touches("customer", "ticket"):
            return
        hit = self.model.row_at(self.results.currentIndex().row())
        self._keep = hit.id if hit is not None else None
        self._on_timer_timeout()

    def _on_timer_timeout(self) -> None:
        self._sequence += 1
        sequence, text = self._sequence, self.box.text()
        self._bridge.submit(
            self._service.search,
            text,
            on_done=lambda r: self._on_results(sequence, r),
            on_error=lambda exc: self.hint.setText(f"Search failed: {exc}"),
        )

    def _on_results(self, sequence: int, results: SearchResults) -> None:
        if sequence != self._sequence:
            return  # an older query answered late
        keep, self._keep = self._keep, None
        self.model.set_rows(results.hits)
        if results.hits:
            row = next((n for n, h in enumerate(results.hits) if h.id == keep), 0)
            self.results.setCurrentIndex(self.model.index(row, 0))
        count = fmt.count(len(results.hits), "result") if results.hits else results.message
        self.hint.setText(count)
        self.hint.setToolTip(f"Answered in {results.elapsed_ms:.0f} ms")
        self.results_shown.emit(results)

    def _open(self, row: int) -> None:
        hit = self.model.row_at(row)
        if hit is None:
            return
        if hit.kind == "ticket":
            self.ticket_chosen.emit(hit.id, hit.customer_id)
        else:
            self.customer_chosen.emit(hit.id)
        self.hide()


def install_search_shortcut(window: QWidget, popup: SearchPopup) -> QShortcut:
    """Ctrl+K from anywhere in the application opens the search popup."""
    shortcut = QShortcut(QKeySequence("Ctrl+K"), window)
    shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
    shortcut.activated.connect(popup.open_search)
    return shortcut
