"""The cross-sell suggestion in the screen pop, under the caller's card (issue 13).

Plugged into the main window from outside, as the Script tab is: it follows the call the
pop shows and, once the pop has a customer, shows the same :class:`CrossSellStrip` as the
workspace — the product, the rule's reason, Accepted / Declined — filed on the timeline
as a note linked to that call (once per call, whichever strip answers first).
"Accepted" opens the caller's workspace with the order dialog on that product.
"""

from __future__ import annotations

import uuid
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from agentdesk.services.desk.session import PopContent
from agentdesk.services.orders.cross_sell import CrossSellService, Suggestion
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.orders.cross_sell import CrossSellStrip


class PopCrossSell(QWidget):
    """Holds the strip for the call and customer the pop shows; replaces it when they change."""

    strip_changed = Signal(object)  # CrossSellStrip | None
    answered = Signal(object, object, bool)  # customer id, Suggestion, accepted

    def __init__(
        self, bridge: Bridge, service: CrossSellService, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("popCrossSell")
        self._bridge, self._service = bridge, service
        self._key: tuple[str, uuid.UUID] | None = None
        self.strip: CrossSellStrip | None = None
        self._box = QVBoxLayout(self)
        self._box.setContentsMargins(0, 0, 0, 0)
        self.hide()

    def follow(self, pop: PopContent | None) -> None:
        """Show the suggestion for ``pop``'s customer on its call (nothing without one)."""
        key = None if pop is None or pop.chosen is None else (pop.linkedid, pop.chosen)
        if key == self._key:
            return
        self._key = key
        if self.strip is not None:
            self._box.removeWidget(self.strip)
            self.strip.hide()
            self.strip.deleteLater()
            self.strip = None
        if key is not None:
            linkedid, customer_id = key
            strip = CrossSellStrip(
                self._bridge, self._service, customer_id, lambda: linkedid, parent=self
            )
            strip.answered.connect(
                lambda suggestion, accepted: self._on_strip_answered(
                    customer_id, suggestion, accepted
                )
            )
            self._box.addWidget(strip)
            self.strip = strip
        self.setVisible(key is not None)
        self.strip_changed.emit(self.strip)

    def _on_strip_answered(
        self, customer_id: uuid.UUID, suggestion: Suggestion, accepted: bool
    ) -> None:
        self.answered.emit(customer_id, suggestion, accepted)


def install_pop_cross_sell(window: Any, bridge: Bridge, service: CrossSellService) -> PopCrossSell:
    """Put the suggestion under the pop's card and keep it on the call the pop shows."""
    holder = PopCrossSell(bridge, service)
    window.pop.add_card_extra(holder)

    def follow(*_args: object) -> None:
        holder.follow(window.pop.content)

    controller = window.controller
    # After the window's own slots (connected first): the pop has shown the call by now.
    controller.pop_shown.connect(follow)
    controller.pop_dismissed.connect(follow)
    controller.wrapups.started.connect(follow)  # the call went to wrap-up: off the pop
    controller.wrapups.finished.connect(follow)
    window.pop.calls.currentChanged.connect(follow)  # the agent switched between calls

    def on_answered(customer_id: uuid.UUID, suggestion: Suggestion, accepted: bool) -> None:
        if not accepted:
            return
        workspace = window.open_customer(customer_id, caller=True)
        if hasattr(workspace, "open_order_dialog"):
            workspace.open_order_dialog(suggestion.product_code)

    holder.answered.connect(on_answered)
    return holder
