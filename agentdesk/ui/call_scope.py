"""What belongs to a call goes with it: markers, chips, revealed values and call messages.

When a call ends (hung up, withdrawn, rang out) the customer tabs of callers no longer
on the line lose their ☎ marker and "On call" chip, and any value revealed there is
masked again. A new offer clears the last call's status message ("Call withdrawn: …",
"Missed call …"), so it does not read as news about the call now ringing.
"""

from __future__ import annotations

import uuid
from typing import Any

from agentdesk.services.desk.screen_pop import CallChange, CallPhase, ChangeKind
from agentdesk.services.desk.session import PopContent
from agentdesk.ui.workspace.view import CustomerWorkspace

CALL_MARK = "☎ "
CALL_MESSAGES = ("Call withdrawn", "Missed call")  # the status notices a call leaves


def install_call_scope(window: Any) -> None:
    """Tie ``window``'s call-scoped state (the main window's plug-in API) to its calls."""
    needs = ("controller", "workspace_tabs", "status", "customer_opened")
    if not all(hasattr(window, name) for name in needs):
        return  # a bare host (tests of the workspace alone): no calls to scope
    controller = window.controller
    offers: list[str] = []  # the last offer seen, to tell a new call from a refresh

    def on_call_changed(change: CallChange) -> None:
        if change.kind is ChangeKind.CONNECTED:
            clear_call_message()  # on a call now: the last one's message is old news
            return
        if change.kind not in (ChangeKind.ENDED, ChangeKind.DISMISSED):
            return
        on_line = {p.chosen for p in controller.pops.values() if p.chosen is not None}
        tabs = window.workspace_tabs
        for index in range(tabs.count()):
            widget = tabs.widget(index)
            if isinstance(widget, CustomerWorkspace) and widget.customer_id not in on_line:
                widget.set_on_call(False)
                text = tabs.tabText(index)
                if text.startswith(CALL_MARK):
                    tabs.setTabText(index, text[len(CALL_MARK) :])

    def on_customer_opened(customer_id: uuid.UUID, caller: bool) -> None:
        if not caller:
            return
        for index in range(window.workspace_tabs.count()):
            widget = window.workspace_tabs.widget(index)
            if isinstance(widget, CustomerWorkspace) and widget.customer_id == customer_id:
                widget.set_on_call(True)  # a caller again: the chip comes back with the ☎

    def on_pop_shown(pop: PopContent) -> None:
        if pop.call.phase is not CallPhase.RINGING or pop.linkedid in offers:
            return
        offers[:] = [pop.linkedid]
        clear_call_message()

    def clear_call_message() -> None:
        notice = window.status.notice
        if notice.text().startswith(CALL_MESSAGES):
            notice.clear()
            notice.setToolTip("")

    controller.call_changed.connect(on_call_changed)
    controller.pop_shown.connect(on_pop_shown)
    window.customer_opened.connect(on_customer_opened)
