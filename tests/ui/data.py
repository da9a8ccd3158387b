"""Small, explicit test data for the desktop tests (the demo seed is much bigger).

Rows are built once and inserted into every engine given, so a test can put
the same customer in the central store and in the local cache (as the sync
engine would) or in the central store only.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, insert

from agentdesk.ids import uuid7
from agentdesk.models import (
    Agent,
    Customer,
    CustomerPhone,
    Interaction,
    Product,
    Role,
    Ticket,
)
from agentdesk.services.crm.phone import normalise
from agentdesk.services.platform.auth import hash_password
from agentdesk.store.engine import write_session

PASSWORD = "correct horse"
_HASH = hash_password(PASSWORD)  # hashing is slow on purpose: do it once per test run


def _engines(engine: Engine | Sequence[Engine]) -> Sequence[Engine]:
    return (engine,) if isinstance(engine, Engine) else engine


def _insert(
    engines: Engine | Sequence[Engine], rows: list[tuple[Any, list[dict[str, Any]]]]
) -> None:
    for engine in _engines(engines):
        with write_session(engine) as s:
            for table, values in rows:
                if values:
                    s.execute(insert(table), values)


def add_agent(
    engine: Engine | Sequence[Engine],
    login: str = "alice",
    interface: str = "PJSIP/1001",
    *,
    active: bool = True,
) -> uuid.UUID:
    agent_id = uuid7()
    row = {
        "id": agent_id,
        "login": login,
        "display_name": f"{login.title()} Agent",
        "role": Role.AGENT,
        "password_hash": _HASH,
        "interface": interface,
        "extension": interface.split("/")[-1],
        "active": active,
        "created_at": dt.datetime.now(dt.UTC),
    }
    _insert(engine, [(Agent, [row])])
    return agent_id


def add_customer(
    engine: Engine | Sequence[Engine],
    name: str,
    phone: str | None,
    *,
    segment: str = "retail",
    products: int = 2,
    open_tickets: int = 1,
    interactions: int = 2,
) -> uuid.UUID:
    now = dt.datetime.now(dt.UTC)
    cid = uuid7()
    given, _, family = name.partition(" ")
    customer = {
        "id": cid,
        "kind": "person",
        "given_name": given,
        "family_name": family,
        "display_name": name,
        "segment": segment,
        "preferred_language": "en",
        "home_region": "GB",
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    phones = (
        []
        if phone is None
        else [
            {
                "id": uuid7(),
                "customer_id": cid,
                "label": "mobile",
                "number_raw": phone,
                "e164": normalise(phone).e164,
                "is_primary": True,
                "created_at": now,
            }
        ]
    )
    product_rows = [
        {
            "id": uuid7(),
            "customer_id": cid,
            "kind": "current",
            "name": f"Current account {i + 1}",
            "number": f"GB00TEST{i:010d}",
            "number_last4": f"{i + 1:04d}",
            "status": "active",
            "currency": "GBP",
            "source_system": "core-banking",
            "as_of": now,
        }
        for i in range(products)
    ]
    tickets = [
        {
            "id": uuid7(),
            "number": f"T-{uuid.uuid4().hex[:10].upper()}",
            "customer_id": cid,
            "reason": "card",
            "title": f"Replacement card {i + 1}",
            "priority": "normal",
            "severity": "minor",
            "status": "open",
            "escalation_level": 0,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(open_tickets)
    ]
    history = [
        {
            "id": uuid7(),
            "customer_id": cid,
            "channel": "phone",
            "direction": "inbound",
            "started_at": now - dt.timedelta(days=i + 1),
            "subject": f"Earlier call {i + 1}",
            "disposition_code": "info",
            "created_at": now,
        }
        for i in range(interactions)
    ]
    _insert(
        engine,
        [
            (Customer, [customer]),
            (CustomerPhone, phones),
            (Product, product_rows),
            (Ticket, tickets),
            (Interaction, history),
        ],
    )
    return cid
