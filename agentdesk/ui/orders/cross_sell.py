"""The cross-sell strip in the customer workspace and the pop: a suggestion, why, the answer.

Hidden when there is nothing to suggest (no rule matched, nothing eligible, or the
customer opted out of marketing). "Accepted" and "Declined" are filed on the timeline
as an internal note linked to the call; "Accepted" also asks for the order dialog with
the product chosen. The same strip sits in the screen pop (``pop.py``): an offer
answered in one shows as answered in the other and is filed once per call.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from agentdesk.services.orders.cross_sell import CrossSellService, Suggestion
from agentdesk.ui import format as fmt
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.named import named
from agentdesk.ui.orders.weak import weak_callback


class CrossSellStrip(QFrame):
    """Shows the suggestion for one customer and records the customer's answer."""

    suggestion_shown = Signal(object)  # Suggestion | None
    answered = Signal(object, bool)  # Suggestion, accepted

    def __init__(
        self,
        bridge: Bridge,
        service: CrossSellService,
        customer_id: uuid.UUID,
        linkedid: Callable[[], str | None] = lambda: None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._service = service
        self._customer_id = customer_id
        self._linkedid = linkedid
        self.suggestion: Suggestion | None = None
        self.setAccessibleName("Cross-sell suggestion")
        self.setObjectName("crossSellStrip")
        self.setStyleSheet(
            "#crossSellStrip{background:#e8f5e9;border:1px solid #a5d6a7;border-radius:4px}"
        )
        self.text = fmt.plain(named(QLabel(wordWrap=True), "Suggested product and why"))
        self.accept_button = named(QPushButton("Accepted"), "The customer accepted the offer")
        self.decline_button = named(QPushButton("Declined"), "The customer declined the offer")
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        row.addWidget(self.text, 1)
        row.addWidget(self.accept_button)
        row.addWidget(self.decline_button)
        self.accept_button.clicked.connect(lambda: self._on_answer(True))
        self.decline_button.clicked.connect(lambda: self._on_answer(False))
        self.setVisible(False)
        self.reload()

    @property
    def customer_id(self) -> uuid.UUID:
        return self._customer_id

    def reload(self) -> None:
        """The suggestion now, and the answer already filed for it on this call (if any)."""
        service, cid, linkedid = self._service, self._customer_id, self._linkedid()

        def load() -> tuple[Suggestion | None, bool | None]:
            found = service.suggestion(cid)
            return found, None if found is None else service.answer_on_call(cid, found, linkedid)

        self._bridge.submit(
            load,
            on_done=weak_callback(self._on_loaded),
            on_error=weak_callback(self._on_suggestion_failed),
        )

    def _on_suggestion_failed(self, _exc: BaseException) -> None:
        self._on_loaded((None, None))  # no suggestion is better than a broken strip

    def _on_loaded(self, loaded: tuple[Suggestion | None, bool | None]) -> None:
        suggestion, answer = loaded
        self.suggestion = suggestion
        if suggestion is not None and answer is None:
            self.text.setText(f"Suggest: {suggestion.product_name} — {suggestion.why}")
            self.accept_button.setEnabled(True)
            self.decline_button.setEnabled(True)
        elif suggestion is not None and answer is not None:
            self._show_answer(suggestion, answer)
        self.setVisible(suggestion is not None)
        self.suggestion_shown.emit(suggestion)

    def _show_answer(self, suggestion: Suggestion, accepted: bool) -> None:
        answer = "accepted" if accepted else "declined"
        self.text.setText(f"{suggestion.product_name}: {answer}, noted on the timeline.")
        self.accept_button.setEnabled(False)
        self.decline_button.setEnabled(False)

    def _on_answer(self, accepted: bool) -> None:
        suggestion = self.suggestion
        if suggestion is None:
            return
        self.accept_button.setEnabled(False)
        self.decline_button.setEnabled(False)
        service, cid, linkedid = self._service, self._customer_id, self._linkedid()
        recorded = weak_callback(self._on_recorded)
        self._bridge.submit(
            lambda: service.record(cid, suggestion, accepted, linkedid=linkedid),
            on_done=lambda filed: recorded(suggestion, accepted, filed),
            on_error=weak_callback(self._on_record_failed),
        )

    def _on_recorded(self, suggestion: Suggestion, accepted: bool, filed: bool) -> None:
        """``filed`` is the answer on file: another strip may have answered on this call."""
        self._show_answer(suggestion, filed)
        if filed == accepted:
            self.answered.emit(suggestion, accepted)

    def _on_record_failed(self, exc: BaseException) -> None:
        self.accept_button.setEnabled(True)
        self.decline_button.setEnabled(True)
        self.text.setText(f"Could not record the answer: {exc}")
