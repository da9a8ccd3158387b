"""One click to call back an abandoned caller from the agent's Reminders list.

A callback task a supervisor set from the abandoned-call worklist arrives as a
reminder ("Call back +44 7700 900123 (abandoned in cards after 2:10)").
:func:`install_callback_dial` adds "Call back" beside Done on the list's Due
tab: enabled when the selected reminder is such a task, it records the
callback (:class:`~agentdesk.services.desk.callback_tasks.CallbackTasks`, on
the bridge's local lane: timeline entry, reminder done) and then asks the PBX
to dial the number through the desk's click-to-dial (the server's call
requests). A double-click on a callback row does the same. A customer who asked
not to be phoned is refused in words and nothing is dialled.

A callback task given to a team is a ticket titled with the same words: the
detail of the ticket panes ("My tickets", "My team") gets the same "Call back"
(:func:`install_ticket_callbacks`), shown only while an open callback ticket is
loaded, with the same check, timeline entry and click-to-dial.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton

from agentdesk.services.desk.callback_tasks import CallbackTasks, PlacedCallback
from agentdesk.services.tickets.reminders import ReminderView
from agentdesk.services.tickets.views import TicketRow
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.followups import FollowUpsDesk, FollowUpsWindow
from agentdesk.ui.tickets.detail import TicketDetailPanel
from agentdesk.ui.tickets.pane import TicketPane


def _row_of(button: QPushButton) -> QHBoxLayout:
    """The row of buttons ``button`` sits in (the Due tab's, under its table)."""
    page = button.parentWidget()
    box = page.layout() if page is not None else None
    for n in range(box.count() if box is not None else 0):
        item = box.itemAt(n) if box is not None else None
        inner = item.layout() if item is not None else None
        if isinstance(inner, QHBoxLayout) and inner.indexOf(button) >= 0:
            return inner
    raise LookupError("the Reminders list has no row of buttons under its Due table")


class CallbackDial(QObject):
    """The Due tab's "Call back" button and what it does."""

    placed = Signal(object)  # PlacedCallback, after the dial was asked for
    refused = Signal(str)  # why nothing was dialled

    def __init__(
        self,
        view: FollowUpsWindow,
        bridge: Bridge,
        tasks: CallbackTasks,
        dial: Callable[[str], None],
    ) -> None:
        super().__init__(view)
        self._view, self._bridge, self._tasks, self._dial = view, bridge, tasks, dial
        self.button = QPushButton("Call &back", view)
        self.button.setObjectName("callback_dial_button")
        self.button.setToolTip("Dial the caller of this callback task and file the callback")
        # Beside Done, in the Due tab's row of buttons.
        _row_of(view.done_button).insertWidget(0, self.button)
        self._connect_signals()
        self._update()

    def _connect_signals(self) -> None:
        self.button.clicked.connect(self.call_back)
        self._view.due.modelReset.connect(self._update)
        self._view.due_table.selectionModel().selectionChanged.connect(self._update)
        self._view.due_table.doubleClicked.connect(self._on_due_double_clicked)

    def selected(self) -> ReminderView | None:
        """The selected due reminder (the only one, when there is one)."""
        rows = self._view.due_table.selectionModel().selectedRows()
        due = self._view.due
        row: ReminderView | None = due.row_at(rows[0].row() if rows else 0)
        return row if rows or due.rowCount() == 1 else None

    def _update(self, *_: Any) -> None:
        row = self.selected()
        self.button.setEnabled(row is not None and self._tasks.number_of(row) is not None)

    def _on_due_double_clicked(self, *_: Any) -> None:
        if self.button.isEnabled():
            self.call_back()

    def call_back(self) -> None:
        row = self.selected()
        if row is None or self._tasks.number_of(row) is None:
            self._view.show_message("Pick a callback task first.")
            return
        self.button.setEnabled(False)
        self._bridge.submit(
            self._tasks.place, row, on_done=self._on_placed, on_error=self._on_refused
        )

    def _on_placed(self, placed: PlacedCallback) -> None:
        self._dial(placed.number)
        self._view.show_message(f"Calling {placed.display}: the callback is on the timeline.")
        self.placed.emit(placed)

    def _on_refused(self, exc: BaseException) -> None:
        text = str(exc) or type(exc).__name__
        self._update()
        self._view.show_message(f"Not called: {text}.")
        self.refused.emit(text)


def install_callback_dial(
    followups: FollowUpsDesk, bridge: Bridge, tasks: CallbackTasks, dial: Callable[[str], None]
) -> CallbackDial:
    """Add "Call back" to the Reminders list of ``followups``; ``dial`` is click-to-dial."""
    return CallbackDial(followups.view, bridge, tasks, dial)


class TicketCallbackDial(QObject):
    """The "Call back" button of a ticket detail, for a callback ticket (module docstring)."""

    placed = Signal(object)  # PlacedCallback, after the dial was asked for
    refused = Signal(str)  # why nothing was dialled

    def __init__(
        self,
        detail: TicketDetailPanel,
        bridge: Bridge,
        tasks: CallbackTasks,
        dial: Callable[[str], None],
    ) -> None:
        super().__init__(detail)
        self._detail, self._bridge, self._tasks, self._dial = detail, bridge, tasks, dial
        self.button = QPushButton("Call &back", detail)
        self.button.setObjectName("ticket_callback_button")
        self.button.setAccessibleName("Call back the caller of this callback ticket")
        self.button.setToolTip("Dial the caller of this callback ticket and file the callback")
        detail.add_action(self.button)
        detail.ticket_loaded.connect(self._on_detail_ticket_loaded)
        self.button.clicked.connect(self.call_back)
        self._on_detail_ticket_loaded(detail.loaded)

    def _callable(self, row: TicketRow | None) -> bool:
        return row is not None and row.is_open and self._tasks.number_of_ticket(row) is not None

    def _on_detail_ticket_loaded(self, row: TicketRow | None) -> None:
        self.button.setVisible(self._callable(row))
        self.button.setEnabled(True)

    def call_back(self) -> None:
        row = self._detail.loaded
        if row is None or not self._callable(row):
            self._detail.message_shown.emit("Not called: this is not an open callback ticket.")
            return
        self.button.setEnabled(False)
        self._bridge.submit(
            self._tasks.place_ticket, row, on_done=self._on_placed, on_error=self._on_refused
        )

    def _on_placed(self, placed: PlacedCallback) -> None:
        self.button.setEnabled(True)
        self._dial(placed.number)
        where = "the timeline" if placed.interaction_id else "the ticket's comments"
        self._detail.message_shown.emit(
            f"Calling {placed.display}: the callback is on {where}; resolve the ticket with "
            "the outcome."
        )
        self.placed.emit(placed)
        loaded = self._detail.loaded
        if loaded is not None:
            self._detail.show_ticket(loaded.id)  # the linked call or comment shows at once

    def _on_refused(self, exc: BaseException) -> None:
        text = str(exc) or type(exc).__name__
        self.button.setEnabled(True)
        self._detail.message_shown.emit(f"Not called: {text}.")
        self.refused.emit(text)


def install_ticket_callbacks(
    panes: Iterable[TicketPane], bridge: Bridge, tasks: CallbackTasks, dial: Callable[[str], None]
) -> list[TicketCallbackDial]:
    """Add "Call back" to the detail of each ticket pane; ``dial`` is click-to-dial."""
    return [TicketCallbackDial(pane.detail, bridge, tasks, dial) for pane in panes]
