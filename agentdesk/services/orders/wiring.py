"""Building the order and cross-sell services for the desktop's composition root."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import Engine

from agentdesk.services.orders.catalogue import load_catalogue
from agentdesk.services.orders.cross_sell import CrossSellService, load_rules
from agentdesk.services.orders.service import OrderService
from agentdesk.services.scripts.engine import IdvCheck
from agentdesk.services.tickets.plan import TicketPlanner
from agentdesk.services.tickets.routing import load_rules as load_routing
from agentdesk.services.tickets.sla import SlaPolicy
from agentdesk.store.writer import LocalWriter


def order_services(
    engine: Engine,
    writer: LocalWriter,
    policy: SlaPolicy,
    agent_id: uuid.UUID | None,
    *,
    call_checks: Callable[[str], IdvCheck | None] | None = None,
) -> tuple[OrderService, CrossSellService]:
    """``orders`` and ``cross_sell`` for the workspace; the shipped files, checked at start.

    ``call_checks``: the agent's ID&V recorded in a call's script (it verifies for orders).
    """
    catalogue = load_catalogue()
    planner = TicketPlanner(engine, policy, load_routing(reasons=policy.reasons))
    return (
        OrderService(engine, writer, planner, catalogue, agent_id, call_checks=call_checks),
        CrossSellService(engine, writer, catalogue, load_rules(catalogue), agent_id),
    )
