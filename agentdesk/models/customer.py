"""Customers and everything attached to them: contact points, documents, products."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agentdesk.models.base import Base, created_at_column, enum_type, utcnow, uuid_pk
from agentdesk.models.enums import ContactLabel, CustomerKind, DocumentKind, ProductKind


class Customer(Base):
    """A person or a business the bank serves. ``version`` drives sync merges."""

    __tablename__ = "customer"

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[CustomerKind] = mapped_column(enum_type(CustomerKind, "kind"))
    given_name: Mapped[str | None] = mapped_column(String(200))
    middle_name: Mapped[str | None] = mapped_column(String(200))
    family_name: Mapped[str | None] = mapped_column(String(200))
    organisation_name: Mapped[str | None] = mapped_column(String(300))
    organisation_type: Mapped[str | None] = mapped_column(String(64))
    employee_count: Mapped[int | None]
    # Denormalised for lists and search; kept in step by the customer service.
    display_name: Mapped[str] = mapped_column(String(400), index=True)
    # The date of birth is encrypted at rest (store/field_crypto.py) and only the server
    # can read it; lists, pops and caches make do with the year.
    birth_year: Mapped[int | None]
    date_of_birth_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    segment: Mapped[str] = mapped_column(String(32), default="retail")
    preferred_language: Mapped[str] = mapped_column(String(16), default="en")
    preferred_channel: Mapped[str] = mapped_column(String(16), default="phone")
    marketing_opt_out: Mapped[bool] = mapped_column(default=False)
    # Asked not to be phoned: no callback task is created for them (migration 0019).
    phone_opt_out: Mapped[bool] = mapped_column(default=False, server_default=false())
    vulnerable: Mapped[bool] = mapped_column(default=False)
    legal_hold: Mapped[bool] = mapped_column(default=False)
    home_region: Mapped[str] = mapped_column(String(2), default="GB")
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[dt.datetime | None]
    # Set (with ``deleted_at``) when a duplicate was merged into another customer: the row
    # stays as a tombstone pointing at the survivor (services/crm/merge.py). No foreign key:
    # SQLite can add a plain column in place, while a constraint would rebuild the table and
    # drop its search triggers; the merge service checks the target exists.
    merged_into: Mapped[uuid.UUID | None] = mapped_column(index=True)

    phones: Mapped[list[CustomerPhone]] = relationship(back_populates="customer", lazy="raise")
    emails: Mapped[list[CustomerEmail]] = relationship(back_populates="customer", lazy="raise")
    addresses: Mapped[list[CustomerAddress]] = relationship(back_populates="customer", lazy="raise")
    documents: Mapped[list[IdentityDocument]] = relationship(
        back_populates="customer", lazy="raise"
    )
    products: Mapped[list[Product]] = relationship(back_populates="customer", lazy="raise")


class CustomerPhone(Base):
    """A phone number as given plus its E.164 form, the screen-pop lookup key."""

    __tablename__ = "customer_phone"
    __table_args__ = (Index("ix_customer_phone_e164", "e164"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[ContactLabel] = mapped_column(enum_type(ContactLabel, "label"))
    number_raw: Mapped[str] = mapped_column(String(64))
    e164: Mapped[str | None] = mapped_column(String(20))
    is_primary: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = created_at_column()

    customer: Mapped[Customer] = relationship(back_populates="phones", lazy="raise")


class CustomerEmail(Base):
    """An e-mail address; ``address_norm`` is the lower-cased lookup key."""

    __tablename__ = "customer_email"

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[ContactLabel] = mapped_column(enum_type(ContactLabel, "label"))
    address: Mapped[str] = mapped_column(String(320))
    address_norm: Mapped[str] = mapped_column(String(320), index=True)
    is_primary: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = created_at_column()

    customer: Mapped[Customer] = relationship(back_populates="emails", lazy="raise")


class CustomerAddress(Base):
    """A postal address with a label."""

    __tablename__ = "customer_address"

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[ContactLabel] = mapped_column(enum_type(ContactLabel, "label"))
    line1: Mapped[str] = mapped_column(String(200))
    line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(120))
    region: Mapped[str | None] = mapped_column(String(120))
    postal_code: Mapped[str | None] = mapped_column(String(32))
    country: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[dt.datetime] = created_at_column()

    customer: Mapped[Customer] = relationship(back_populates="addresses", lazy="raise")


class IdentityDocument(Base):
    """Passport, licence or national id.

    The number is kept encrypted (``number_enc``, central only: never replicated) and as a
    masked form for display; the clear number comes back only through an audited reveal.
    """

    __tablename__ = "identity_document"

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[DocumentKind] = mapped_column(enum_type(DocumentKind, "kind"))
    number_masked: Mapped[str] = mapped_column(String(24))
    number_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    issuing_country: Mapped[str] = mapped_column(String(2))
    expires_on: Mapped[dt.date | None]
    verified: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = created_at_column()

    customer: Mapped[Customer] = relationship(back_populates="documents", lazy="raise")


class Product(Base):
    """An account, card or loan as an integrated core system reports it.

    A card never carries its full number (PCI DSS 4.0.1 §3.4.1, §3.5.1): only the card
    system's ``token``, the ``card_bin`` (issuer prefix) and the last four digits.
    """

    __tablename__ = "product"
    __table_args__ = (
        Index("ix_product_number_last4", "number_last4"),
        CheckConstraint("kind <> 'card' OR number IS NULL", name="card_has_no_number"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ProductKind] = mapped_column(enum_type(ProductKind, "kind"))
    name: Mapped[str] = mapped_column(String(120))
    # Account number (sort code and number) of a non-card product; masked in every view.
    number: Mapped[str | None] = mapped_column(String(40))
    number_last4: Mapped[str] = mapped_column(String(4))
    token: Mapped[str | None] = mapped_column(String(64))
    card_bin: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(24), default="active")
    balance: Mapped[Decimal | None]
    currency: Mapped[str] = mapped_column(String(3), default="GBP")
    opened_on: Mapped[dt.date | None]
    source_system: Mapped[str] = mapped_column(String(32), default="core-banking")
    as_of: Mapped[dt.datetime] = mapped_column(default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="products", lazy="raise")


class CustomerHistory(Base):
    """Every change of a customer field, kept so old data is retained while new is entered."""

    __tablename__ = "customer_history"

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    field: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
