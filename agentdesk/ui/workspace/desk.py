"""Plugs the workspace into the main window: customer tabs, ticket docks, Ctrl+K search."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtGui import QShortcut

from agentdesk.ui.call_scope import install_call_scope
from agentdesk.ui.search.popup import SearchPopup, install_search_shortcut
from agentdesk.ui.shell_widgets import fit_columns
from agentdesk.ui.tickets.pane import TicketPane
from agentdesk.ui.workspace.context import WorkspaceContext
from agentdesk.ui.workspace.view import CustomerWorkspace


@dataclass
class WorkspaceDesk:
    """What ``install_workspace`` added, for tests and the app to reach."""

    search: SearchPopup
    shortcut: QShortcut
    my_tickets: TicketPane
    team_tickets: TicketPane
    # Run on every ticket pane: the two docks now, each customer tab's as it opens.
    pane_hooks: list[Callable[[TicketPane], object]] = field(default_factory=list)

    def on_ticket_panes(self, hook: Callable[[TicketPane], object]) -> None:
        """Apply ``hook`` to the docks' panes and to every customer tab's from now on."""
        self.pane_hooks.append(hook)
        hook(self.my_tickets)
        hook(self.team_tickets)


def install_workspace(window: Any, context: WorkspaceContext) -> WorkspaceDesk:
    """Use ``CustomerWorkspace`` for customer tabs and add ticket docks and search to ``window``.

    ``window`` is the :class:`agentdesk.ui.main_window.MainWindow` plug-in API:
    ``set_customer_view_factory``, ``open_customer``, ``add_dock``, ``request_dial``,
    ``search_requested``.
    """

    bus = context.changes
    hooks: list[Callable[[TicketPane], object]] = []

    def factory(customer_id: uuid.UUID, caller: bool) -> CustomerWorkspace:
        workspace = CustomerWorkspace(context, customer_id, caller)
        for hook in hooks:
            hook(workspace.tickets)
        workspace.dial_requested.connect(window.request_dial)
        workspace.customer_requested.connect(lambda cid: window.open_customer(cid))
        workspace.message_shown.connect(lambda text: window.statusBar().showMessage(text, 5000))
        if bus is not None:
            bus.changed.connect(workspace.apply_changes)
        return workspace

    window.set_customer_view_factory(factory)
    mine = TicketPane(context.bridge, context.tickets, "mine")
    team = TicketPane(context.bridge, context.tickets, "team")
    window.add_dock("my_tickets", "My tickets", mine)
    window.add_dock("team_tickets", "My team", team, tabify_with="my_tickets")
    for pane in (mine, team):
        fit_columns(pane.table)  # a right-hand pane is narrow at 1366 px: every column in it

    def refresh_both(_ticket_id: uuid.UUID) -> None:
        # A save in either dock can move the ticket into or out of the other.
        mine.refresh()
        team.refresh()

    for pane in (mine, team):
        pane.refresh()
        if bus is not None:
            bus.changed.connect(pane.apply_changes)  # the bus carries every save, here or not
        else:
            pane.ticket_saved.connect(refresh_both)
    popup = SearchPopup(context.bridge, context.search, window)
    if bus is not None:
        bus.changed.connect(popup.apply_changes)
    popup.customer_chosen.connect(lambda cid: window.open_customer(cid))

    def open_ticket(ticket_id: uuid.UUID, customer_id: uuid.UUID | None) -> None:
        if customer_id is None:
            mine.select_ticket(ticket_id)
            return
        workspace = window.open_customer(customer_id)
        if isinstance(workspace, CustomerWorkspace):
            workspace.activity_tabs.setCurrentWidget(workspace.tickets)
            workspace.tickets.select_ticket(ticket_id)

    popup.ticket_chosen.connect(open_ticket)

    def search_for(text: str) -> None:
        popup.box.setText(text)
        popup.open_search()

    if hasattr(window, "search_requested"):
        window.search_requested.connect(search_for)
    shortcut = install_search_shortcut(window, popup)
    install_call_scope(window)  # the ☎ marker, "On call" chip and reveals end with the call
    return WorkspaceDesk(popup, shortcut, mine, team, hooks)
