"""The 360 view's live products: balances and recent transactions from the core-banking system.

Authorised as the other customer reads: the desktop must have been handed
this customer (search or pop) unless its role holds every customer. The
answer always arrives within the core system's timeout: when the core
system is slow, down or answers garbage it carries the last known values,
``stale`` and their ``as_of`` time, never an error the agent cannot act on.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from agentdesk.server.api.customers import _require_pinned
from agentdesk.server.auth import CurrentPrincipal
from agentdesk.server.context import ClientId, Ctx
from agentdesk.server.problems import Problem
from agentdesk.services.corebank.models import LiveProducts

router = APIRouter(prefix="/customers", tags=["core banking"])


@router.get("/{customer_id}/products-live", response_model=LiveProducts)
def products_live(
    customer_id: uuid.UUID,
    client_id: ClientId,
    principal: CurrentPrincipal,
    ctx: Ctx,
) -> Any:
    """Products, balances and recent transactions, live or last known (``stale``, ``as_of``)."""
    _require_pinned(ctx, principal, client_id, customer_id)
    if ctx.corebank is None:
        raise Problem(
            503, "no-corebank", "Live balances are off", "The server reads no core system."
        )
    return ctx.corebank.read(customer_id)
