"""The supervisors' duplicate review: candidate pairs, why they match, and four-eyes merges.

One table of pairs (score, both customers, the reasons, where the merge
stands) over a :class:`~agentdesk.ui.row_model.RowTableModel`, the selected
pair side by side below it, and the actions the pair allows: ask for a merge
keeping either side, say they are different people, or (for a merge someone
*else* asked for) approve or reject it. Every call goes to the server on the
bridge's central lane; the answer, or the server's refusal in words, comes
back on the GUI thread, and the list reloads after each action.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import QItemSelection, QSize, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from agentdesk.services.crm.duplicate_review import CandidateRow, CustomerBrief
from agentdesk.services.crm.duplicates import ScanReport
from agentdesk.services.crm.merge import MergeRequestView, MergeResult
from agentdesk.ui import format as fmt
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.row_model import Column, RowTableModel
from agentdesk.ui.supervisor.panels import place_on_screen

LIST_LIMIT = 200  # pairs shown at once; deciding them brings the next ones up


class DuplicateReview(Protocol):
    """What the view needs (``client.duplicates.ServerDuplicates`` over the server)."""

    def review_list(self, limit: int = 200) -> tuple[CandidateRow, ...]: ...

    def scan(self) -> ScanReport: ...

    def dismiss(self, candidate_id: uuid.UUID) -> None: ...

    def request_merge(
        self, survivor_id: uuid.UUID, merged_id: uuid.UUID, note: str | None = None
    ) -> MergeRequestView: ...

    def approve(self, request_id: uuid.UUID) -> MergeResult: ...

    def reject(self, request_id: uuid.UUID, note: str | None = None) -> MergeRequestView: ...


def _who(brief: CustomerBrief) -> str:
    born = f", born {brief.birth_year}" if brief.birth_year else ""
    return f"{brief.display_name}{born}"


def _pending_tip(row: CandidateRow) -> str:
    if row.pending is None:
        return "Nobody has asked for a merge of these two yet"
    keep = row.left if row.pending.survivor_id == row.left.id else row.right
    return f"Keeps {keep.display_name}; awaiting a second supervisor's approval"


COLUMNS: tuple[Column[CandidateRow], ...] = (
    Column("Score", lambda r: f"{r.score}", align_right=True),
    Column("Customer", lambda r: _who(r.left)),
    Column("Possible duplicate", lambda r: _who(r.right)),
    Column("Why", lambda r: "; ".join(r.reasons), tooltip=lambda r: "\n".join(r.reasons)),
    Column("Status", lambda r: r.status, tooltip=_pending_tip),
)


def _merged_text(result: MergeResult) -> str:
    moved = sum(n for kind, n in result.moved.items() if not kind.endswith("_dropped"))
    dropped = sum(n for kind, n in result.moved.items() if kind.endswith("_dropped"))
    same = f" ({fmt.count(dropped, 'contact')} it already had left out)" if dropped else ""
    return (
        f"Merged: {fmt.count(moved, 'record')} moved to the customer kept{same}; "
        "the other record now points to it."
    )


class _Side(QFrame):
    """One customer of the selected pair: name, kind, segment, birth year, record age."""

    def __init__(self, title: str) -> None:
        super().__init__()
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        self.title = fmt.plain(QLabel(title))
        self.title.setStyleSheet("color: #546e7a;")
        self.name = fmt.plain(QLabel("–"))
        self.name.setStyleSheet("font-size: 15px; font-weight: 600;")
        self.details = fmt.plain(QLabel(""))
        self.details.setWordWrap(True)
        for widget in (self.title, self.name, self.details):
            layout.addWidget(widget)

    def show_brief(self, brief: CustomerBrief | None) -> None:
        if brief is None:
            self.name.setText("–")
            self.details.setText("")
            return
        self.name.setText(fmt.display_text(brief.display_name))
        parts = [
            fmt.words(brief.kind),
            fmt.label("segment", brief.segment),
            f"born {brief.birth_year}" if brief.birth_year else "birth year unknown",
            fmt.count(brief.contacts, "phone or e-mail", "phones and e-mails"),
            f"on file since {brief.created_at.astimezone():%d %b %Y}",
        ]
        self.details.setText(" · ".join(parts))


class DuplicatesWindow(QMainWindow):
    """Review duplicate pairs and carry out merges with a second supervisor's approval."""

    loaded = Signal(int)  # rows on the list after a (re)load
    acted = Signal(str)  # an action finished: its message for people
    failed = Signal(str)  # a call was refused or failed: the reason

    def __init__(
        self, review: DuplicateReview, bridge: Bridge, login: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("duplicates_window")
        self.setWindowTitle("Duplicate customers")
        self._review, self._bridge, self._login = review, bridge, login
        self.model: RowTableModel[CandidateRow] = RowTableModel(COLUMNS, parent=self)
        self._build()
        self._connect_signals()
        self._update_actions()
        place_on_screen(self, QSize(1200, 700))

    # --- layout -----------------------------------------------------------------------------

    def _build(self) -> None:
        central = QWidget()
        layout = QVBoxLayout(central)
        top = QHBoxLayout()
        self.summary = fmt.plain(QLabel("Loading…"))
        self.scan_button = QPushButton("Look for duplicates")
        self.scan_button.setToolTip(
            "Compare every customer's phones, e-mails, names and dates of birth "
            "(takes a while on a large customer base)"
        )
        self.reload_button = QPushButton("Reload")
        top.addWidget(self.summary, 1)
        top.addWidget(self.reload_button)
        top.addWidget(self.scan_button)
        layout.addLayout(top)
        self.table = QTableView()
        self.table.setObjectName("duplicates_table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        for col, mode in enumerate(
            (QHeaderView.ResizeMode.ResizeToContents, QHeaderView.ResizeMode.Interactive,
             QHeaderView.ResizeMode.Interactive, QHeaderView.ResizeMode.Stretch,
             QHeaderView.ResizeMode.Interactive)
        ):  # fmt: skip
            header.setSectionResizeMode(col, mode)
        for col, width in ((1, 220), (2, 220), (4, 260)):
            self.table.setColumnWidth(col, width)
        layout.addWidget(self.table, 3)
        sides = QGridLayout()
        self.left = _Side("Customer")
        self.right = _Side("Possible duplicate")
        sides.addWidget(self.left, 0, 0)
        sides.addWidget(self.right, 0, 1)
        layout.addLayout(sides)
        self.reasons = fmt.plain(QLabel(""))
        self.reasons.setWordWrap(True)
        layout.addWidget(self.reasons)
        self.note = QLineEdit()
        self.note.setPlaceholderText("Note for the approving supervisor (optional)")
        self.note.setMaxLength(500)
        layout.addWidget(self.note)
        actions = QHBoxLayout()
        self.keep_left = QPushButton("Keep customer, merge duplicate into it")
        self.keep_right = QPushButton("Keep duplicate, merge customer into it")
        self.not_same = QPushButton("Not the same person")
        self.approve_button = QPushButton("Approve merge")
        self.reject_button = QPushButton("Reject merge")
        for button in (self.keep_left, self.keep_right, self.not_same):
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(self.approve_button)
        actions.addWidget(self.reject_button)
        layout.addLayout(actions)
        self.message = fmt.plain(QLabel(""))
        self.message.setObjectName("duplicates_message")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.setCentralWidget(central)

    def _connect_signals(self) -> None:
        self.table.selectionModel().selectionChanged.connect(self._on_table_selection_changed)
        self.model.modelReset.connect(self._update_actions)
        self.reload_button.clicked.connect(self.reload)
        self.scan_button.clicked.connect(self._on_scan_clicked)
        self.keep_left.clicked.connect(lambda: self._on_keep_clicked(left_survives=True))
        self.keep_right.clicked.connect(lambda: self._on_keep_clicked(left_survives=False))
        self.not_same.clicked.connect(self._on_not_same_clicked)
        self.approve_button.clicked.connect(self._on_approve_clicked)
        self.reject_button.clicked.connect(self._on_reject_clicked)

    # --- state ------------------------------------------------------------------------------

    def selected(self) -> CandidateRow | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def _update_actions(self, *_: Any) -> None:
        row = self.selected()
        pending = row.pending if row is not None else None
        mine = pending is not None and pending.requested_by == self._login
        for button in (self.keep_left, self.keep_right, self.not_same):
            button.setEnabled(row is not None and pending is None)
        self.note.setEnabled(row is not None)
        self.note.setPlaceholderText(
            "Note for the approving supervisor (optional)"
            if pending is None
            else "Why you withdraw the request (optional)"
            if mine
            else "Why you turn this merge down (optional)"
        )
        self.approve_button.setEnabled(pending is not None and not mine)
        self.approve_button.setToolTip(
            "You asked for this merge; another supervisor must approve it."
            if mine
            else "Carry out the merge someone else asked for"
        )
        self.reject_button.setEnabled(pending is not None)
        self.reject_button.setText("Withdraw request" if mine else "Reject merge")
        self.left.show_brief(row.left if row else None)
        self.right.show_brief(row.right if row else None)
        if row is None:
            self.reasons.setText("Select a pair to compare the two records.")
        else:
            text = f"Score {row.score} of 100: " + "; ".join(row.reasons) + "."
            if pending is not None:
                keep = row.left if pending.survivor_id == row.left.id else row.right
                asked = (
                    f"Merge asked by {pending.requested_by} on "
                    f"{fmt.when(pending.requested_at)}, keeping {keep.display_name}"
                )
                text += f"\n{asked}" + (f": “{pending.note}”" if pending.note else ".")
            self.reasons.setText(fmt.display_text(text, multiline=True))

    def _on_table_selection_changed(self, _new: QItemSelection, _old: QItemSelection) -> None:
        self._update_actions()

    # --- calls ------------------------------------------------------------------------------

    def reload(self) -> None:
        self._call(
            self._review.review_list, LIST_LIMIT, on_done=self._on_loaded, reload_after_error=False
        )

    def _on_loaded(self, rows: tuple[CandidateRow, ...]) -> None:
        kept = self.selected()
        self.model.set_rows(rows)
        if kept is not None:
            for n, row in enumerate(rows):
                if row.id == kept.id:
                    self.table.selectRow(n)
        self.summary.setText(
            f"The {len(rows)} highest-scoring pairs; more wait behind them"
            if len(rows) >= LIST_LIMIT
            else fmt.count(len(rows), "pair", "pairs") + " to review, highest score first"
            if rows
            else "No possible duplicates to review. “Look for duplicates” compares every customer."
        )
        self.loaded.emit(len(rows))

    def _on_scan_clicked(self) -> None:
        self.scan_button.setEnabled(False)
        self.summary.setText("Looking for duplicates…")

        def done(report: ScanReport) -> None:
            self.scan_button.setEnabled(True)
            shared = fmt.count(
                report.oversized_blocks, "number, e-mail or name", "numbers, e-mails or names"
            )
            skipped = (
                f"; {shared} shared by too many customers were left out"
                if report.oversized_blocks
                else ""
            )
            found = fmt.count(report.candidates, "possible duplicate")
            self._acted(
                f"Compared {fmt.count(report.pairs_scored, 'pair')}: "
                f"{found}, {report.opened} new{skipped}."
            )

        self._call(
            self._review.scan, on_done=done, always=lambda: self.scan_button.setEnabled(True)
        )

    def _on_keep_clicked(self, *, left_survives: bool) -> None:
        row = self.selected()
        if row is None:
            return
        keep, goes = (row.left, row.right) if left_survives else (row.right, row.left)
        note = self.note.text().strip() or None
        self._call(
            self._review.request_merge, keep.id, goes.id, note,
            on_done=lambda _v: self._acted(
                f"Merge asked: {goes.display_name} into {keep.display_name}. "
                "Another supervisor must approve it."
            ),
        )  # fmt: skip

    def _on_not_same_clicked(self) -> None:
        row = self.selected()
        if row is not None:
            self._call(
                self._review.dismiss, row.id,
                on_done=lambda _v: self._acted(
                    "Marked as different people; the pair stays off the list."
                ),
            )  # fmt: skip

    def _on_approve_clicked(self) -> None:
        row = self.selected()
        if row is None or row.pending is None:
            return
        self._call(
            self._review.approve, row.pending.request_id,
            on_done=lambda r: self._acted(_merged_text(r)),
        )  # fmt: skip

    def _on_reject_clicked(self) -> None:
        row = self.selected()
        if row is None or row.pending is None:
            return
        self._call(
            self._review.reject, row.pending.request_id, self.note.text().strip() or None,
            on_done=lambda _v: self._acted(
                "The merge request was turned down; nothing was merged."
            ),
        )  # fmt: skip

    def _acted(self, text: str) -> None:
        self.note.clear()
        self.message.setStyleSheet("color: #2e7d32;")
        self.message.setText(fmt.display_text(text))
        self.acted.emit(text)
        self.reload()

    def _call(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Callable[[Any], None],
        always: Callable[[], None] | None = None,
        reload_after_error: bool = True,
    ) -> None:
        def error(exc: BaseException) -> None:
            if always is not None:
                always()
            text = str(exc) or type(exc).__name__
            self.message.setStyleSheet("color: #c62828;")
            self.message.setText(fmt.display_text(text))
            self.failed.emit(text)
            if reload_after_error:  # the list may have moved on (someone decided meanwhile)
                self.reload()

        self._bridge.submit(fn, *args, on_done=on_done, on_error=error, lane="central")


def open_duplicates(review: DuplicateReview, bridge: Bridge, login: str) -> DuplicatesWindow:
    """Build the review window and start loading its list."""
    window = DuplicatesWindow(review, bridge, login)
    window.reload()
    return window
