"""A new customer from an unknown caller's screen pop: name plus the number that rang.

Written through the :class:`LocalWriter` as ``customer.create`` (the same
mutation the customer workspace uses), so it lands in the local cache at
once and reaches the centre through the outbox.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from agentdesk.ids import uuid7
from agentdesk.models import ContactLabel, CustomerKind
from agentdesk.services.crm.phone import normalise
from agentdesk.store.mutation_args.base import rejecting
from agentdesk.store.mutation_args.customers import CustomerCreate, PhoneArgs
from agentdesk.store.mutations import MutationRejected
from agentdesk.store.writer import LocalWriter

MAX_NAME = 200


class QuickCustomerError(ValueError):
    """Input the agent must correct; ``field`` names it."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class QuickCustomer:
    given_name: str
    family_name: str
    number: str
    segment: str = "retail"


class QuickCustomerService:
    """Creates a minimal person record with the caller's number."""

    def __init__(self, writer: LocalWriter, region: str = "GB") -> None:
        self._writer = writer
        self._region = region

    def create(self, new: QuickCustomer) -> uuid.UUID:
        given, family = new.given_name.strip(), new.family_name.strip()
        if not (given or family):
            raise QuickCustomerError("Enter the caller's name.", "family_name")
        if len(given) > MAX_NAME or len(family) > MAX_NAME:
            raise QuickCustomerError(f"Names are limited to {MAX_NAME} characters.", "family_name")
        number = normalise(new.number, self._region)
        if new.number.strip() and number.lookup_key is None:
            raise QuickCustomerError(
                f"{new.number!r} is not a phone number: {number.reason}", "number"
            )
        customer_id = uuid7()
        try:
            with rejecting("customer.create"):
                phones = (
                    [
                        PhoneArgs(
                            id=uuid7(),
                            label=ContactLabel.MOBILE,
                            number_raw=new.number.strip(),
                            e164=number.e164,
                            is_primary=True,
                        )
                    ]
                    if number.e164
                    else []
                )
                args = CustomerCreate(
                    id=customer_id,
                    kind=CustomerKind.PERSON,
                    given_name=given or None,
                    family_name=family or None,
                    segment=new.segment,
                    phones=phones,
                )
            self._writer.write("customer.create", args)
        except MutationRejected as exc:
            raise QuickCustomerError(str(exc), exc.field or "family_name") from exc
        return customer_id
