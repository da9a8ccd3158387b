"""The services and bridge every workspace widget needs, passed in one value by the app."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from agentdesk.services.corebank.models import LiveProducts
from agentdesk.services.crm.customers import CustomerService
from agentdesk.services.crm.search import Searcher
from agentdesk.services.crm.timeline import TimelineService
from agentdesk.services.desk.screen_pop import CallInfo
from agentdesk.services.orders.cross_sell import CrossSellService
from agentdesk.services.orders.service import OrderService
from agentdesk.services.tickets.service import TicketService
from agentdesk.ui.bridge import Bridge
from agentdesk.ui.change_bus import ChangeBus


@dataclass(frozen=True)
class WorkspaceContext:
    """Built once by the composition root (``app.py``) for the signed-in agent."""

    bridge: Bridge
    customers: CustomerService
    timeline: TimelineService
    tickets: TicketService
    search: Searcher
    agent_id: uuid.UUID | None = None
    home_region: str = "GB"
    changes: ChangeBus | None = None  # every local write and pulled change, on the GUI thread
    # Live balances and recent transactions through the server (None: offline, CRM values).
    live_products: Callable[[uuid.UUID], LiveProducts] | None = None
    # Orders and cross-sell (issue 13); the call in progress gives the order its ID&V.
    orders: OrderService | None = None
    cross_sell: CrossSellService | None = None
    current_call: Callable[[], CallInfo | None] | None = None
