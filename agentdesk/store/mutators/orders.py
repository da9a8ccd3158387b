"""The ``order.place`` mutator: the fulfilment ticket plus the order's facts in its history.

The ticket is created exactly as ``ticket.create`` creates one (routing decision, SLA
clocks, team assignment on the centre); the product ordered and how the caller was
verified are appended to the ticket's history (``order_product``, ``order_verified``),
so every cache that holds the ticket holds the order, and the notification intake sees
the order's events in the change feed like any ticket event.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from agentdesk.models import Ticket
from agentdesk.store.mutation_args.orders import OrderPlace
from agentdesk.store.mutations import MutationContext, MutationOutcome, mutator
from agentdesk.store.mutators.tickets import _history, create_ticket

PRODUCT_FIELD = "order_product"
VERIFIED_FIELD = "order_verified"


@mutator("order.place", "ticket", OrderPlace)
def place_order(session: Session, args: OrderPlace, ctx: MutationContext) -> MutationOutcome:
    """Create the order's ticket and record the product and the verification (``OrderPlace``)."""
    created = create_ticket(session, args.ticket, ctx)
    if created.result.get("status") == "exists":
        return created
    row = session.get(Ticket, args.ticket.id)
    assert row is not None  # just created in this transaction
    method = f"{args.verified_by.value}:{args.verification_method}"
    created.changed += [
        _history(session, row, ctx, PRODUCT_FIELD, None, args.product_code),
        _history(session, row, ctx, VERIFIED_FIELD, None, method),
    ]
    session.flush()
    created.result["product_code"] = args.product_code
    return created
