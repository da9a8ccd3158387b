"""Small, explicit test data for the desktop tests (the demo seed is much bigger)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Engine

from agentdesk.models import (
    Agent,
    Channel,
    ContactLabel,
    Customer,
    CustomerKind,
    CustomerPhone,
    Direction,
    Interaction,
    Product,
    ProductKind,
    Role,
    Ticket,
    TicketStatus,
)
from agentdesk.services.auth import hash_password
from agentdesk.services.phone import normalise
from agentdesk.store.engine import write_session

PASSWORD = "correct horse"
_HASH = hash_password(PASSWORD)  # hashing is slow on purpose: do it once per test run


def add_agent(
    engine: Engine, login: str = "alice", interface: str = "PJSIP/1001", *, active: bool = True
) -> uuid.UUID:
    agent = Agent(
        login=login,
        display_name=f"{login.title()} Agent",
        role=Role.AGENT,
        password_hash=_HASH,
        interface=interface,
        extension=interface.split("/")[-1],
        active=active,
    )
    with write_session(engine) as s:
        s.add(agent)
    return agent.id


def add_customer(
    engine: Engine,
    name: str,
    phone: str | None,
    *,
    segment: str = "retail",
    products: int = 2,
    open_tickets: int = 1,
    interactions: int = 2,
) -> uuid.UUID:
    now = dt.datetime.now(dt.UTC)
    given, _, family = name.partition(" ")
    customer = Customer(
        kind=CustomerKind.PERSON,
        given_name=given,
        family_name=family,
        display_name=name,
        segment=segment,
    )
    with write_session(engine) as s:
        s.add(customer)
        s.flush()
        if phone is not None:
            s.add(
                CustomerPhone(
                    customer_id=customer.id,
                    label=ContactLabel.MOBILE,
                    number_raw=phone,
                    e164=normalise(phone).e164,
                    is_primary=True,
                )
            )
        for i in range(products):
            s.add(
                Product(
                    customer_id=customer.id,
                    kind=ProductKind.CURRENT,
                    name=f"Current account {i + 1}",
                    number=f"GB00TEST{i:010d}",
                    number_last4=f"{i:04d}"[-4:],
                )
            )
        for i in range(open_tickets):
            s.add(
                Ticket(
                    number=f"T-{uuid.uuid4().hex[:10]}",
                    customer_id=customer.id,
                    reason="card",
                    title=f"Replacement card {i + 1}",
                    status=TicketStatus.OPEN,
                )
            )
        for i in range(interactions):
            s.add(
                Interaction(
                    customer_id=customer.id,
                    channel=Channel.PHONE,
                    direction=Direction.INBOUND,
                    started_at=now - dt.timedelta(days=i + 1),
                    subject=f"Earlier call {i + 1}",
                    disposition_code="info",
                )
            )
    return customer.id
