"""The screen pop: who is calling, what the IVR learned, and the match (one, several or none).

It fills in place inside the call dock and never takes the keyboard focus:
an agent typing elsewhere keeps typing; F7 moves focus here on purpose.
Every list is a view over a :class:`RowTableModel`. The first paint after new
content records the ring → pop-painted latency.

Several calls at once are separate entries, one tab each: a second offer while
the agent is on a call waits in its own tab instead of painting over the live
call, and removing one entry (offer withdrawn, call wrapped up) never clears
another.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTabBar,
    QVBoxLayout,
    QWidget,
)

from agentdesk.services.crm.caller_match import (
    CustomerCard,
    CustomerSummary,
    InteractionLine,
    MatchKind,
    ProductLine,
    TicketLine,
)
from agentdesk.services.crm.phone import NumberStatus
from agentdesk.services.desk.call_data import IvrData
from agentdesk.services.desk.pop_latency import PopLatencyRecorder
from agentdesk.services.desk.screen_pop import CallPhase
from agentdesk.ui import format as fmt
from agentdesk.ui.customer_card import CustomerCardView, make_label, make_table
from agentdesk.ui.desk_controller import PopContent
from agentdesk.ui.desk_theme import tone
from agentdesk.ui.row_model import ROW_ROLE, Column, RowTableModel
from agentdesk.ui.shell_widgets import fit_columns

log = logging.getLogger(__name__)


_LIVE = (CallPhase.CONNECTED, CallPhase.ON_HOLD)
_IDV_METHODS = {"pin": "PIN", "dob": "date of birth", "otp": "one-time code", "voice": "voice"}
_IDV_COLOURS = {"verified": "#2e7d32", "partial": "#ef6c00", "not_verified": "#c62828"}
_IDV_STYLE = "color:white;font-weight:bold;padding:3px 8px;border-radius:4px;background:{}"
NOT_VERIFIED = "Caller not verified — complete ID&V"


def idv_banner(ivr: IvrData) -> tuple[str, str]:
    """This call's verification in one line and its verdict (verified | partial |
    not_verified): "Verified by PIN, 1 attempt" or "Caller not verified — complete ID&V"."""
    method = ivr.idv_method or ""
    how = _IDV_METHODS.get(method.lower(), method.replace("_", " "))
    tries = ivr.idv_attempts
    attempts = f"{tries} attempt" + ("" if tries == 1 else "s") if tries else ""
    if ivr.idv_result == "passed":
        detail = ", ".join(p for p in (f"by {how}" if how else "", attempts) if p)
        return ("Verified " + detail if detail else "Verified by the IVR"), "verified"
    if ivr.idv_result == "partial":
        detail = ", ".join(p for p in (how, attempts) if p)
        return f"Partly verified{f' ({detail})' if detail else ''} — complete ID&V", "partial"
    if ivr.idv_result == "failed" and tries:
        return f"Caller not verified ({how or 'IVR'} failed, {attempts}) — complete ID&V", (
            "not_verified"
        )
    return NOT_VERIFIED, "not_verified"


class ScreenPopView(QFrame):
    """Shows one :class:`PopContent`; emits what the agent picks."""

    customer_chosen = Signal(str, object)  # linkedid, customer id
    open_customer_requested = Signal(object)  # customer id
    search_requested = Signal(str)  # text to search for
    new_customer_requested = Signal(str)  # E.164 (or raw) number to prefill
    dial_requested = Signal(str)
    pop_painted = Signal(str, float)  # linkedid, ms from AgentCalled parsed to painted

    def __init__(
        self, recorder: PopLatencyRecorder | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("screenPop")
        self._recorder = recorder
        self._content: PopContent | None = None
        self._entries: dict[str, PopContent] = {}  # every call on screen, oldest first
        self._mark: tuple[str, float] | None = None
        self._styled_phase: object = None
        self.candidates = RowTableModel[CustomerSummary](
            [
                Column("Name", lambda c: c.display_name),
                Column("Segment", lambda c: fmt.words(c.segment)),
                Column("Born", lambda c: str(c.birth_year) if c.birth_year else ""),
                Column("Phone", lambda c: fmt.words(c.phone_label)),
            ],
            parent=self,
        )
        self._build()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(6)
        self.calls = QTabBar(self)
        self.calls.setObjectName("popCalls")
        self.calls.setDocumentMode(True)
        self.calls.setExpanding(False)
        self.calls.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a new call never takes the focus
        self.calls.currentChanged.connect(self._on_call_tab)
        self.calls.hide()
        layout.addWidget(self.calls)
        self.banner = make_label(self, "popBanner")
        self.number = make_label(self, "popNumber", rich=True)
        self.number.linkActivated.connect(self._on_link)
        self.ivr = make_label(self, "popIvr", rich=True)
        # This call's ID&V, one line: the IVR's verdict, not the documents on file.
        self.idv = make_label(self, "popIdv")
        self.idv.setAccessibleName("This call's ID&V")
        for widget in (self.banner, self.idv, self.number, self.ivr):
            layout.addWidget(widget)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self._build_single())
        self.pages.addWidget(self._build_chooser())
        self.pages.addWidget(self._build_unknown())
        self.idle_page = QWidget(self)
        self.pages.addWidget(self.idle_page)
        self.status = make_label(self, "popStatus")
        layout.addWidget(self.status)
        layout.addWidget(self.pages, 1)
        self.clear()

    def _build_single(self) -> QWidget:
        self.card_view = CustomerCardView(self)
        self.card_view.open_requested.connect(self.open_customer_requested)
        self.tickets, self.recent = self.card_view.tickets, self.card_view.recent
        self.open_button = self.card_view.open_button
        return self.card_view

    def _build_chooser(self) -> QWidget:
        page = QWidget(self)
        box = QVBoxLayout(page)
        box.setContentsMargins(0, 0, 0, 0)
        self.chooser_text = make_label(page, "popChooserText")
        self.chooser_view = make_table(self.candidates, page, 4)
        fit_columns(self.chooser_view)  # every column in sight in the 470 px call pane
        self.chooser_view.doubleClicked.connect(lambda _i: self._on_use_selected())
        self.use_button = QPushButton("&Use selected customer", page)
        self.use_button.clicked.connect(self._on_use_selected)
        box.addWidget(self.chooser_text)
        box.addWidget(self.chooser_view)
        box.addWidget(self.use_button, 0, Qt.AlignmentFlag.AlignRight)
        box.addStretch(1)
        return page

    def _build_unknown(self) -> QWidget:
        page = QWidget(self)
        box = QVBoxLayout(page)
        box.setContentsMargins(0, 0, 0, 0)
        self.unknown_text = make_label(page, "popUnknownText")
        row = QHBoxLayout()
        self.search_field = QLineEdit(page)
        self.search_field.setObjectName("popSearch")
        self.search_field.setPlaceholderText("Name, phone, e-mail, account or ticket number")
        self.search_field.returnPressed.connect(self._on_search)
        self.search_button = QPushButton("&Search", page)
        self.search_button.clicked.connect(self._on_search)
        row.addWidget(self.search_field, 1)
        row.addWidget(self.search_button)
        self.new_button = QPushButton("&New customer with this number", page)
        self.new_button.clicked.connect(self._on_new)
        box.addWidget(self.unknown_text)
        box.addLayout(row)
        box.addWidget(self.new_button, 0, Qt.AlignmentFlag.AlignLeft)
        box.addStretch(1)
        return page

    def add_card_extra(self, widget: QWidget) -> None:
        """A plug-in's widget under the caller's card, above Open customer (issue 13: the
        cross-sell suggestion); it shows and hides itself."""
        box = self.card_view.layout()
        assert isinstance(box, QVBoxLayout)
        box.insertWidget(box.indexOf(self.open_button), widget)

    # ------------------------------------------------------------------ content
    @property
    def content(self) -> PopContent | None:
        """The call shown now (one of :attr:`entries`)."""
        return self._content

    @property
    def entries(self) -> dict[str, PopContent]:
        """Every call on screen by linkedid, oldest first."""
        return dict(self._entries)

    def remove(self, linkedid: str) -> None:
        """Take one call off (withdrawn, wrapped up); the others stay as they are."""
        if self._entries.pop(linkedid, None) is None:
            return
        shown = self._content is not None and self._content.linkedid == linkedid
        if not shown:
            self._sync_tabs()
            return
        rest = list(self._entries.values())
        if not rest:
            self.clear()
            return
        live = [p for p in rest if p.call.phase in _LIVE]
        self._display(live[-1] if live else rest[-1])

    def clear(self) -> None:
        """No call at all: every entry goes."""
        self._entries.clear()
        self._sync_tabs()
        self._content = None
        self._mark = None
        self.banner.setText("No call")
        self.banner.setProperty("phase", "idle")
        self.number.setText("")
        self.ivr.setText("")
        self.idv.setText("")
        self.idv.setProperty("verdict", None)
        self.idv.hide()
        self.status.setText("Calls pop here before you answer.")
        self.tickets.set_rows(())
        self.recent.set_rows(())
        self.candidates.set_rows(())
        self.pages.setCurrentWidget(self.idle_page)
        self._restyle()

    def show_pop(self, pop: PopContent) -> None:
        """Add or refresh one call's entry. A call on the agent's line (connected, held)
        stays in view; another call offered meanwhile waits in its own tab."""
        self._entries[pop.linkedid] = pop
        current = self._content
        if (
            current is None
            or current.linkedid == pop.linkedid
            or current.linkedid not in self._entries
            or pop.call.phase in _LIVE
            or current.call.phase not in _LIVE
        ):
            self._display(pop)
        else:
            self._sync_tabs()

    def _display(self, pop: PopContent) -> None:
        first = self._content is None or self._content.linkedid != pop.linkedid
        self._content = pop
        self._sync_tabs()
        call, match = pop.call, pop.match
        where = f" · queue {fmt.display_text(call.queue)}" if call.queue else ""
        waited = (
            f" · waited {fmt.duration(call.wait_seconds)}" if call.wait_seconds is not None else ""
        )
        phase = {"ringing": "Incoming call", "connected": "On call", "on_hold": "On hold"}.get(
            call.phase.value, "Call"
        )
        self.banner.setText(f"{phase}{where}{waited}")
        self.banner.setProperty("phase", call.phase.value)
        self.number.setText(self._number_html(pop))
        self.ivr.setText(self._ivr_html(pop))
        self._show_idv(pop)
        # One match, or the customer the agent picked (chooser, search, new customer).
        if match.card is not None and (match.kind is MatchKind.SINGLE or pop.chosen is not None):
            self._fill_single(match.card)
        elif match.kind is MatchKind.MULTIPLE:
            self._fill_chooser(pop)
        else:
            self._fill_unknown(pop)
        self.status.setText(self._status_text(pop))
        self._restyle()
        if first:
            self._mark = (pop.linkedid, pop.arrived)
        self.update()

    def _sync_tabs(self) -> None:
        """One tab per call when there are several; the shown call's tab selected."""
        bar = self.calls
        bar.blockSignals(True)
        try:
            while bar.count() > len(self._entries):
                bar.removeTab(bar.count() - 1)
            for index, pop in enumerate(self._entries.values()):
                text = self._tab_text(pop)
                if index >= bar.count():
                    bar.addTab(text)
                elif bar.tabText(index) != text:
                    bar.setTabText(index, text)
                bar.setTabData(index, pop.linkedid)
                if self._content is not None and pop.linkedid == self._content.linkedid:
                    bar.setCurrentIndex(index)
        finally:
            bar.blockSignals(False)
        bar.setVisible(len(self._entries) > 1)

    @staticmethod
    def _tab_text(pop: PopContent) -> str:
        phase = {"ringing": "Incoming", "connected": "On call", "on_hold": "On hold"}.get(
            pop.call.phase.value, "Call"
        )
        card = pop.match.card
        who = card.summary.display_name if card else (pop.match.number.display or "Caller")
        return fmt.tab_text(f"{phase} · {who}")

    def _on_call_tab(self, index: int) -> None:
        linkedid = self.calls.tabData(index)
        pop = self._entries.get(linkedid) if isinstance(linkedid, str) else None
        if pop is not None and pop is not self._content:
            self._display(pop)

    @staticmethod
    def _status_text(pop: PopContent) -> str:
        """One line about the match in the agent's words (where it was looked up is not
        theirs to care about: "the central database" read as jargon on the pop). None for
        an unknown caller: the page below says it ("No customer has this number" twice)."""
        if pop.looking_up and pop.match.kind is MatchKind.SINGLE and pop.chosen is not None:
            return "Checking whether another customer shares this number…"
        if pop.looking_up:
            return "Looking up the caller…"
        if pop.match.source == "none":
            return ""
        if pop.match.kind is MatchKind.SINGLE:
            return "Matched on the caller's number."
        return ""

    def _number_html(self, pop: PopContent) -> str:
        number = pop.match.number
        if number.status is NumberStatus.WITHHELD:
            return "<b>Number withheld</b>"
        shown = number.display
        raw = pop.call.caller_raw
        extra = (
            f" <span style='color:{tone('muted')}'>(sent as {fmt.esc(raw)})</span>"
            if raw and raw != number.e164
            else ""
        )
        name = f" · {fmt.esc(pop.call.caller_name)}" if pop.call.caller_name else ""
        if number.status is NumberStatus.INVALID:
            return (
                f"<b>{fmt.esc(raw)}</b> <span style='color:{tone('bad')}'>not a valid number</span>"
            )
        return f"<b>{fmt.phone_link(number.e164, shown)}</b>{extra}{name}"

    def _show_idv(self, pop: PopContent) -> None:
        text, verdict = idv_banner(pop.call.ivr)
        self.idv.setText(text)
        if self.idv.property("verdict") != verdict:
            self.idv.setProperty("verdict", verdict)
            self.idv.setStyleSheet(_IDV_STYLE.format(_IDV_COLOURS[verdict]))
        self.idv.show()

    @staticmethod
    def _ivr_html(pop: PopContent) -> str:
        """What the IVR learned besides ID&V (that has its own banner): intent, language."""
        ivr = pop.call.ivr
        parts = []
        if ivr.intent:
            parts.append(f"<b>Intent:</b> {fmt.esc(fmt.words(ivr.intent))}")
        if ivr.language:
            spoken = ivr.language.upper()
            card = pop.match.card
            own = card.summary.preferred_language.upper() if card is not None else ""
            if own and own != spoken:
                parts.append(
                    f"<span style='color:{tone('warn')}'><b>Language:</b> IVR {fmt.esc(spoken)}"
                    f" ≠ customer's {fmt.esc(own)}</span>"
                )
            else:
                parts.append(f"<b>Language:</b> {fmt.esc(spoken)}")
        return " · ".join(parts)

    def _fill_single(self, card: CustomerCard) -> None:
        self.card_view.show_card(card)
        self.pages.setCurrentIndex(0)

    def _fill_chooser(self, pop: PopContent) -> None:
        count = len(pop.match.candidates)
        more = "+" if pop.match.truncated else ""
        self.chooser_text.setText(
            f"{count}{more} customers share this number. Pick the caller "
            "(↑/↓ then Enter) after checking their identity."
        )
        if self.candidates.rows != pop.match.candidates:
            self.candidates.set_rows(pop.match.candidates)
        self.pages.setCurrentIndex(1)

    def _fill_unknown(self, pop: PopContent) -> None:
        number = pop.match.number
        withheld = number.status is NumberStatus.WITHHELD
        self.unknown_text.setText(
            "The caller withheld their number. Search for them:"
            if withheld
            else "No customer has this number. Search, or add a new customer:"
        )
        if self._content is pop and not self.search_field.hasFocus():
            self.search_field.setText("" if withheld else (number.e164 or pop.call.caller_raw))
        self.new_button.setEnabled(True)
        self.pages.setCurrentIndex(2)

    def _restyle(self) -> None:
        # Re-polishing under a style sheet costs; only when the phase colour changed.
        phase = self.banner.property("phase")
        if phase != self._styled_phase:
            self._styled_phase = phase
            self.banner.style().unpolish(self.banner)
            self.banner.style().polish(self.banner)

    def warm_up(self) -> None:
        """Lay out and render every page once, off screen, so the first real pop is as quick
        as the rest (first paints load fonts, styles and delegates)."""
        if self._content is not None:
            return
        now = dt.datetime.now(dt.UTC)
        who = CustomerSummary(uuid.uuid4(), "Warm Up", "person", "retail", "en", False, "mobile")
        card = CustomerCard(
            who,
            (ProductLine("current", "Account", "0000", "active"),),
            1,
            (TicketLine(uuid.uuid4(), "T-0", "Warm-up", "open", "normal", now),),
            (InteractionLine(uuid.uuid4(), now, "phone", "inbound", "info", "Warm-up"),),
        )
        self.card_view.show_card(card)
        self.candidates.set_rows((who, who))
        for index in range(self.pages.count()):
            self.pages.setCurrentIndex(index)
            self.grab()
        self.clear()

    # ------------------------------------------------------------------ keyboard
    def take_focus(self) -> None:
        """Move the keyboard focus here (F7): the agent asked for it."""
        page = self.pages.currentIndex()
        target: QWidget = {0: self.open_button, 1: self.chooser_view, 2: self.search_field}.get(
            page, self
        )
        if (
            page == 1
            and not self.chooser_view.currentIndex().isValid()
            and self.candidates.rowCount()
        ):
            self.chooser_view.selectRow(0)
        target.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def keyPressEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.chooser_view.hasFocus():
            self._on_use_selected()
            return
        super().keyPressEvent(event)

    # ------------------------------------------------------------------ actions
    def _on_link(self, href: str) -> None:
        if href.startswith("tel:"):
            self.dial_requested.emit(href[4:])

    def _on_use_selected(self) -> None:
        index = self.chooser_view.currentIndex()
        row = self.candidates.data(index, ROW_ROLE) if index.isValid() else None
        if self._content is not None and isinstance(row, CustomerSummary):
            self.customer_chosen.emit(self._content.linkedid, row.id)

    def _on_search(self) -> None:
        self.search_requested.emit(self.search_field.text().strip())

    def _on_new(self) -> None:
        if self._content is not None:
            number = self._content.match.number
            self.new_customer_requested.emit(number.e164 or self._content.call.caller_raw)

    def choose(self, customer_id: uuid.UUID) -> None:
        """Pick a candidate programmatically (tests, keyboard macros)."""
        if self._content is not None:
            self.customer_chosen.emit(self._content.linkedid, customer_id)

    # ------------------------------------------------------------------ latency
    @property
    def paint_pending(self) -> bool:
        """A new call's content is set but not yet on screen."""
        return self._mark is not None

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self._mark is not None:
            # Children paint right after this frame in the same pass; measure once it is done.
            QTimer.singleShot(0, self, self._finish_mark)

    def _finish_mark(self) -> None:
        if self._mark is None:
            return
        linkedid, arrived = self._mark
        self._mark = None
        ms = (time.perf_counter() - arrived) * 1000.0
        if self._recorder is not None:
            self._recorder.record(linkedid, ms)
        log.info("screen pop painted: call %s, %.1f ms after AgentCalled", linkedid, ms)
        self.pop_painted.emit(linkedid, ms)
