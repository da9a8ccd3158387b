"""Small dialogs for call control: transfer (blind or attended) through a searchable
directory of colleagues and queues, and dial a number."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from agentdesk.client.api import ServerUnavailable, SessionEnded
from agentdesk.client.transfer_directory import (
    DirectoryEntry,
    DirectorySource,
    TransferDirectory,
    queues_only,
)
from agentdesk.services.desk.pbx_actions import ActionInputError, dialable
from agentdesk.ui import format as fmt
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.row_model import Column, RowTableModel

log = logging.getLogger(__name__)


class TransferDialog(QDialog):
    """Transfer to a colleague or a queue picked from a searchable directory, or to a number
    typed; ``target`` holds the number dialled when accepted.

    The directory (colleagues with presence, queues with waiting/available figures) is asked
    of the server off the GUI thread; until it answers, and when it cannot, the PBX's queue
    names are listed and a typed number still transfers. Keyboard only: type to filter, the
    arrows move through the list without leaving the search field, Enter transfers to the
    highlighted entry (or to the typed number when nothing is highlighted).
    """

    directory_loaded = Signal()  # the server's directory arrived, or the fallback took over

    def __init__(
        self,
        queues: Sequence[str],
        *,
        attended: bool,
        source: DirectorySource | None = None,
        bridge: Bridge | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Consult and transfer" if attended else "Blind transfer")
        self.attended = attended
        self.target = ""
        self._directory = queues_only(queues)
        self.entries = RowTableModel[DirectoryEntry](_COLUMNS, (), self)
        layout = QVBoxLayout(self)
        intro = (
            "You talk to the target first, then complete the transfer."
            if attended
            else "The caller goes straight to the target; you are free at once."
        )
        layout.addWidget(fmt.plain(QLabel(intro, self)))
        find = QLabel("&Find", self)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Name, extension or queue, or a number to dial")
        self.search.setClearButtonEnabled(True)
        find.setBuddy(self.search)
        row = QHBoxLayout()
        row.addWidget(find)
        row.addWidget(self.search, 1)
        layout.addLayout(row)
        self.list = _directory_view(self.entries, self)
        layout.addWidget(self.list, 1)
        self.note = fmt.plain(QLabel(self))  # one line: loading, or why the list is short
        layout.addWidget(self.note)
        self.error = fmt.plain(QLabel(self))
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        for label in (self.note, self.error):
            label.hide()  # shown with a sentence only: no empty gap above the buttons
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(
            "&Consult" if attended else "&Transfer"
        )
        buttons.accepted.connect(self._on_accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(600, 440)  # 12 rows or so; well inside 1366x768
        self._connect_signals()
        self._show(self._directory)
        self._load(source, bridge)

    def _connect_signals(self) -> None:
        self.search.textChanged.connect(self._on_search_text_changed)
        self.search.installEventFilter(self)
        self.list.doubleClicked.connect(lambda _index: self._on_accept())

    # ------------------------------------------------------------------ the directory
    def _load(self, source: DirectorySource | None, bridge: Bridge | None) -> None:
        if source is None or bridge is None:
            self._fall_back("no server to ask")
            return
        _say(self.note, "Loading colleagues and queues…")
        bridge.submit(
            source,
            on_done=self._on_directory_loaded,
            on_error=self._on_directory_failed,
            lane="central",
        )

    def _on_directory_loaded(self, found: TransferDirectory) -> None:
        if not isValid(self):
            return  # the agent closed the dialog before the answer came
        self._directory = found
        _say(self.note, found.detail)
        self.list.setColumnHidden(_SITE_COLUMN, found.sites < 2)
        self._show(found)
        self.directory_loaded.emit()

    def _on_directory_failed(self, exc: BaseException) -> None:
        if not isValid(self):
            return
        if isinstance(exc, ServerUnavailable):
            why = "the server cannot be reached"
        elif isinstance(exc, SessionEnded):
            why = "your session has ended"
        else:
            log.warning("transfer directory refused: %s", exc)
            why = "the server refused it"
        self._fall_back(why)
        self.directory_loaded.emit()

    def _fall_back(self, why: str) -> None:
        _say(self.note, f"No colleague list ({why}): type a number, or pick a queue.")
        self._show(self._directory)

    def _show(self, directory: TransferDirectory) -> None:
        words = self.search.text().lower().split()
        rows = [e for e in directory.entries if e.matches(words)]
        self.entries.set_rows(rows)
        if words and rows:
            self.list.selectRow(0)  # Enter takes the best match at once

    def _on_search_text_changed(self, _text: str) -> None:
        _say(self.error, "")
        self._show(self._directory)

    # ------------------------------------------------------------------ keyboard
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Arrow and page keys in the search field move through the list (focus stays)."""
        if watched is self.search and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() in _LIST_KEYS and self.entries.rowCount():
                QApplication.sendEvent(self.list, event)
                return True
        return super().eventFilter(watched, event)

    def selected(self) -> DirectoryEntry | None:
        index = self.list.currentIndex()
        if not index.isValid() or not self.list.selectionModel().isRowSelected(index.row()):
            return None
        return self.entries.row_at(index.row())

    def _on_accept(self) -> None:
        entry = self.selected()
        if entry is not None and not entry.target:
            _say(
                self.error,
                f"The {entry.name} queue has no transfer code here: type the number to "
                "transfer to, or ask an administrator to set it."
                if entry.kind == "queue"
                else f"{entry.name} has no extension known here: type the number to transfer to.",
            )
            return
        text = entry.target if entry is not None else self.search.text().strip()
        try:
            self.target = dialable(text)
        except ActionInputError as exc:
            _say(self.error, str(exc) if text else "Pick a colleague or queue, or type a number.")
            return
        self.accept()


def _say(label: QLabel, text: str) -> None:
    label.setText(text)
    label.setVisible(bool(text))


def _directory_view(model: RowTableModel[DirectoryEntry], parent: QWidget) -> QTableView:
    view = QTableView(parent)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setTabKeyNavigation(False)  # Tab leaves the list for the buttons
    view.setWordWrap(False)
    view.verticalHeader().hide()
    view.setColumnHidden(_SITE_COLUMN, True)
    # Fixed widths while filtering (sized to the contents, the columns jumped at every key);
    # a longer name or reason elides, with the whole text in its tooltip.
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.resizeSection(0, view.fontMetrics().horizontalAdvance("M") * 16)
    header.resizeSection(1, view.fontMetrics().horizontalAdvance("0") * 10)
    header.setSectionResizeMode(_STATUS_COLUMN, QHeaderView.ResizeMode.Stretch)
    header.setSectionResizeMode(_SITE_COLUMN, QHeaderView.ResizeMode.ResizeToContents)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    return view


def _number(entry: DirectoryEntry) -> str:
    return entry.target or "—"


_COLUMNS = (
    Column[DirectoryEntry]("Name", lambda e: e.name, lambda e: e.name),
    Column[DirectoryEntry]("Number", _number),
    Column[DirectoryEntry]("Status", lambda e: e.status, lambda e: e.status),
    Column[DirectoryEntry]("Site", lambda e: e.site),
)
_STATUS_COLUMN, _SITE_COLUMN = 2, 3
_LIST_KEYS = (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown)


class DialDialog(QDialog):
    """Click-to-dial with a typed number."""

    def __init__(self, number: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Dial")
        self.number = ""
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.field = QLineEdit(number, self)
        self.field.setPlaceholderText("+44 20 7946 0000")
        form.addRow("&Number", self.field)
        layout.addLayout(form)
        self.error = fmt.plain(QLabel(self))
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("&Call")
        buttons.accepted.connect(self._on_accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _on_accept(self) -> None:
        try:
            self.number = dialable(self.field.text())
        except ActionInputError as exc:
            self.error.setText(str(exc))
            return
        self.accept()
