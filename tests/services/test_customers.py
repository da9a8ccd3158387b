"""Customer 360 service: masked load, audited reveal, validated edits with retained history."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from agentdesk.models import AuditEntry, OutboxEntry
from agentdesk.services.crm.customers import (
    CustomerNotFound,
    CustomerService,
    CustomerValidationError,
    parse_date,
)
from agentdesk.services.platform.reveal import DirectRevealer
from agentdesk.store import migrate
from agentdesk.store.engine import read_session, sqlite_engine
from agentdesk.store.writer import LocalWriter
from tests.ui_workspace.builders import FIELD_KEYRING, add_customer


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = sqlite_engine(tmp_path / "cache.db")
    migrate.upgrade(engine)
    return engine


@pytest.fixture
def service(engine: Engine) -> CustomerService:
    revealer = DirectRevealer(
        engine, FIELD_KEYRING, actor_login="alice", actor_role="agent", workstation="ws-1"
    )
    return CustomerService(
        engine, LocalWriter(engine, actor="alice"), workstation="ws-1", revealer=revealer
    )


def test_load_masks_pii_and_lists_contact_points(engine: Engine, service: CustomerService) -> None:
    cid = add_customer(engine, vulnerable=True, segment="premier")
    card = service.load(cid)
    assert card.display_name == "Amelia Okafor" and card.vulnerable and card.segment == "premier"
    assert card.verification == "verified"
    phones = [c for c in card.contacts if c.kind == "phone"]
    assert phones[0].dial == "+447700900123" and phones[0].is_primary
    assert phones[0].value == "+44 7700 900123"
    assert {c.kind for c in card.contacts} == {"phone", "email", "address"}
    assert card.documents[0].masked_number == "•••••1298"
    assert all("4003129988" not in p.masked_number for p in card.products)
    card_product = next(p for p in card.products if p.kind == "card")
    assert card_product.masked_number == "Visa •••• 1234"
    assert card.date_of_birth_masked == "••/••/1980"
    with pytest.raises(CustomerNotFound):
        service.load(uuid.uuid4())


def test_reveal_needs_a_reason_and_writes_an_audit_entry(
    engine: Engine, service: CustomerService
) -> None:
    cid = add_customer(engine)
    card = service.load(cid)
    product = next(p for p in card.products if p.kind == "current")
    with pytest.raises(CustomerValidationError, match="why"):
        service.reveal(cid, "product", product.id, "  ")
    revealed = service.reveal(cid, "product", product.id, "Caller confirming account for refund")
    assert revealed.value == "40031299887766"
    dob = service.reveal(cid, "date_of_birth", None, "Caller identification (ID&V)")
    assert dob.value == "1980-05-17"
    document = card.documents[0]
    assert service.reveal(cid, "document", document.id, "kyc_review").value == "533401298"
    card_product = next(p for p in card.products if p.kind == "card")
    with pytest.raises(CustomerValidationError, match="never stored"):
        service.reveal(cid, "product", card_product.id, "Card replacement")
    with pytest.raises(CustomerValidationError, match="not a listed reason"):
        service.reveal(cid, "date_of_birth", None, "just curious")
    with read_session(engine) as s:
        entries = s.scalars(select(AuditEntry).order_by(AuditEntry.at)).all()
        actions = [e.action for e in entries]
        assert actions == ["pii.reveal", "pii.reveal", "pii.reveal", "pii.reveal_refused"]
        assert entries[0].actor == "alice" and entries[0].workstation == "ws-1"
        assert entries[0].reason == "Caller confirming account for refund"
        assert entries[0].entity_id == str(product.id)
        assert s.scalar(select(OutboxEntry.name).limit(1)) == "audit.add"
    with pytest.raises(CustomerValidationError, match="no such identity document"):
        service.reveal(cid, "document", product.id, "Fraud investigation")


def _agent_name(engine: Engine, login: str) -> str:
    from agentdesk.models import Agent

    with Session(engine) as s:
        return s.scalar(select(Agent.display_name).where(Agent.login == login)) or login


def test_the_history_names_a_system_job_in_words(engine: Engine, service: CustomerService) -> None:
    from agentdesk.models import CustomerHistory

    cid = add_customer(engine)
    with Session(engine) as s, s.begin():
        s.add(CustomerHistory(customer_id=cid, field="segment", old_value="retail",
                              new_value="premier", changed_by="seed"))  # fmt: skip
    entry = next(h for h in service.load(cid).history if h.field == "segment")
    assert entry.changed_by == "seed" and entry.by_name == "System (set-up data)"


def test_edit_validates_and_keeps_history(engine: Engine, service: CustomerService) -> None:
    cid = add_customer(engine)
    card = service.load(cid)
    outcome = service.update(
        card, {"family_name": "Mensah", "date_of_birth": "17/06/1981", "marketing_opt_out": True}
    )
    assert set(outcome.applied) == {"family_name", "date_of_birth", "marketing_opt_out"}
    after = service.load(cid)
    assert after.display_name == "Amelia Mensah" and after.marketing_opt_out
    names = [h for h in after.history if h.field == "family_name"]
    assert names[0].old_value == "Okafor" and names[0].new_value == "Mensah"
    assert names[0].changed_by == "alice"
    # Shown in words: the agent's name when alice is an agent here, else her login as is.
    assert names[0].by_name in ("alice", _agent_name(engine, "alice"))
    with pytest.raises(CustomerValidationError) as err:
        service.update(after, {"date_of_birth": "31/02/1990"})
    assert err.value.field == "date_of_birth"
    assert service.update(after, {"family_name": "Mensah"}).applied == ()


@pytest.mark.parametrize("typed", ["0800 FLOWERS", "call me", "+44", "12", "٠٧٧٠٠٩٠٠١٢٣x"])
def test_bad_phone_numbers_are_refused_clearly(
    engine: Engine, service: CustomerService, typed: str
) -> None:
    cid = add_customer(engine)
    with pytest.raises(CustomerValidationError) as err:
        service.add_phone(cid, typed, "mobile")
    assert err.value.field == "number" and str(err.value)


def test_contact_points_added_in_any_format(engine: Engine, service: CustomerService) -> None:
    cid = add_customer(engine)
    service.add_phone(cid, " (0113) 496 0000 ", "office", primary=True)
    service.add_email(cid, "Zoë.Ng@Example.org", "official")
    service.add_address(cid, "office", "1 Park Row", "Leeds", "gb", postal_code="LS1 5AB")
    card = service.load(cid)
    phone = next(c for c in card.contacts if c.kind == "phone" and c.is_primary)
    assert phone.dial == "+441134960000"
    assert any(c.value == "Zoë.Ng@Example.org" for c in card.contacts)
    assert any(h.field == "phone" for h in card.history)
    for bad in ["a@b", "no-at-sign.com", "two@@example.com", "sp ace@example.com", "x" * 400]:
        with pytest.raises(CustomerValidationError):
            service.add_email(cid, bad, "personal")
    with pytest.raises(CustomerValidationError, match="label"):
        service.add_email(cid, "ok@example.com", "pigeon")


def test_customer_deleted_elsewhere_is_reported_and_edits_refused(
    engine: Engine, service: CustomerService
) -> None:
    cid = add_customer(engine)
    card = service.load(cid)
    LocalWriter(engine, actor="bob").write("customer.delete", {"id": cid, "reason": "duplicate"})
    assert service.load(cid).deleted
    with pytest.raises(CustomerValidationError, match="deleted"):
        service.update(card, {"segment": "premier"})


def test_parse_date_formats() -> None:
    assert parse_date("1980-05-17").isoformat() == "1980-05-17"
    assert parse_date("17.05.1980").isoformat() == "1980-05-17"
    with pytest.raises(CustomerValidationError):
        parse_date("yesterday")
