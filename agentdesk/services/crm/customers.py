"""Customer 360: load a customer as frozen views, reveal masked PII with an audit entry, edit.

Reads open one short session and return ``CustomerCard``; writes go through
``LocalWriter`` (row + outbox in one transaction) as named mutations, after
validating input here so the agent gets a message naming the field.
"""

from __future__ import annotations

import datetime as dt
import re
import socket
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from agentdesk.ids import uuid7
from agentdesk.models import (
    Agent,
    ContactLabel,
    Customer,
    CustomerAddress,
    CustomerEmail,
    CustomerHistory,
    CustomerPhone,
    IdentityDocument,
    Interaction,
    Product,
)
from agentdesk.services.crm.customer_views import (
    ContactPoint,
    CustomerCard,
    DocumentView,
    EditOutcome,
    HistoryEntry,
    ProductView,
    mask_date,
    mask_product,
)
from agentdesk.services.crm.phone import NumberStatus, normalise
from agentdesk.services.labels import shipped_labels
from agentdesk.services.platform.reveal import RevealedValue as RevealedValue
from agentdesk.services.platform.reveal import RevealRefused
from agentdesk.store.engine import read_session
from agentdesk.store.mutation_args.audit import AuditAdd
from agentdesk.store.mutation_args.base import MutationArgs, rejecting
from agentdesk.store.mutation_args.customers import (
    CustomerAddAddress,
    CustomerAddEmail,
    CustomerAddPhone,
    CustomerPatch,
)
from agentdesk.store.mutations import MutationRejected
from agentdesk.store.writer import LocalWriter

HISTORY_LIMIT = 200
MIN_REASON_CHARS = 5
_EMAIL = re.compile(r"^[^@\s]{1,64}@(?=.{4,253}$)([^@\s.]+\.)+[^@\s.]{2,}$")
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y")
REVEALABLE = ("document", "product", "date_of_birth")


class CustomerNotFound(LookupError):
    """The customer does not exist in this store (never did, or was purged)."""


class CustomerValidationError(ValueError):
    """Input the agent must correct; ``field`` names the control to highlight."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# (customer id, target "document" | "date_of_birth", document id, reason) -> value. The
# composition root supplies one that asks the server (or, in a process that holds the
# central engine and the field key, a ``services.platform.reveal.DirectRevealer``).
Revealer = Callable[[uuid.UUID, str, uuid.UUID | None, str], RevealedValue]


def parse_date(text: str) -> dt.date:
    """Accept ISO (1980-05-17) and day-first (17/05/1980) dates; reject the rest clearly."""
    cleaned = text.strip()
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(cleaned, fmt).date()
        except ValueError:
            continue
    raise CustomerValidationError("date_of_birth", f"{text!r} is not a date; use YYYY-MM-DD")


def validate_email(text: str) -> str:
    address = text.strip()
    if len(address) > 320 or not _EMAIL.match(address) or ".." in address:
        raise CustomerValidationError("address", f"{address[:80]!r} is not a valid e-mail address")
    return address


def validate_phone(text: str, region: str) -> tuple[str, str]:
    """Return (as typed, E.164) or raise with the reason an agent can act on."""
    verdict = normalise(text, region)
    if verdict.status in (NumberStatus.VALID, NumberStatus.POSSIBLE) and verdict.e164:
        return text.strip(), verdict.e164
    if any(ch.isalpha() for ch in text) and verdict.status is NumberStatus.INVALID:
        raise CustomerValidationError(
            "number", f"{text[:40]!r} contains letters; type only the digits of the number"
        )
    raise CustomerValidationError(
        "number", f"{text[:40]!r} is not a phone number: {verdict.reason}"
    )


class CustomerService:
    """Loads, reveals and edits customers for one signed-in agent."""

    def __init__(
        self,
        engine: Engine,
        writer: LocalWriter,
        workstation: str | None = None,
        revealer: Revealer | None = None,
    ) -> None:
        self._engine = engine
        self._writer = writer
        self._workstation = workstation or socket.gethostname()
        self._revealer = revealer

    # --- reading ------------------------------------------------------------------------------

    def load(self, customer_id: uuid.UUID) -> CustomerCard:
        """The customer as the workspace shows it. Raises ``CustomerNotFound``."""
        with read_session(self._engine) as session:
            row = session.get(Customer, customer_id)
            if row is None:
                raise CustomerNotFound(f"customer {customer_id} is not in this store")
            return self._card(session, row)

    def _card(self, session: Session, row: Customer) -> CustomerCard:
        documents = tuple(self._documents(session, row.id))
        last_idv = session.scalar(
            select(Interaction.idv_result)
            .where(Interaction.customer_id == row.id, Interaction.idv_result.is_not(None))
            .order_by(Interaction.started_at.desc())
            .limit(1)
        )
        verified_docs = any(d.verified for d in documents)
        verification = "verified" if verified_docs else "partial" if documents else "unverified"
        return CustomerCard(
            id=row.id,
            kind=row.kind.value,
            display_name=row.display_name,
            given_name=row.given_name,
            middle_name=row.middle_name,
            family_name=row.family_name,
            organisation_name=row.organisation_name,
            segment=row.segment,
            preferred_language=row.preferred_language,
            preferred_channel=row.preferred_channel,
            date_of_birth_masked=mask_date(row.birth_year),
            home_region=row.home_region,
            marketing_opt_out=row.marketing_opt_out,
            phone_opt_out=row.phone_opt_out,
            vulnerable=row.vulnerable,
            legal_hold=row.legal_hold,
            verification=verification,
            last_idv=last_idv.value if last_idv is not None else None,
            version=row.version,
            updated_at=row.updated_at,
            deleted=row.deleted_at is not None,
            contacts=tuple(self._contacts(session, row.id)),
            documents=documents,
            products=tuple(self._products(session, row.id)),
            history=tuple(self._history(session, row.id)),
            merged_into=row.merged_into,
            merged_into_name=(
                None
                if row.merged_into is None
                else session.scalar(
                    select(Customer.display_name).where(Customer.id == row.merged_into)
                )
            ),
        )

    @staticmethod
    def _contacts(session: Session, cid: uuid.UUID) -> list[ContactPoint]:
        out: list[ContactPoint] = []
        phones = session.scalars(
            select(CustomerPhone)
            .where(CustomerPhone.customer_id == cid)
            .order_by(CustomerPhone.is_primary.desc(), CustomerPhone.created_at)
        )
        for p in phones:
            shown = normalise(p.e164).display if p.e164 else p.number_raw
            out.append(ContactPoint(p.id, "phone", p.label.value, shown, p.e164, p.is_primary))
        emails = session.scalars(
            select(CustomerEmail)
            .where(CustomerEmail.customer_id == cid)
            .order_by(CustomerEmail.is_primary.desc(), CustomerEmail.created_at)
        )
        out += [
            ContactPoint(e.id, "email", e.label.value, e.address, None, e.is_primary)
            for e in emails
        ]
        addresses = session.scalars(
            select(CustomerAddress)
            .where(CustomerAddress.customer_id == cid)
            .order_by(CustomerAddress.created_at)
        )
        for a in addresses:
            parts = [a.line1, a.line2, a.city, a.region, a.postal_code, a.country]
            out.append(
                ContactPoint(a.id, "address", a.label.value, ", ".join(p for p in parts if p))
            )
        return out

    @staticmethod
    def _documents(session: Session, cid: uuid.UUID) -> list[DocumentView]:
        rows = session.scalars(
            select(IdentityDocument)
            .where(IdentityDocument.customer_id == cid)
            .order_by(IdentityDocument.created_at)
        )
        return [
            DocumentView(
                d.id,
                d.kind.value,
                d.number_masked,
                d.issuing_country,
                d.expires_on,
                d.verified,
            )
            for d in rows
        ]

    @staticmethod
    def _products(session: Session, cid: uuid.UUID) -> list[ProductView]:
        rows = session.scalars(
            select(Product).where(Product.customer_id == cid).order_by(Product.kind, Product.name)
        )
        return [
            ProductView(
                p.id,
                p.kind.value,
                p.name,
                mask_product(p.kind.value, p.number, p.card_bin, p.number_last4),
                p.status,
                p.balance,
                p.currency,
                p.as_of,
                p.source_system,
            )
            for p in rows
        ]

    @staticmethod
    def _history(session: Session, cid: uuid.UUID) -> list[HistoryEntry]:
        # changed_by holds an agent's login or a system job's code: shown as the agent's
        # name or the job's label ("System (set-up data)"), never the raw code.
        rows = session.execute(
            select(CustomerHistory, Agent.display_name)
            .outerjoin(Agent, Agent.login == CustomerHistory.changed_by)
            .where(CustomerHistory.customer_id == cid)
            .order_by(CustomerHistory.changed_at.desc())
            .limit(HISTORY_LIMIT)
        )
        actor = shipped_labels().actor
        return [
            HistoryEntry(
                h.field,
                h.old_value,
                h.new_value,
                h.changed_by,
                h.changed_at,
                by_name=name or actor(h.changed_by),
            )
            for h, name in rows
        ]

    # --- revealing masked PII -----------------------------------------------------------------

    def reveal(
        self, customer_id: uuid.UUID, target: str, target_id: uuid.UUID | None, reason: str
    ) -> RevealedValue:
        """Return a masked value in clear for display, with an audit entry naming ``reason``.

        ``target``: ``document`` (``target_id`` = the document) and ``date_of_birth`` go to
        the revealer (the server holds their key and writes the audit entry); ``product``
        (an account number) is read from this store and audited through the outbox. A
        card's full number does not exist anywhere, so it cannot be revealed.
        """
        reason = (reason or "").strip()
        if len(reason) < MIN_REASON_CHARS:
            raise CustomerValidationError("reason", "say why you need to see this (5+ characters)")
        if target not in REVEALABLE:
            raise CustomerValidationError("target", f"{target!r} cannot be revealed")
        if target != "product":
            if self._revealer is None:
                raise CustomerValidationError(
                    "target", "revealing identity data needs the server, which is not connected"
                )
            try:
                return self._revealer(customer_id, target, target_id, reason)
            except RevealRefused as exc:
                raise CustomerValidationError("reason", str(exc)) from exc
        value = self._account_number(customer_id, target_id)
        audit_id = uuid7()
        self._write(
            "audit.add",
            lambda: AuditAdd(
                id=audit_id,
                action="pii.reveal",
                entity_type=target,
                entity_id=str(target_id or customer_id),
                reason=reason,
                details={"customer_id": str(customer_id), "field": target},
                workstation=self._workstation,
            ),
        )
        return RevealedValue(value, audit_id, target)

    def _account_number(self, customer_id: uuid.UUID, target_id: uuid.UUID | None) -> str:
        with read_session(self._engine) as session:
            row = session.get(Product, target_id) if target_id else None
            if row is None or row.customer_id != customer_id:
                raise CustomerValidationError("target", "no such product for this customer")
            if row.number is None:
                raise CustomerValidationError(
                    "target", "a card's full number is never stored; only its last four digits"
                )
            return row.number

    # --- editing ------------------------------------------------------------------------------

    def update(self, card: CustomerCard, changes: dict[str, Any]) -> EditOutcome:
        """Patch fields of the customer ``card`` was loaded as; only changed values are sent."""
        clean = dict(changes)
        if "date_of_birth" in clean and isinstance(clean["date_of_birth"], str):
            text = clean["date_of_birth"].strip()
            clean["date_of_birth"] = parse_date(text).isoformat() if text else None
        for name in ("given_name", "family_name", "organisation_name"):
            if name in clean and isinstance(clean[name], str):
                clean[name] = clean[name].strip() or None
        base = card.editable_values()
        changed = {k: v for k, v in clean.items() if k == "date_of_birth" or base.get(k) != v}
        if not changed:
            return EditOutcome((), {})
        sent_base = {k: base[k] for k in changed if k in base}
        result = self._write(
            "customer.patch",
            # The form's changes are a free-form dict: validated whole, so an unknown key is
            # refused as a change this mutation cannot make.
            lambda: CustomerPatch.model_validate(
                {"id": card.id, "changes": changed, "base": sent_base}
            ),
            {"customer": card.version},
        )
        return EditOutcome(tuple(result.get("applied", ())), dict(result.get("kept", {})))

    def add_phone(
        self,
        customer_id: uuid.UUID,
        number: str,
        label: str,
        region: str = "GB",
        primary: bool = False,
    ) -> uuid.UUID:
        raw, e164 = validate_phone(number, region)
        phone_id = uuid7()
        self._write(
            "customer.add_phone",
            lambda: CustomerAddPhone(
                customer_id=customer_id,
                id=phone_id,
                label=self._label(label),
                number_raw=raw[:64],
                e164=e164,
                is_primary=primary,
            ),
        )
        return phone_id

    def add_email(
        self, customer_id: uuid.UUID, address: str, label: str, primary: bool = False
    ) -> uuid.UUID:
        email_id = uuid7()
        self._write(
            "customer.add_email",
            lambda: CustomerAddEmail(
                customer_id=customer_id,
                id=email_id,
                label=self._label(label),
                address=validate_email(address),
                is_primary=primary,
            ),
        )
        return email_id

    def add_address(
        self,
        customer_id: uuid.UUID,
        label: str,
        line1: str,
        city: str,
        country: str,
        line2: str = "",
        region: str = "",
        postal_code: str = "",
    ) -> uuid.UUID:
        if not line1.strip() or not city.strip():
            raise CustomerValidationError("line1", "an address needs a first line and a city")
        address_id = uuid7()
        self._write(
            "customer.add_address",
            lambda: CustomerAddAddress(
                customer_id=customer_id,
                id=address_id,
                label=self._label(label),
                line1=line1.strip(),
                line2=line2.strip() or None,
                city=city.strip(),
                region=region.strip() or None,
                postal_code=postal_code.strip() or None,
                country=country.strip().upper(),
            ),
        )
        return address_id

    @staticmethod
    def _label(label: str) -> ContactLabel:
        try:
            return ContactLabel(label)
        except ValueError:
            allowed = ", ".join(m.value for m in ContactLabel)
            raise CustomerValidationError("label", f"label must be one of: {allowed}") from None

    def _write(
        self,
        name: str,
        build: Callable[[], MutationArgs],
        base_versions: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Build mutation ``name``'s arguments and write them; any refusal names the field."""
        try:
            with rejecting(name):
                args = build()
            return self._writer.write(name, args, base_versions).result
        except MutationRejected as exc:
            raise CustomerValidationError(exc.field or "", str(exc)) from exc
