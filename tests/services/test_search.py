"""As-you-type search over the trigger-maintained index, on SQLite FTS5 and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, delete, insert, update

from agentdesk.ids import uuid7
from agentdesk.models import Customer, CustomerPhone, Ticket
from agentdesk.services.crm.search import SearchService
from agentdesk.services.crm.search_query import QueryKind, parse_query
from tests.ui_workspace.builders import BASE_TIME, add_customer, add_many_customers


@pytest.fixture
def populated(central: Engine) -> Engine:
    add_many_customers(central, 300)
    return central


def _names(service: SearchService, text: str) -> list[str]:
    return [hit.title for hit in service.search(text).hits]


@pytest.mark.parametrize(
    ("typed", "kind"),
    [
        ("+44 7700 900123", QueryKind.PHONE),
        ("07700-900-123 (mobile)", QueryKind.PHONE),
        ("tel:00447700900123", QueryKind.PHONE),
        ("amelia.okafor@exa", QueryKind.EMAIL),
        ("••••7766", QueryKind.ACCOUNT),
        ("t-06f8-1a", QueryKind.TICKET),
        ("Tom", QueryKind.NAME),
        ("Okaf", QueryKind.NAME),
        ("a", QueryKind.EMPTY),
        ("\u200f\u200e", QueryKind.EMPTY),
        ("x" * 5000, QueryKind.EMPTY),
        ("123", QueryKind.EMPTY),
    ],
)
def test_queries_are_classified(typed: str, kind: QueryKind) -> None:
    assert parse_query(typed).kind is kind


def test_phone_in_any_format_finds_the_customer(populated: Engine) -> None:
    add_customer(populated)
    service = SearchService(populated)
    for typed in [
        "+44 7700 900123",
        "07700 900123",
        "0044 (0)7700-900123",
        "tel:+447700900123",
        "07700900",
        "7700 900123",
        "call me on 07700 900 123 please",
    ]:
        assert "Amelia Okafor" in _names(service, typed), typed
    hit = service.search("07700 900123").hits[0]
    assert hit.matched == "phone" and "7700 900123" in hit.detail


def test_name_prefixes_any_script_and_diacritics(populated: Engine) -> None:
    add_customer(populated, "Zoë", "Østergård", phone="+447700900555", email="zoe@example.dk")
    add_customer(populated, "美咲", "佐藤", phone="+447700900556", email="misaki@example.jp")
    service = SearchService(populated)
    assert _names(service, "zoe østerga")[0] == "Zoë Østergård"
    assert "Zoë Østergård" in _names(service, "ZOË ØST")
    assert _names(service, "佐藤") == ["美咲 佐藤"]
    results = service.search("ok")
    assert results.kind is QueryKind.NAME and 0 < len(results.hits) <= 20


def test_email_account_and_ticket_lookups(populated: Engine) -> None:
    cid = add_customer(populated, account="40031299887766")
    with populated.begin() as conn:
        conn.execute(
            insert(Ticket),
            [
                {
                    "id": uuid7(),
                    "number": "T-06F8-1A2B-3C4D-5E6F",
                    "customer_id": cid,
                    "reason": "card_lost",
                    "title": "Card lost abroad",
                    "priority": "high",
                    "severity": "minor",
                    "status": "open",
                    "version": 1,
                    "escalation_level": 0,
                    "created_at": BASE_TIME,
                    "updated_at": BASE_TIME,
                }
            ],
        )
    service = SearchService(populated)
    assert _names(service, "Amelia.Okafor@Example")[0] == "Amelia Okafor"
    assert "Amelia Okafor" in _names(service, "7766")
    ticket = service.search("T-06F8-1A2").hits
    assert [h.kind for h in ticket] == ["ticket"] and ticket[0].customer_id == cid
    assert "Card lost abroad" in ticket[0].title
    assert service.search("t06f81a2b3c4d").hits[0].id == ticket[0].id
    assert service.search("T-O6F8").hits[0].id == ticket[0].id  # O typed for 0


def test_index_follows_edits_and_deletes(populated: Engine) -> None:
    cid = add_customer(populated)
    service = SearchService(populated)
    with populated.begin() as conn:
        conn.execute(
            update(Customer).where(Customer.id == cid).values(display_name="Amelia Mensah")
        )
        conn.execute(
            update(CustomerPhone)
            .where(CustomerPhone.customer_id == cid, CustomerPhone.e164 == "+447700900123")
            .values(e164="+447700900999", number_raw="07700 900999")
        )
    assert _names(service, "mensah") == ["Amelia Mensah"]
    assert "Amelia Mensah" in _names(service, "07700 900999")
    assert "Amelia Mensah" not in _names(service, "07700 900123")
    with populated.begin() as conn:
        conn.execute(
            update(Customer)
            .where(Customer.id == cid)
            .values(deleted_at=BASE_TIME + dt.timedelta(days=1))
        )
    assert _names(service, "07700 900999") == []
    with populated.begin() as conn:
        conn.execute(delete(Customer).where(Customer.id == cid))
    assert _names(service, "mensah") == []


@pytest.mark.parametrize(
    "garbage",
    [
        '"',
        "*",
        "AND",
        "a OR b",
        "name:x",
        "'; DROP TABLE x;--",
        "NEAR(a b)",
        "\x00\x01",
        "🙂🙂",
        "(",
        "^x",
        "x" * 199,
    ],
)
def test_hostile_text_never_raises(populated: Engine, garbage: str) -> None:
    results = SearchService(populated).search(garbage)
    assert isinstance(results.hits, tuple)
