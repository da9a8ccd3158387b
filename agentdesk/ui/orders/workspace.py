"""What the customer workspace asks of this package: the strip and the dialog, if wired."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from PySide6.QtWidgets import QWidget

from agentdesk.services.desk.screen_pop import CallInfo
from agentdesk.ui.orders.cross_sell import CrossSellStrip
from agentdesk.ui.orders.dialog import OrderDialog
from agentdesk.ui.workspace.context import WorkspaceContext


def cross_sell_strip(
    ctx: WorkspaceContext, customer_id: uuid.UUID, linkedid: Callable[[], str | None]
) -> CrossSellStrip | None:
    """The suggestion strip, or ``None`` when the app has no cross-sell service."""
    if ctx.cross_sell is None:
        return None
    return CrossSellStrip(ctx.bridge, ctx.cross_sell, customer_id, linkedid)


def order_dialog(
    ctx: WorkspaceContext,
    customer_id: uuid.UUID,
    call: CallInfo | None,
    product_code: str | None,
    parent: QWidget,
) -> OrderDialog | None:
    """The order dialog, with the call's IVR findings and the ID&V the agent recorded in
    the call's script, when the customer is on the line."""
    if ctx.orders is None:
        return None
    ivr = call.ivr if call is not None else None
    orders, linkedid = ctx.orders, call.linkedid if call is not None else None
    return OrderDialog(
        ctx.bridge,
        ctx.orders,
        customer_id,
        ivr,
        preselect=product_code,
        script=lambda: orders.call_check(linkedid),
        parent=parent,
    )
