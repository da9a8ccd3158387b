"""Bulk test data for the workspace, timeline, ticket and search tests and the benchmark.

Rows go in with Core ``insert`` executemany batches (not ORM objects one by
one) so 100 000 interactions take about a second and a million customers a
few minutes. Values are deterministic for a given seed.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, insert

from agentdesk.ids import uuid7
from agentdesk.models import (
    Agent,
    Customer,
    CustomerAddress,
    CustomerEmail,
    CustomerPhone,
    IdentityDocument,
    Interaction,
    Product,
    Team,
    agent_team,
)
from agentdesk.store.field_crypto import FieldKeyring, field_context

GIVEN = [
    "Amelia",
    "Oliver",
    "Isla",
    "George",
    "Ava",
    "Noah",
    "Mia",
    "Arthur",
    "Zoë",
    "José",
    "Aisha",
    "Mohammed",
    "Wei",
    "Yuki",
    "Olga",
    "Siobhán",
    "Kwame",
    "Priya",
    "Łukasz",
    "Chloé",
]
FAMILY = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Nowak",
    "O'Brien",
    "Müller",
    "García",
    "Kowalski",
    "Nguyen",
    "Khan",
    "Murphy",
    "Rossi",
    "Dubois",
    "Andersson",
    "Okafor",
    "Tanaka",
    "Ivanova",
    "Cohen",
    "Singh",
]
CHANNELS = ["phone", "email", "chat", "web", "branch", "sms", "social", "ivr"]
TOPICS = ["a card", "a payment", "fees"]
BASE_TIME = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
# The "server's" field key for rows these builders write encrypted, as the centre would.
FIELD_KEYRING = FieldKeyring.generate("test")


@dataclass(frozen=True)
class Org:
    """Ids of the agents and team the tests log in as."""

    team_id: uuid.UUID
    agent_id: uuid.UUID
    other_agent_id: uuid.UUID


def _batches(rows: Iterator[dict[str, Any]], size: int = 5000) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert(engine: Engine, table: Any, rows: Iterator[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        for batch in _batches(rows):
            conn.execute(insert(table), batch)


def add_org(engine: Engine, team: str = "Cards") -> Org:
    """One team with two agents (alice, bob)."""
    team_id, alice, bob = uuid7(), uuid7(), uuid7()
    with engine.begin() as conn:
        conn.execute(insert(Team), [{"id": team_id, "name": team}])
        conn.execute(
            insert(Agent),
            [
                {
                    "id": alice,
                    "login": "alice",
                    "display_name": "Alice Agent",
                    "password_hash": "x",
                    "role": "agent",
                    "active": True,
                    "created_at": BASE_TIME,
                },
                {
                    "id": bob,
                    "login": "bob",
                    "display_name": "Bob Agent",
                    "password_hash": "x",
                    "role": "agent",
                    "active": True,
                    "created_at": BASE_TIME,
                },
            ],
        )
        conn.execute(
            insert(agent_team),
            [{"agent_id": alice, "team_id": team_id}, {"agent_id": bob, "team_id": team_id}],
        )
    return Org(team_id, alice, bob)


def _customer_row(cid: uuid.UUID, given: str, family: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "kind": "person",
        "given_name": given,
        "family_name": family,
        "display_name": f"{given} {family}",
        "segment": extra.pop("segment", "retail"),
        "preferred_language": extra.pop("preferred_language", "en"),
        "preferred_channel": "phone",
        "marketing_opt_out": extra.pop("marketing_opt_out", False),
        "vulnerable": extra.pop("vulnerable", False),
        "legal_hold": extra.pop("legal_hold", False),
        "home_region": "GB",
        "version": 1,
        "created_at": BASE_TIME,
        "updated_at": BASE_TIME,
        **_birth(cid, extra.pop("date_of_birth", dt.date(1980, 5, 17))),
        **extra,
    }


def _birth(cid: uuid.UUID, born: dt.date | None) -> dict[str, Any]:
    """The stored form of a date of birth: the year, and its ciphertext under FIELD_KEYRING."""
    if born is None:
        return {"birth_year": None, "date_of_birth_enc": None}
    context = field_context("customer", "date_of_birth", cid)
    return {
        "birth_year": born.year,
        "date_of_birth_enc": FIELD_KEYRING.encrypt(born.isoformat(), context),
    }


def add_customer(
    engine: Engine,
    given: str = "Amelia",
    family: str = "Okafor",
    *,
    phone: str = "+447700900123",
    email: str = "amelia.okafor@example.co.uk",
    account: str = "40031299887766",
    **extra: Any,
) -> uuid.UUID:
    """One fully populated customer: phone, e-mail, address, passport, current account, card."""
    cid = uuid7()
    _insert(engine, Customer, iter([_customer_row(cid, given, family, **extra)]))
    _insert(
        engine,
        CustomerPhone,
        iter(
            [
                {
                    "id": uuid7(),
                    "customer_id": cid,
                    "label": "mobile",
                    "number_raw": phone,
                    "e164": phone,
                    "is_primary": True,
                    "created_at": BASE_TIME,
                },
                {
                    "id": uuid7(),
                    "customer_id": cid,
                    "label": "home",
                    "number_raw": "020 7946 0958",
                    "e164": "+442079460958",
                    "is_primary": False,
                    "created_at": BASE_TIME,
                },
            ]
        ),
    )
    _insert(
        engine,
        CustomerEmail,
        iter(
            [
                {
                    "id": uuid7(),
                    "customer_id": cid,
                    "label": "personal",
                    "address": email,
                    "address_norm": email.lower(),
                    "is_primary": True,
                    "created_at": BASE_TIME,
                }
            ]
        ),
    )
    _insert(
        engine,
        CustomerAddress,
        iter(
            [
                {
                    "id": uuid7(),
                    "customer_id": cid,
                    "label": "home",
                    "line1": "12 Acacia Avenue",
                    "line2": None,
                    "city": "Leeds",
                    "region": "West Yorkshire",
                    "postal_code": "LS1 4AP",
                    "country": "GB",
                    "created_at": BASE_TIME,
                }
            ]
        ),
    )
    _insert(
        engine,
        IdentityDocument,
        iter(
            [
                {
                    "id": (doc_id := uuid7()),
                    "customer_id": cid,
                    "kind": "passport",
                    "number_masked": "•••••1298",
                    "number_enc": FIELD_KEYRING.encrypt(
                        "533401298", field_context("identity_document", "number", doc_id)
                    ),
                    "issuing_country": "GB",
                    "expires_on": dt.date(2031, 3, 1),
                    "verified": True,
                    "created_at": BASE_TIME,
                }
            ]
        ),
    )
    _insert(
        engine,
        Product,
        iter(
            [
                {
                    "id": uuid7(),
                    "customer_id": cid,
                    "kind": "current",
                    "name": "Everyday Current Account",
                    "number": account,
                    "number_last4": account[-4:],
                    "token": None,
                    "card_bin": None,
                    "status": "active",
                    "balance": Decimal("1523.40"),
                    "currency": "GBP",
                    "opened_on": dt.date(2015, 6, 1),
                    "source_system": "core-banking",
                    "as_of": BASE_TIME,
                },
                {
                    "id": uuid7(),
                    "customer_id": cid,
                    "kind": "card",
                    "name": "Platinum Credit Card",
                    "number": None,
                    "number_last4": "1234",
                    "token": "tok_5f2c9a41e07b",
                    "card_bin": "492912",
                    "status": "blocked",
                    "balance": Decimal("-240.15"),
                    "currency": "GBP",
                    "opened_on": dt.date(2019, 2, 11),
                    "source_system": "cards",
                    "as_of": BASE_TIME,
                },
            ]
        ),
    )
    return cid


def add_many_customers(engine: Engine, count: int, seed: int = 7) -> list[uuid.UUID]:
    """``count`` customers with one mobile, one e-mail and one account each (bulk)."""
    rng = random.Random(seed)
    ids = [uuid7() for _ in range(count)]
    names = [(rng.choice(GIVEN), rng.choice(FAMILY)) for _ in ids]
    _insert(
        engine, Customer, (_customer_row(cid, g, f) for cid, (g, f) in zip(ids, names, strict=True))
    )
    _insert(
        engine,
        CustomerPhone,
        (
            {
                "id": uuid7(),
                "customer_id": cid,
                "label": "mobile",
                "number_raw": f"07700 {n % 1_000_000:06d}",
                "e164": f"+447700{n % 1_000_000:06d}",
                "is_primary": True,
                "created_at": BASE_TIME,
            }
            for n, cid in enumerate(ids)
        ),
    )
    _insert(
        engine,
        CustomerEmail,
        (
            {
                "id": uuid7(),
                "customer_id": cid,
                "label": "personal",
                "address": f"{g}.{f}{n}@example.com",
                "address_norm": f"{g}.{f}{n}@example.com".lower(),
                "is_primary": True,
                "created_at": BASE_TIME,
            }
            for n, (cid, (g, f)) in enumerate(zip(ids, names, strict=True))
        ),
    )
    _insert(
        engine,
        Product,
        (
            {
                "id": uuid7(),
                "customer_id": cid,
                "kind": "current",
                "name": "Current Account",
                "number": f"4003{n:010d}",
                "number_last4": f"{n:010d}"[-4:],
                "status": "active",
                "balance": Decimal("100.00"),
                "currency": "GBP",
                "opened_on": None,
                "source_system": "core-banking",
                "as_of": BASE_TIME,
            }
            for n, cid in enumerate(ids)
        ),
    )
    return ids


def add_interactions(
    engine: Engine,
    customer_id: uuid.UUID,
    count: int,
    agent_ids: Sequence[uuid.UUID] = (),
    seed: int = 11,
    start: dt.datetime = BASE_TIME,
) -> None:
    """``count`` interactions, one every 7 minutes going back from ``start``, all channels."""
    rng = random.Random(seed)

    def rows() -> Iterator[dict[str, Any]]:
        for n in range(count):
            started = start - dt.timedelta(minutes=7 * n)
            channel = CHANNELS[n % len(CHANNELS)]
            talk = rng.randint(30, 900)
            yield {
                "id": uuid7(),
                "customer_id": customer_id,
                "channel": channel,
                "direction": "inbound" if n % 3 else "outbound",
                "started_at": started,
                "ended_at": started + dt.timedelta(seconds=talk),
                "agent_id": agent_ids[n % len(agent_ids)] if agent_ids else None,
                "queue": "cards",
                "disposition_code": "resolved" if n % 4 else "follow_up",
                "subject": f"Contact #{count - n} about {rng.choice(TOPICS)}",
                "notes": f"Customer asked about item {n}. Explained the options; agreed next steps.",  # noqa: E501
                "talk_seconds": talk,
                "created_at": started,
            }

    _insert(engine, Interaction, rows())


def add_interactions_sql(engine: Engine, customer_id: uuid.UUID, count: int) -> None:
    """Like ``add_interactions`` but generated inside SQLite by one statement (100 000 in ~0.5 s).

    Same shape of data: one entry every 7 minutes back from ``BASE_TIME``, channels in turn.
    """
    channels = " ".join(f"WHEN {n} THEN '{c}'" for n, c in enumerate(CHANNELS))
    base = BASE_TIME.replace(tzinfo=None).isoformat(sep=" ")
    sql = f"""
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :count - 1)
        INSERT INTO interaction (id, customer_id, channel, direction, started_at, ended_at,
            queue, disposition_code, subject, notes, talk_seconds, created_at)
        SELECT lower(hex(randomblob(16))), :cid, CASE i % 8 {channels} END,
            CASE WHEN i % 3 THEN 'inbound' ELSE 'outbound' END,
            strftime('%Y-%m-%d %H:%M:%f000', :base, '-' || (7 * i) || ' minutes'),
            strftime('%Y-%m-%d %H:%M:%f000', :base, '-' || (7 * i) || ' minutes', '+300 seconds'),
            'cards', CASE WHEN i % 4 THEN 'resolved' ELSE 'follow_up' END,
            'Contact #' || (:count - i) || ' about ' || CASE i % 3 WHEN 0 THEN 'a card'
                WHEN 1 THEN 'a payment' ELSE 'fees' END,
            'Customer asked about item ' || i || '. Explained the options; agreed next steps.',
            300, strftime('%Y-%m-%d %H:%M:%f000', :base, '-' || (7 * i) || ' minutes')
        FROM n"""
    with engine.begin() as conn:
        conn.exec_driver_sql(sql, {"count": count, "cid": customer_id.hex, "base": base})
