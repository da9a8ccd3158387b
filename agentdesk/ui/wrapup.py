"""The wrap-up form: disposition, notes, optional follow-up ticket, next state, ACW countdown.

It edits the oldest open wrap-up held by the :class:`WrapUpKeeper`; the
keeper owns the data, the clock and the saving, so closing or hiding this
form never loses anything. While no wrap-up is open and a call is connected,
the form takes notes for that call: the draft is kept (in the cache too)
against the live call's Linkedid as it is typed, and when the call ends the
same fields carry on as its after-call work.
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
from agentdesk.services.desk.screen_pop import CallChange, CallInfo, ChangeKind
from agentdesk.services.desk.wrapup import (
    DispositionOption,
    WrapUpContext,
    WrapUpDraft,
    WrapUpSaved,
)
from agentdesk.ui import format as fmt
from agentdesk.ui.forms import FieldErrors
from agentdesk.ui.row_model import ROW_ROLE, Column, RowTableModel
from agentdesk.ui.wrapup_keeper import WrapUpKeeper

# Beside "Answered with" while no article is cited (it read "None: cite one…", like a raw None).
NO_ARTICLE = "No article cited yet"  # one line at 1366x768 (a wrapped one was clipped)


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
        self._live: CallInfo | None = None  # the connected call notes are taken for (no ctx)
        self._calls: dict[str, CallInfo] = {}  # the agent's connected or held calls
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
        # "Answered with this article" (issue 13): set from the knowledge panel.
        self._article: tuple[str, int, str] | None = None
        self.article = fmt.plain(QLabel(NO_ARTICLE, self))
        self.article.setObjectName("wrapArticle")
        self.article.setWordWrap(True)
        self.article.setToolTip("Cite the article you answered with from the Knowledge pane.")
        self.article_clear = QPushButton("Remove", self)
        self.article_clear.setEnabled(False)
        article_row = QHBoxLayout()
        article_row.addWidget(self.article, 1)
        article_row.addWidget(self.article_clear)
        form.addRow("&Disposition", self.disposition)
        form.addRow("&Notes", self.notes)
        form.addRow("Answered with", article_row)
        form.addRow("", self.follow_up)
        form.addRow("", self.follow_up_title)
        form.addRow("&Then", self.next_state)
        layout.addLayout(form, 1)
        self.error = QLabel(self)  # messages about no one field ("Saving…")
        self.error.setObjectName("wrapError")
        self.error.setWordWrap(True)
        # A message about a field shows right under it ("Pick a disposition." was 500 px away).
        self.errors = FieldErrors(
            form,
            {
                "disposition": self.disposition,
                "notes": self.notes,
                "follow_up": self.follow_up_title,
            },
            self.error,
        )
        self.save_button = QPushButton("Save wrap-up (F9)", self)
        self.save_button.setDefault(True)
        layout.addWidget(self.error)
        layout.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignRight)

    def _connect_signals(self) -> None:
        self._keeper.started.connect(self._on_keeper_started)
        self._keeper.updated.connect(self._on_keeper_updated)
        self._keeper.failed.connect(self._on_keeper_failed)
        self._keeper.saved.connect(self._on_keeper_saved)
        self._keeper.call_changed.connect(self._on_call_changed)
        self.save_button.clicked.connect(self.save)
        self.follow_up.toggled.connect(self.follow_up_title.setEnabled)
        self.disposition.currentIndexChanged.connect(self._on_disposition_changed)
        self.notes.textChanged.connect(self._draft_timer.start)
        self.follow_up_title.textChanged.connect(self._draft_timer.start)
        self.next_state.currentIndexChanged.connect(self._draft_timer.start)
        self.article_clear.clicked.connect(lambda: self._set_article(None))

    # ------------------------------------------------------------------ public
    @property
    def context(self) -> WrapUpContext | None:
        return self._ctx

    @property
    def live_linkedid(self) -> str | None:
        """The call in progress whose notes the form is taking (None in after-call work)."""
        return self._live.linkedid if self._live is not None and self._ctx is None else None

    def draft(self) -> WrapUpDraft:
        row = self.dispositions.row_at(self.disposition.currentIndex())
        state = self.next_states.row_at(self.next_state.currentIndex())
        title = self.follow_up_title.text() if self.follow_up.isChecked() else None
        article_id, version, article_title = self._article or (None, None, None)
        return WrapUpDraft(
            row.code if row else "",
            self.notes.toPlainText(),
            title,
            state.code if state else None,
            article_id,
            version,
            article_title,
        )

    def cite_article(self, article_id: str, version: int, title: str) -> bool:
        """Record "answered with this article" on the wrap-up (or the live call's notes).

        False when there is no call to file it on.
        """
        if self._ctx is None and self._live is None:
            return False
        self._set_article((article_id, version, title))
        return True

    def _set_article(self, article: tuple[str, int, str] | None) -> None:
        self._article = article
        if article is None:
            self.article.setText(NO_ARTICLE)
        else:
            self.article.setText(f"{fmt.display_text(article[2])} (version {article[1]})")
        self.article_clear.setEnabled(article is not None)
        self._draft_timer.start()

    def save(self) -> None:
        if self._ctx is None:
            if self._live is not None:
                self._push_draft()
                self.errors.show("The call is in progress: save the wrap-up when it ends.")
            return
        self.errors.show("Saving…")
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
        live = self._live
        if live is not None:
            self._flush()  # what was typed in the last 300 ms goes to its call's draft first
        self._live = None
        # The notes taken during this very call stay on screen as they are (cursor and all).
        self._load(ctx, keep_fields=live is not None and live.linkedid == ctx.call.linkedid)

    def _load(self, ctx: WrapUpContext, *, keep_fields: bool = False) -> None:
        self._ctx = ctx
        call = ctx.call
        self.title.setText("After-call work")
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
        if not keep_fields:
            self._clear_fields()
            self._fill(self._keeper.draft(call.linkedid))
        self.errors.clear()
        self.setEnabled(True)
        self._clock.start()
        self._tick()

    def _bind_live(self, call: CallInfo) -> None:
        """No wrap-up open: take notes for this connected call (kept as its draft)."""
        self._live = call
        self.title.setText("Notes for the call in progress")
        who = normalise(call.caller_raw).display if call.caller_raw else "Withheld number"
        self.summary.setText(
            f"{fmt.display_text(who)} · carried into after-call work when the call ends"
        )
        self._clear_fields()
        self._fill(self._keeper.draft(call.linkedid))
        self._draft_timer.stop()  # filling the fields is not typing: nothing new to keep
        self.errors.clear()
        self.countdown.clear()
        self.setEnabled(True)

    def _unbind_live(self) -> None:
        self._flush()
        self._live = None
        self.title.setText("After-call work")
        self.summary.clear()
        self.errors.clear()
        self._clear_fields()
        self._draft_timer.stop()
        self.setEnabled(False)

    def _clear_fields(self) -> None:
        self.disposition.setCurrentIndex(-1)
        self.notes.clear()
        self.follow_up.setChecked(False)
        self.follow_up_title.clear()
        self.next_state.setCurrentIndex(0)
        self._set_article(None)

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
        if draft.article_id and draft.article_version:
            title = draft.article_title or "Cited article"
            self._set_article((draft.article_id, draft.article_version, title))

    def _on_keeper_updated(self, ctx: WrapUpContext) -> None:
        if self._ctx is not None and ctx.call.linkedid == self._ctx.call.linkedid:
            self._ctx = ctx

    def _on_keeper_failed(self, linkedid: str, message: str, field: str) -> None:
        if self._ctx is None or linkedid != self._ctx.call.linkedid:
            return
        self.errors.show(message, field)  # under its field, which takes the focus

    def _on_keeper_saved(self, saved: WrapUpSaved) -> None:
        if self._ctx is None or saved.interaction_id != self._ctx.interaction_id:
            return
        self._ctx = None
        self._clock.stop()
        self.setEnabled(False)
        self.errors.clear()
        self.countdown.clear()
        self.summary.setText("Saved. The next wrap-up appears here when a call ends.")
        self.saved.emit(saved)
        pending = self._keeper.pending()
        if pending:
            self._load(pending[0])
        elif self._calls:  # a call still in progress: its notes are next
            self._bind_live(list(self._calls.values())[-1])

    def _on_call_changed(self, change: CallChange) -> None:
        call = change.call
        if change.kind in (ChangeKind.CONNECTED, ChangeKind.HELD, ChangeKind.RESUMED):
            self._calls.pop(call.linkedid, None)
            self._calls[call.linkedid] = call
            if self._live is not None and self._live.linkedid == call.linkedid:
                self._live = call
            elif self._ctx is None and self._live is None:
                self._bind_live(call)
            return
        if change.kind in (ChangeKind.ENDED, ChangeKind.DISMISSED):
            self._calls.pop(call.linkedid, None)
            if self._ctx is None and self.live_linkedid == call.linkedid:
                # Ended with no wrap-up opening here (it was open already): let go of it.
                self._unbind_live()
                if self._calls:
                    self._bind_live(list(self._calls.values())[-1])

    # ------------------------------------------------------------------ internals
    def _on_disposition_changed(self, index: int) -> None:
        if index >= 0:
            self.errors.clear("disposition")  # "Pick a disposition." is answered: it goes
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
        elif self._live is not None:
            self._keeper.update_draft(self._live.linkedid, self.draft())

    def flush_draft(self) -> None:
        """Keep what was typed in the last moment too (the desktop is closing)."""
        self._flush()

    def _flush(self) -> None:
        """Push a draft still waiting on the typing pause now."""
        if self._draft_timer.isActive():
            self._draft_timer.stop()
            self._push_draft()

    def _tick(self) -> None:
        if self._ctx is None:
            return
        left = self._keeper.seconds_left(self._ctx.call.linkedid)
        self.countdown.setText("" if left is None else f"{fmt.duration(left)} left")
