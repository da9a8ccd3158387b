"""Arguments of ``order.place``: a product ordered for a verified customer.

The order is a fulfilment ticket (``ticket``, reason ``product_order``, routed and with
SLA due times as any new ticket) plus what makes it an order: the catalogue product and
how the caller was verified. Eligibility and verification are decided again on the
server before the mutator runs (``server/authz.py``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import model_validator

from agentdesk.store.mutation_args.base import Choice, MutationArgs, Text, reject
from agentdesk.store.mutation_args.tickets import TicketCreate

ORDER_REASON = "product_order"


class VerifiedBy(StrEnum):
    """Who verified the caller's identity for the order."""

    IVR = "ivr"
    AGENT = "agent"


class OrderPlace(MutationArgs):
    """``order.place``: open the order's fulfilment ticket; a replayed ticket id changes nothing."""

    mutation = "order.place"

    ticket: TicketCreate
    product_code: Annotated[str, Text(40, required=True)]
    verified_by: Annotated[VerifiedBy, Choice(VerifiedBy)]
    verification_method: Annotated[str, Text(32, required=True)]

    @model_validator(mode="after")
    def _is_an_order(self) -> Self:
        if self.ticket.reason != ORDER_REASON:
            raise reject(f"an order's ticket has reason {ORDER_REASON}", "ticket.reason")
        if self.ticket.customer_id is None:
            raise reject("an order is placed for a customer", "ticket.customer_id")
        return self
