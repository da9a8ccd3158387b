"""Every mutation's typed arguments refuse a wrong type, too long a text and an unknown key,
naming the field, on the desktop (``LocalWriter``) and at the centre (a pushed batch)."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from agentdesk.ids import uuid7
from agentdesk.models import CallRecord, Interaction, OutboxEntry
from agentdesk.server import problems
from agentdesk.server.api import mutations as mutations_api
from agentdesk.server.auth import current_principal
from agentdesk.store.engine import read_session
from agentdesk.store.mutation_args.base import MutationRejected
from agentdesk.store.mutation_args.interactions import CallRecordArgs, InteractionAdd
from agentdesk.store.mutations import args_types
from agentdesk.store.sync import CentralStore
from agentdesk.store.sync.protocol import PushEntry
from agentdesk.store.writer import LocalWriter
from tests.sync.conftest import Desk, make_cache
from tests.sync.factories import person

NOW = "2026-12-03T09:00:00+00:00"


def _valid() -> dict[str, dict[str, Any]]:
    """The smallest valid arguments of each mutation (references need not exist to parse)."""
    return {
        "interaction.add": {
            "id": uuid7(),
            "channel": "phone",
            "direction": "inbound",
            "started_at": NOW,
        },
        "ticket.create": {"id": uuid7(), "reason": "card_lost", "title": "Card lost"},
        "ticket.update": {"id": uuid7(), "changes": {"priority": "high"}},
        "ticket.reopen": {"id": uuid7()},
        "ticket.comment": {"id": uuid7(), "ticket_id": uuid7(), "body": "Called back"},
        "customer.create": {"id": uuid7(), "kind": "person", "family_name": "Lovelace"},
        "customer.patch": {"id": uuid7(), "changes": {"segment": "premier"}},
        "customer.add_phone": {"customer_id": uuid7(), "label": "mobile", "number_raw": "07700"},
        "customer.add_email": {"customer_id": uuid7(), "label": "home", "address": "a@b.org"},
        "customer.add_address": {
            "customer_id": uuid7(),
            "label": "home",
            "line1": "1 Analytical Row",
            "city": "London",
            "country": "GB",
        },
        "customer.delete": {"id": uuid7()},
        "audit.add": {"id": uuid7(), "action": "pii.reveal"},
        "reminder.set": {
            "id": uuid7(),
            "agent_id": uuid7(),
            "customer_id": uuid7(),
            "due_at": NOW,
        },
        "reminder.close": {"id": uuid7()},
        "ticket_alert.read": {"id": uuid7()},
        "knowledge.publish": {
            "article_id": uuid7(),
            "version_id": uuid7(),
            "base_version": 0,
            "title": "Lost card",
            "body": "Block the card.",
            "intents": ["card_lost"],
        },
        "knowledge.review": {"article_id": uuid7(), "review_due": "2027-06-01"},
        "knowledge.retire": {"article_id": uuid7()},
        "order.place": {
            "ticket": {
                "id": uuid7(),
                "reason": "product_order",
                "title": "Classic credit card",
                "customer_id": uuid7(),
            },
            "product_code": "credit_card",
            "verified_by": "ivr",
            "verification_method": "pin",
        },
    }


# (mutation, the keys to replace, the field the refusal must name)
WRONG_TYPE = [
    ("interaction.add", {"queue": 5}, "queue"),
    ("interaction.add", {"talk_seconds": "55"}, "talk_seconds"),
    ("ticket.create", {"title": 5}, "title"),
    ("ticket.update", {"changes": {"escalation_level": True}}, "escalation_level"),
    ("ticket.reopen", {"reason": ["x"]}, "reason"),
    ("ticket.comment", {"internal": "yes"}, "internal"),
    ("customer.create", {"given_name": 5}, "given_name"),
    ("customer.patch", {"changes": {"vulnerable": "yes"}}, "vulnerable"),
    ("customer.add_phone", {"is_primary": 1}, "is_primary"),
    ("customer.add_email", {"address": 5}, "address"),
    ("customer.add_address", {"city": 5}, "city"),
    ("customer.delete", {"id": 12345}, "id"),
    ("audit.add", {"details": "x"}, "details"),
    ("reminder.set", {"due_at": 5}, "due_at"),
    ("reminder.close", {"outcome": 5}, "outcome"),
    ("ticket_alert.read", {"id": 5}, "id"),
    ("knowledge.publish", {"base_version": "1"}, "base_version"),
    ("knowledge.review", {"review_due": 5}, "review_due"),
    ("knowledge.retire", {"article_id": 12345}, "article_id"),
    ("order.place", {"verified_by": "nobody"}, "verified_by"),
]
TOO_LONG = [
    ("interaction.add", {"subject": "x" * 301}, "subject"),
    ("ticket.create", {"title": "x" * 301}, "title"),
    ("ticket.update", {"changes": {"title": "x" * 301}}, "title"),
    ("ticket.reopen", {"reason": "x" * 2001}, "reason"),
    ("ticket.comment", {"body": "x" * 100_001}, "body"),
    ("customer.create", {"family_name": "x" * 201}, "family_name"),
    ("customer.patch", {"changes": {"given_name": "x" * 201}}, "given_name"),
    ("customer.add_phone", {"number_raw": "7" * 65}, "number_raw"),
    ("customer.add_email", {"address": "a@b.org" + "x" * 320}, "address"),
    ("customer.add_address", {"line1": "x" * 201}, "line1"),
    ("customer.delete", {"reason": "x" * 2001}, "reason"),
    ("audit.add", {"action": "x" * 65}, "action"),
    ("reminder.set", {"note": "x" * 501}, "note"),
    ("reminder.close", {"outcome": "x" * 65}, "outcome"),
    ("ticket_alert.read", {"id": "7" * 65}, "id"),
    ("knowledge.publish", {"title": "x" * 301}, "title"),
    ("knowledge.review", {"review_due": "x" * 65}, "review_due"),
    ("knowledge.retire", {"article_id": "x" * 65}, "article_id"),
    ("order.place", {"product_code": "x" * 41}, "product_code"),
]
UNKNOWN_KEY = [(name, {"colour": "red"}, "colour") for name in sorted(_valid())] + [
    ("ticket.update", {"changes": {"number": "T-1"}}, "number"),
    ("customer.patch", {"changes": {"kind": "business"}}, "kind"),
]
CASES = WRONG_TYPE + TOO_LONG + UNKNOWN_KEY


def _bad(name: str, patch: dict[str, Any]) -> dict[str, Any]:
    return {**_valid()[name], **patch}


def test_every_mutation_has_a_case_of_each_kind() -> None:
    for cases in (WRONG_TYPE, TOO_LONG, UNKNOWN_KEY):
        assert {name for name, _, _ in cases} == set(args_types())


@pytest.fixture
def writer(tmp_path: Path) -> LocalWriter:
    return LocalWriter(make_cache(tmp_path / "cache.db"), "alice")


@pytest.mark.parametrize(("name", "patch", "field"), CASES)
def test_the_desktop_refuses_with_the_field(
    writer: LocalWriter, name: str, patch: dict[str, Any], field: str
) -> None:
    with pytest.raises(MutationRejected) as info:
        writer.write(name, _bad(name, patch))
    assert info.value.field == field
    assert field in str(info.value)
    with read_session(writer._engine) as s:
        assert s.scalars(select(OutboxEntry)).first() is None


def test_refusals_keep_their_wording(writer: LocalWriter) -> None:
    cases = {
        "subject is 301 characters; the limit is 300": {"subject": "x" * 301},
        "queue contains a line break or tab (U+000A) at position 2": {"queue": "a\nb"},
        "lone UTF-16 surrogate, U+DCFF, at position 1": {"queue": "\udcff"},
        "colour is not an argument of interaction.add": {"colour": "red"},
        "channel 'pigeon' is not one of: phone,": {"channel": "pigeon"},
        "started_at must carry a time zone": {"started_at": "2026-12-03T09:00:00"},
        "ended_at is before started_at": {"ended_at": "2026-12-02T09:00:00Z"},
    }
    for message, patch in cases.items():
        with pytest.raises(MutationRejected, match=re.escape(message)):
            writer.write("interaction.add", _bad("interaction.add", patch))


def test_the_centre_refuses_a_pushed_entry_with_the_field(centre: CentralStore) -> None:
    client = uuid7()
    batch = [
        PushEntry(seq, uuid7(), name, _json(_bad(name, patch)))
        for seq, (name, patch, _) in enumerate(CASES, start=1)
    ]
    reply = centre.apply_batch(client, "alice", batch)
    assert [r.state for r in reply.results] == ["rejected"] * len(CASES)
    assert [r.field for r in reply.results] == [field for _, _, field in CASES]


def _json(args: dict[str, Any]) -> dict[str, Any]:
    """Arguments as a push carries them (ids and times as text)."""
    plain = (str, int, dict, list)
    return {k: v if v is None or isinstance(v, plain) else str(v) for k, v in args.items()}


def test_a_service_built_instance_is_queued_as_json_and_applied_at_the_centre(
    centre: CentralStore, make_desk: Callable[..., Desk]
) -> None:
    alice = make_desk("alice", centre)
    started = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    args = InteractionAdd(
        id=uuid7(),
        channel="phone",  # type: ignore[arg-type]  # what a JSON push carries is parsed too
        direction="inbound",  # type: ignore[arg-type]
        started_at=started,
        notes="",
        call=CallRecordArgs(id=uuid7(), linkedid="9.1", pop_latency_ms=12),
    )
    alice.writer.write("interaction.add", args)
    with read_session(alice.engine) as s:
        queued = s.scalars(select(OutboxEntry)).one().args
    # Times in UTC, an empty note is no note, and only the keys given are kept.
    assert queued["started_at"] == "2026-12-03T08:00:00Z"
    assert queued["notes"] is None and "queue" not in queued
    assert queued["call"]["pop_latency_ms"] == 12.0
    assert InteractionAdd.parse(queued) == args
    alice.syncer.cycle()
    with read_session(centre.engine) as s:
        row = s.get(Interaction, args.id)
        assert row is not None and row.started_at.astimezone(dt.UTC) == started
        assert s.scalars(select(CallRecord)).one().pop_latency_ms == 12.0


def test_older_outbox_rows_still_parse(writer: LocalWriter) -> None:
    # Supervisor desktops sent who and when with an audit entry; the writer's are used.
    writer.write(
        "audit.add",
        {"id": str(uuid7()), "action": "queue.pause", "actor": "mallory", "at": NOW},
    )
    # A customer.create with child ids left out gets them chosen once, and queued.
    writer.write("customer.create", person(phones=[{"label": "mobile", "number_raw": "07700"}]))
    with read_session(writer._engine) as s:
        queued = [e.args for e in s.scalars(select(OutboxEntry).order_by(OutboxEntry.client_seq))]
    assert queued[1]["phones"][0]["id"]


def test_a_patch_queues_the_base_it_filled_in(make_desk: Callable[..., Desk], centre: Any) -> None:
    alice = make_desk("alice", centre)
    cust = person()
    alice.writer.write("customer.create", cust)
    alice.writer.write("customer.patch", {"id": cust["id"], "changes": {"segment": "premier"}})
    with read_session(alice.engine) as s:
        entry = s.scalars(select(OutboxEntry).where(OutboxEntry.name == "customer.patch")).one()
    assert entry.args["base"] == {"segment": "retail"}
    assert entry.args["changes"] == {"segment": "premier"}


def _ask(method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    """One request to an app holding only the catalogue router (no sign-in needed)."""
    app = FastAPI()
    problems.install(app)
    app.include_router(mutations_api.router, prefix="/api/v1")
    app.dependency_overrides[current_principal] = lambda: None

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, path, json=body)

    return asyncio.run(send())


def test_the_catalogue_publishes_every_mutation_and_its_schema() -> None:
    listed = _ask("GET", "/api/v1/mutations").json()
    # Other test modules register fakes ("test.…") in the same registry: leave them out.
    assert [m["name"] for m in listed if not m["name"].startswith("test.")] == sorted(args_types())
    add = _ask("GET", "/api/v1/mutations/interaction.add").json()
    assert add["entity_type"] == "interaction"
    assert add["args_schema"]["additionalProperties"] is False
    notes = add["args_schema"]["properties"]["notes"]["anyOf"][0]
    assert notes == {"type": "string", "maxLength": 1_000_000}
    assert _ask("GET", "/api/v1/mutations/ticket.explode").status_code == 404
    components = _ask("GET", "/openapi.json").json()["components"]["schemas"]
    assert {cls.__name__ for cls in args_types().values()} <= set(components)


def test_check_parses_without_applying() -> None:
    body = _json(_valid()["ticket.create"])
    reply = _ask("POST", "/api/v1/mutations/ticket.create/check", body)
    assert reply.status_code == 200
    assert reply.json()["args"]["title"] == "Card lost"
    refused = _ask("POST", "/api/v1/mutations/ticket.create/check", {**body, "colour": 1})
    assert refused.status_code == 400 and "colour" in refused.text
