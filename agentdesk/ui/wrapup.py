"""The wrap-up form: disposition, notes, optional follow-up ticket, next state, ACW countdown.

It edits the oldest open wrap-up held by the :class:`WrapUpKeeper`; the
keeper owns the data, the clock and the saving, so closing or hiding this
form never loses anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from agentdesk.services.crm.phone import normalise
from agentdesk.services.desk.agent_state import StatePolicy
from agentdesk.services.desk.wrapup import (
    DispositionOption,
    WrapUpContext,
    WrapUpDraft,
    WrapUpSaved,
)
from agentdesk.ui import format as fmt
from agentdesk.ui.row_model import ROW_ROLE, Column, RowTableModel
from agentdesk.ui.wrapup_keeper import WrapUpKeeper


@dataclass(frozen=True)
class NextState:
    code: str | None  # None: Available
    label: str


class WrapUpForm(QFrame):
    """Edits and saves the current wrap-up."""

    saved = Signal(object)  # WrapUpSaved

    def __init__(
        self, keeper: WrapUpKeeper, policy: StatePolicy, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("wrapUpForm")
        self._keeper = keeper
        self._ctx: WrapUpContext | None = None
        self.dispositions = RowTableModel[DispositionOption](
            [Column("Disposition", lambda d: d.label)], keeper.service.dispositions, self
        )
        self.next_states = RowTableModel[NextState](
            [Column("Then", lambda n: n.label)],
            (
                NextState(None, "Available"),
                *(
                    NextState(r.code, f"Not ready: {r.label}")
                    for r in policy.reasons
                    if r.code != "Auto-Pause"
                ),
            ),
            self,
        )
        self._draft_timer = QTimer(self)
        self._draft_timer.setSingleShot(True)
        self._draft_timer.setInterval(300)
        self._draft_timer.timeout.connect(self._push_draft)
        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self._tick)
        self._build()
        self._connect_signals()
        self.setEnabled(False)

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        self.title = QLabel("After-call work", self)
        self.title.setObjectName("wrapTitle")
        self.summary = fmt.plain(QLabel(self))
        self.summary.setWordWrap(True)
        self.countdown = QLabel(self)
        self.countdown.setObjectName("wrapCountdown")
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.countdown)
        layout.addLayout(head)
        layout.addWidget(self.summary)
        form = QFormLayout()
        self.disposition = QComboBox(self)
        self.disposition.setModel(self.dispositions)
        self.disposition.setPlaceholderText("Pick a disposition…")
        self.disposition.setCurrentIndex(-1)
        self.notes = QPlainTextEdit(self)
        self.notes.setPlaceholderText(
            "What was the call about, what did you do, what happens next?"
        )
        self.notes.setTabChangesFocus(True)
        self.follow_up = QCheckBox("Open a &follow-up ticket", self)
        self.follow_up_title = QLineEdit(self)
        self.follow_up_title.setPlaceholderText("Ticket title")
        self.follow_up_title.setEnabled(False)
        self.follow_up.setVisible(self._keeper.service.can_open_tickets)
        self.follow_up_title.setVisible(self._keeper.service.can_open_tickets)
        self.next_state = QComboBox(self)
        self.next_state.setModel(self.next_states)
        form.addRow("&Disposition", self.disposition)
        form.addRow("&Notes", self.notes)
        form.addRow("", self.follow_up)
        form.addRow("", self.follow_up_title)
        form.addRow("&Then", self.next_state)
        layout.addLayout(form, 1)
        self.error = QLabel(self)
        self.error.setObjectName("wrapError")
        self.error.setWordWrap(True)
        self.save_button = QPushButton("Save wrap-up (F9)", self)
        self.save_button.setDefault(True)
        layout.addWidget(self.error)
        layout.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignRight)

    def _connect_signals(self) -> None:
        self._keeper.started.connect(self._on_keeper_started)
        self._keeper.updated.connect(self._on_keeper_updated)
        self._keeper.failed.connect(self._on_keeper_failed)
        self._keeper.saved.connect(self._on_keeper_saved)
        self.save_button.clicked.connect(self.save)
        self.follow_up.toggled.connect(self.follow_up_title.setEnabled)
        self.disposition.currentIndexChanged.connect(self._on_disposition_changed)
        self.notes.textChanged.connect(self._draft_timer.start)
        self.follow_up_title.textChanged.connect(self._draft_timer.start)
        self.next_state.currentIndexChanged.connect(self._draft_timer.start)

    # ------------------------------------------------------------------ public
    @property
    def context(self) -> WrapUpContext | None:
        return self._ctx

    def draft(self) -> WrapUpDraft:
        row = self.dispositions.row_at(self.disposition.currentIndex())
        state = self.next_states.row_at(self.next_state.currentIndex())
        title = self.follow_up_title.text() if self.follow_up.isChecked() else None
        return WrapUpDraft(
            row.code if row else "", self.notes.toPlainText(), title, state.code if state else None
        )

    def save(self) -> None:
        if self._ctx is None:
            return
        self.error.setText("Saving…")
        self._keeper.save(self._ctx.call.linkedid, self.draft())

    def set_disposition(self, code: str) -> None:
        for i, row in enumerate(self.dispositions.rows):
            if row.code == code:
                self.disposition.setCurrentIndex(i)
                return
        raise KeyError(code)

    # ------------------------------------------------------------------ keeper signals
    def _on_keeper_started(self, ctx: WrapUpContext) -> None:
        if self._ctx is not None:
            return  # one at a time; the next opens when this one is saved
        self._load(ctx)

    def _load(self, ctx: WrapUpContext) -> None:
        self._ctx = ctx
        call = ctx.call
        who = normalise(call.caller_raw).display if call.caller_raw else "Withheld number"
        ending = {
            "caller": "caller hung up",
            "agent": "you hung up",
            "transfer": "transferred",
        }.get(call.end_reason or "", call.end_reason or "ended")
        self.summary.setText(
            f"{fmt.display_text(who)} · talk {fmt.duration(call.talk_seconds)} · hold "
            f"{fmt.duration(call.hold_seconds)} · {ending}"
        )
        self.disposition.setCurrentIndex(-1)
        self.notes.clear()
        self.follow_up.setChecked(False)
        self.follow_up_title.clear()
        self.next_state.setCurrentIndex(0)
        self._fill(self._keeper.draft(call.linkedid))
        self.error.clear()
        self.setEnabled(True)
        self._clock.start()
        self._tick()

    def _fill(self, draft: WrapUpDraft | None) -> None:
        """What was typed before (during the call, or before a restart) comes back."""
        if draft is None:
            return
        codes = [row.code for row in self.dispositions.rows]
        if draft.disposition in codes:
            self.disposition.setCurrentIndex(codes.index(draft.disposition))
        if draft.notes:
            self.notes.setPlainText(draft.notes)
        if draft.follow_up_title is not None and self._keeper.service.can_open_tickets:
            self.follow_up.setChecked(True)
            self.follow_up_title.setText(draft.follow_up_title)
        states = [row.code for row in self.next_states.rows]
        if draft.next_state in states:
            self.next_state.setCurrentIndex(states.index(draft.next_state))

    def _on_keeper_updated(self, ctx: WrapUpContext) -> None:
        if self._ctx is not None and ctx.call.linkedid == self._ctx.call.linkedid:
            self._ctx = ctx

    def _on_keeper_failed(self, linkedid: str, message: str, field: str) -> None:
        if self._ctx is None or linkedid != self._ctx.call.linkedid:
            return
        self.error.setText(message)
        target = {
            "disposition": self.disposition,
            "notes": self.notes,
            "follow_up": self.follow_up_title,
        }.get(field)
        if target is not None:
            target.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_keeper_saved(self, saved: WrapUpSaved) -> None:
        if self._ctx is None or saved.interaction_id != self._ctx.interaction_id:
            return
        self._ctx = None
        self._clock.stop()
        self.setEnabled(False)
        self.error.clear()
        self.countdown.clear()
        self.summary.setText("Saved. The next wrap-up appears here when a call ends.")
        self.saved.emit(saved)
        pending = self._keeper.pending()
        if pending:
            self._load(pending[0])

    # ------------------------------------------------------------------ internals
    def _on_disposition_changed(self, index: int) -> None:
        row = (
            self.dispositions.data(self.dispositions.index(index, 0), ROW_ROLE)
            if index >= 0
            else None
        )
        if (
            isinstance(row, DispositionOption)
            and row.suggests_ticket
            and self.follow_up.isVisible()
        ):
            self.follow_up.setChecked(True)
        self._draft_timer.start()

    def _push_draft(self) -> None:
        if self._ctx is not None:
            self._keeper.update_draft(self._ctx.call.linkedid, self.draft())

    def _tick(self) -> None:
        if self._ctx is None:
            return
        left = self._keeper.seconds_left(self._ctx.call.linkedid)
        self.countdown.setText("" if left is None else f"{fmt.duration(left)} left")
