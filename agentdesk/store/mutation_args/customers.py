"""Arguments of the ``customer.*`` mutations: create, patch, contact points, delete."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import uuid
from typing import Annotated, Any, Self

from pydantic import Field, model_validator

from agentdesk.ids import uuid7
from agentdesk.models import ContactLabel, CustomerKind
from agentdesk.store.mutation_args.base import (
    IS_FLAG,
    IS_ID,
    ArgsPart,
    Before,
    Choice,
    MutationArgs,
    Text,
    WholeNumber,
    reject,
)

E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
MAX_CONTACTS = 50  # phones, e-mails or addresses in one customer.create
EARLIEST_BIRTH = dt.date(1880, 1, 1)

Id = Annotated[uuid.UUID, IS_ID]


def _flag(value: Any) -> Any:
    # A customer's flags are columns that cannot be null: given, they are true or false.
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _country(value: Any) -> Any:
    if not isinstance(value, str) or not COUNTRY.match(value):
        raise ValueError("must be a two-letter country code")
    return value


def _birth(value: Any) -> Any:
    if value is None or value == "":
        return None
    born: dt.date | None = None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        born = value
    elif isinstance(value, str):
        with contextlib.suppress(ValueError):
            born = dt.date.fromisoformat(value)
    if born is None:
        raise ValueError("must be an ISO date (YYYY-MM-DD)")
    if not EARLIEST_BIRTH <= born <= dt.date.today():
        raise ValueError("is outside any plausible range")
    return born


def _e164(value: Any) -> Any:
    if value is not None and (not isinstance(value, str) or not E164.match(value)):
        raise ValueError("must be an E.164 number such as +441632960001")
    return value


def _kind(value: Any) -> Any:
    try:
        return CustomerKind(value)
    except ValueError:
        raise ValueError("must be 'person' or 'business'") from None


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _list(value: Any) -> Any:
    return [] if value is None else value


def _object(value: Any) -> Any:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("must be an object")
    return value


Flag = Annotated[bool | None, Before(_flag)]
Country = Annotated[str | None, Before(_country)]
Label = Annotated[ContactLabel, Choice(ContactLabel)]


class CustomerFields(ArgsPart):
    """The customer fields an agent may set, with their limits; only the given keys count."""

    given_name: Annotated[str | None, Text(200)] = None
    middle_name: Annotated[str | None, Text(200)] = None
    family_name: Annotated[str | None, Text(200)] = None
    organisation_name: Annotated[str | None, Text(300)] = None
    organisation_type: Annotated[str | None, Text(64)] = None
    employee_count: Annotated[int | None, WholeNumber(0, 10_000_000)] = None
    date_of_birth: Annotated[dt.date | None, Before(_birth)] = None
    segment: Annotated[str | None, Text(32)] = None
    preferred_language: Annotated[str | None, Text(16)] = None
    preferred_channel: Annotated[str | None, Text(16)] = None
    marketing_opt_out: Flag = None
    phone_opt_out: Flag = None
    vulnerable: Flag = None
    home_region: Country = None

    def given(self) -> dict[str, Any]:
        """The fields given, by name, in a stable order."""
        names = sorted(self.model_fields_set & set(CustomerFields.model_fields))
        return {name: getattr(self, name) for name in names}


class ChildArgs(ArgsPart):
    """A contact point. Its ``id`` is chosen when the arguments are built if none is given,
    so the desktop and the centre create the very same row."""

    id: Id

    @model_validator(mode="before")
    @classmethod
    def _choose_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("id") is None:
            return {**data, "id": uuid7()}
        return data


class PhoneArgs(ChildArgs):
    """A phone number as typed, with its E.164 form (normalised by the caller, or null)."""

    label: Label
    number_raw: Annotated[str, Text(64, required=True)]
    e164: Annotated[str | None, Before(_e164)] = None
    is_primary: Annotated[bool, IS_FLAG] = False


class EmailArgs(ChildArgs):
    """An e-mail address; surrounding blanks are dropped."""

    label: Label
    # The last metadata runs first: blanks are stripped, then the text is checked.
    address: Annotated[str, Text(320, required=True), Before(_strip)]
    is_primary: Annotated[bool, IS_FLAG] = False

    @model_validator(mode="after")
    def _looks_like_an_address(self) -> Self:
        mailbox, _, domain = self.address.rpartition("@")
        if not mailbox or "." not in domain or any(c.isspace() for c in self.address):
            raise reject(f"{self.address!r} is not an e-mail address", "address")
        return self


class AddressArgs(ChildArgs):
    """A postal address; ``country`` is ISO 3166 alpha-2."""

    label: Label
    line1: Annotated[str, Text(200, required=True)]
    line2: Annotated[str | None, Text(200)] = None
    city: Annotated[str, Text(120, required=True)]
    region: Annotated[str | None, Text(120)] = None
    postal_code: Annotated[str | None, Text(32)] = None
    country: Annotated[str, Before(_country)]


class CustomerCreate(CustomerFields, MutationArgs):
    """``customer.create``: a person or a business with its contact points.

    A person needs a given or family name, a business an organisation name;
    ``display_name`` is derived from the names when absent. Replaying an existing ``id``
    changes nothing.
    """

    mutation = "customer.create"

    id: Id
    kind: Annotated[CustomerKind, Before(_kind)]
    display_name: Annotated[str | None, Text(400)] = None
    phones: Annotated[list[PhoneArgs], Before(_list), Field(max_length=MAX_CONTACTS)] = Field(
        default_factory=list
    )
    emails: Annotated[list[EmailArgs], Before(_list), Field(max_length=MAX_CONTACTS)] = Field(
        default_factory=list
    )
    addresses: Annotated[list[AddressArgs], Before(_list), Field(max_length=MAX_CONTACTS)] = Field(
        default_factory=list
    )

    @model_validator(mode="after")
    def _named(self) -> Self:
        if self.kind == CustomerKind.PERSON and not (self.given_name or self.family_name):
            raise reject("a person needs a given or family name", "family_name")
        if self.kind == CustomerKind.BUSINESS and not self.organisation_name:
            raise reject("a business needs an organisation name", "organisation_name")
        return self


class CustomerPatch(MutationArgs):
    """``customer.patch``: change some fields, merged per field with concurrent edits.

    ``base`` holds the value of each changed field as the agent saw it (the desktop fills
    missing entries from its cache before the outbox keeps them); the centre uses it to
    tell a concurrent edit. ``base_version`` is informational.
    """

    mutation = "customer.patch"

    id: Id
    changes: CustomerFields
    base: Annotated[dict[str, Any], Before(_object)] = Field(default_factory=dict)
    base_version: Annotated[int | None, WholeNumber()] = None

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        if not self.changes.model_fields_set:
            raise reject("changes must be a non-empty object", "changes")
        return self


class CustomerAddPhone(PhoneArgs, MutationArgs):
    """``customer.add_phone``: add a phone number; ``is_primary`` clears the others."""

    mutation = "customer.add_phone"

    customer_id: Id


class CustomerAddEmail(EmailArgs, MutationArgs):
    """``customer.add_email``: add an e-mail address; ``is_primary`` clears the others."""

    mutation = "customer.add_email"

    customer_id: Id


class CustomerAddAddress(AddressArgs, MutationArgs):
    """``customer.add_address``: add a postal address."""

    mutation = "customer.add_address"

    customer_id: Id


class CustomerDelete(MutationArgs):
    """``customer.delete``: tombstone a customer; ``reason`` is kept in the history."""

    mutation = "customer.delete"

    id: Id
    reason: Annotated[str | None, Text(2000, multiline=True)] = None
