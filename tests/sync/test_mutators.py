"""Ticket and customer mutators, on the local cache and on both central stores."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from agentdesk.ids import uuid7
from agentdesk.models import (
    ConflictReview,
    Customer,
    CustomerEmail,
    CustomerHistory,
    CustomerPhone,
    OutboxEntry,
    Ticket,
    TicketComment,
    TicketHistory,
    TicketStatus,
    utcnow,
)
from agentdesk.store import migrate
from agentdesk.store.engine import encrypted_sqlite_engine, read_session, write_session
from agentdesk.store.mutations import (
    MutationContext,
    MutationOutcome,
    MutationRejected,
    apply_mutation,
)
from agentdesk.store.mutators.tickets import ticket_number, ticket_number_valid
from agentdesk.store.writer import LocalWriter
from tests.sync.factories import REF, person, seed_reference, ticket
from tests.ui_workspace.builders import FIELD_KEYRING


@pytest.fixture
def writer(tmp_path: Path) -> LocalWriter:
    engine = encrypted_sqlite_engine(tmp_path / "cache.db", "22" * 32)
    migrate.upgrade(engine)
    seed_reference(engine)
    return LocalWriter(engine, actor="alice")


@pytest.fixture
def centre(central: Engine) -> Engine:
    seed_reference(central)
    return central


def at_centre(
    engine: Engine, name: str, args: dict[str, Any], actor: str = "bob"
) -> MutationOutcome:
    ctx = MutationContext(
        actor=actor, side="central", now=utcnow(), client_id=uuid7(), field_cipher=FIELD_KEYRING
    )
    with write_session(engine) as s:
        return apply_mutation(s, name, copy.deepcopy(args), ctx)


def _get(engine: Engine, model: type[Any], key: Any) -> Any:
    with read_session(engine) as s:
        return s.get(model, key)


def _count(engine: Engine, model: type[Any], *where: Any) -> int:
    with read_session(engine) as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


# --- local side ---------------------------------------------------------------------------


def test_local_customer_create_fills_child_ids_into_the_outbox(writer: LocalWriter) -> None:
    args = person()
    writer.write("customer.create", args)
    row = _get(writer._engine, Customer, args["id"])
    assert (row.version, row.display_name) == (0, "Ada Lovelace")
    with read_session(writer._engine) as s:
        entry = s.scalars(select(OutboxEntry)).one()
        phone = s.scalars(select(CustomerPhone)).one()
        email = s.scalars(select(CustomerEmail)).one()
    assert entry.args["phones"][0]["id"] == str(phone.id)
    assert (email.address, email.address_norm) == ("Ada@Example.org", "ada@example.org")
    assert phone.e164 == "+447700900123"


def test_local_patch_records_base_values_and_history(writer: LocalWriter) -> None:
    args = person()
    writer.write("customer.create", args)
    result = writer.write(
        "customer.patch", {"id": args["id"], "changes": {"family_name": "King", "vulnerable": True}}
    )
    assert result.result["applied"] == ["family_name", "vulnerable"]
    row = _get(writer._engine, Customer, args["id"])
    assert (row.family_name, row.display_name, row.version) == ("King", "Ada King", 0)
    with read_session(writer._engine) as s:
        entry = s.scalars(select(OutboxEntry).where(OutboxEntry.name == "customer.patch")).one()
    assert entry.args["base"] == {"family_name": "Lovelace", "vulnerable": False}
    assert _count(writer._engine, CustomerHistory, CustomerHistory.field == "family_name") == 1


def test_new_primary_phone_clears_the_old_one(writer: LocalWriter) -> None:
    args = person()
    writer.write("customer.create", args)
    writer.write(
        "customer.add_phone",
        {
            "customer_id": args["id"],
            "label": "office",
            "number_raw": "020 7946 0000",
            "e164": "+442079460000",
            "is_primary": True,
        },
    )
    with read_session(writer._engine) as s:
        primaries = s.scalars(select(CustomerPhone.e164).where(CustomerPhone.is_primary)).all()
    assert primaries == ["+442079460000"]


def test_deleted_customer_refuses_edits(writer: LocalWriter) -> None:
    args = person()
    writer.write("customer.create", args)
    writer.write("customer.delete", {"id": args["id"], "reason": "duplicate record"})
    assert _get(writer._engine, Customer, args["id"]).deleted_at is not None
    assert writer.write("customer.delete", {"id": args["id"]}).result["status"] == "unchanged"
    with pytest.raises(MutationRejected, match="deleted"):
        writer.write("customer.patch", {"id": args["id"], "changes": {"segment": "premier"}})
    with pytest.raises(MutationRejected, match="deleted"):
        writer.write(
            "customer.add_email",
            {"customer_id": args["id"], "label": "office", "address": "a@b.co"},
        )


@pytest.mark.parametrize(
    ("name", "args", "field"),
    [
        ("customer.create", person(kind="robot"), "kind"),
        ("customer.create", person(given_name=None, family_name=None), "family_name"),
        ("customer.create", person(date_of_birth="10/12/1985"), "date_of_birth"),
        ("customer.create", person(given_name="x" * 201), "given_name"),
        ("customer.create", person(family_name="nul\x00byte"), "family_name"),
        (
            "customer.create",
            person(phones=[{"label": "mobile", "number_raw": "1", "e164": "0044"}]),
            "e164",
        ),
        (
            "customer.create",
            person(emails=[{"label": "home", "address": "not an address"}]),
            "address",
        ),
        (
            "customer.create",
            person(addresses=[{"label": "home", "line1": "x", "city": "y", "country": "Britain"}]),
            "country",
        ),
        ("customer.create", person(phones="07700"), "phones"),
        ("ticket.create", ticket(priority="whenever"), "priority"),
        ("ticket.create", ticket(status="closed"), "status"),
        ("ticket.create", ticket(team_id=uuid7()), "team_id"),
        ("ticket.create", ticket(title=""), "title"),
        ("ticket.create", ticket(resolution_due="tomorrow"), "resolution_due"),
        ("ticket.create", ticket(id="\udcff garbage"), "id"),
    ],
)
def test_bad_input_is_rejected_with_the_field(
    writer: LocalWriter, name: str, args: dict[str, Any], field: str
) -> None:
    with pytest.raises(MutationRejected) as info:
        writer.write(name, args)
    assert info.value.field == field
    assert _count(writer._engine, OutboxEntry) == 0


def test_ticket_lifecycle_locally(writer: LocalWriter) -> None:
    args = ticket(assignee_id=REF.alice)
    created = writer.write("ticket.create", args)
    assert created.result["number"] == ticket_number(args["id"])
    tid = args["id"]
    writer.write("ticket.update", {"id": tid, "changes": {"status": "open", "priority": "high"}})
    with pytest.raises(MutationRejected, match="reopen"):
        writer.write("ticket.update", {"id": tid, "changes": {"status": "new"}})
    writer.write("ticket.update", {"id": tid, "changes": {"status": "closed"}})
    assert _get(writer._engine, Ticket, tid).closed_at is not None
    writer.write("ticket.reopen", {"id": tid, "reason": "customer called back"})
    row = _get(writer._engine, Ticket, tid)
    assert (row.status, row.closed_at, row.version) == (TicketStatus.OPEN, None, 0)
    with pytest.raises(MutationRejected, match="already open"):
        writer.write("ticket.reopen", {"id": tid})
    fields = [h.field for h in _rows(writer._engine, TicketHistory)]
    assert sorted(fields) == sorted(
        ["created", "status", "priority", "status", "status", "reopen_reason"]
    )


def _rows(engine: Engine, model: type[Any]) -> list[Any]:
    with read_session(engine) as s:
        return list(s.scalars(select(model)))


def test_comments_are_append_only_and_idempotent(writer: LocalWriter) -> None:
    args = ticket()
    writer.write("ticket.create", args)
    comment = {"id": uuid7(), "ticket_id": args["id"], "body": "Called the customer ✓"}
    assert writer.write("ticket.comment", comment).result["status"] == "created"
    assert writer.write("ticket.comment", comment).result["status"] == "exists"
    assert _count(writer._engine, TicketComment) == 1
    with pytest.raises(MutationRejected, match="no such ticket"):
        writer.write("ticket.comment", {"id": uuid7(), "ticket_id": uuid7(), "body": "x"})


def test_ticket_numbers_made_in_a_burst_are_unique_short_and_checked() -> None:
    ids = [uuid7() for _ in range(20_000)]
    numbers = [ticket_number(i) for i in ids]
    assert len(set(numbers)) == len(numbers)
    assert all(len(n) == 13 and ticket_number_valid(n) for n in numbers)


# --- central side -------------------------------------------------------------------------


def test_central_versions_and_replay(centre: Engine) -> None:
    args = person()
    assert at_centre(centre, "customer.create", args).result["status"] == "created"
    assert at_centre(centre, "customer.create", args).result["status"] == "exists"
    assert _get(centre, Customer, args["id"]).version == 1
    at_centre(
        centre,
        "customer.patch",
        {"id": args["id"], "changes": {"segment": "premier"}, "base": {"segment": "retail"}},
    )
    assert _get(centre, Customer, args["id"]).version == 2


def test_concurrent_identity_edit_keeps_central_and_files_review(centre: Engine) -> None:
    args = person()
    at_centre(centre, "customer.create", args)
    cid = args["id"]
    at_centre(
        centre,
        "customer.patch",
        {"id": cid, "changes": {"family_name": "Byron"}, "base": {"family_name": "Lovelace"}},
        actor="bob",
    )
    late = at_centre(
        centre,
        "customer.patch",
        {
            "id": cid,
            "changes": {"family_name": "King", "segment": "premier"},
            "base": {"family_name": "Lovelace", "segment": "retail"},
        },
        actor="alice",
    )
    assert late.result["applied"] == ["segment"]
    assert late.result["kept"] == {"family_name": "Byron"}
    row = _get(centre, Customer, cid)
    assert (row.family_name, row.segment, row.version) == ("Byron", "premier", 3)
    review = _rows(centre, ConflictReview)
    assert [(r.field, r.central_value, r.losing_value, r.agent_login) for r in review] == [
        ("family_name", "Byron", "King", "alice")
    ]


def test_concurrent_plain_field_edit_last_arrival_wins_with_history(centre: Engine) -> None:
    args = person()
    at_centre(centre, "customer.create", args)
    cid = args["id"]
    at_centre(
        centre,
        "customer.patch",
        {"id": cid, "changes": {"preferred_language": "cy"}, "base": {"preferred_language": "en"}},
    )
    at_centre(
        centre,
        "customer.patch",
        {"id": cid, "changes": {"preferred_language": "fr"}, "base": {"preferred_language": "en"}},
    )
    assert _get(centre, Customer, cid).preferred_language == "fr"
    with read_session(centre) as s:
        olds = s.scalars(
            select(CustomerHistory.old_value).where(CustomerHistory.field == "preferred_language")
        ).all()
    assert sorted(olds) == ["cy", "en"]
    assert _count(centre, ConflictReview) == 0


def test_status_more_advanced_wins_at_the_centre(centre: Engine) -> None:
    args = ticket()
    at_centre(centre, "ticket.create", args)
    tid = args["id"]
    at_centre(centre, "ticket.update", {"id": tid, "changes": {"status": "resolved"}})
    lagging = at_centre(
        centre,
        "ticket.update",
        {"id": tid, "changes": {"status": "pending", "assignee_id": REF.bob}},
    )
    assert lagging.result["kept"] == {"status": "resolved"}
    row = _get(centre, Ticket, tid)
    assert (row.status, row.assignee_id, row.version) == (TicketStatus.RESOLVED, REF.bob, 3)
    at_centre(centre, "ticket.reopen", {"id": tid})
    assert at_centre(centre, "ticket.reopen", {"id": tid}).result["status"] == "unchanged"
    assert _get(centre, Ticket, tid).status == TicketStatus.OPEN


def test_number_clash_at_the_centre_draws_another_in_the_same_format(centre: Engine) -> None:
    first = ticket()
    at_centre(centre, "ticket.create", first)
    clash = ticket(number=ticket_number(first["id"]))
    outcome = at_centre(centre, "ticket.create", clash)
    number = outcome.result["number"]
    assert number != ticket_number(first["id"]) and ticket_number_valid(number)
