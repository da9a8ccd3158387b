"""Customer mutators: create, per-field patch with merge rules, contact points, tombstone.

The same functions run on the desktop's cache (``ctx.side == "local"``) and,
later, on the central store where their outcome is authoritative:

* Locally the row changes at once but ``version`` is left at the last version
  the centre confirmed (0 for a customer created here and not yet synced), so
  the pull's version guard can always tell central truth from provisional data.
* Centrally every applied change bumps ``version``. ``customer.patch`` merges
  per field against the ``base`` values the agent saw: a field nobody else
  changed is applied; a field changed concurrently keeps the central value
  when it is identity/KYC data (names, date of birth) and files the losing
  value in ``conflict_review`` for a supervisor, otherwise the later arrival
  wins and the history keeps the value it replaced.
* Child ids (phones, emails, addresses, history rows are per side) are given
  by the caller or filled in on the local side, so both sides create the same
  rows and a replay changes nothing.
* A date of birth arrives in clear in the args (over TLS to the server). The
  desktop keeps only the year; the centre stores the year and the ciphertext
  made with ``ctx.field_cipher``. History rows and conflict reviews hold the
  masked form, and the merge compares masked forms: the desktop never knew
  more than the year it showed the agent.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from agentdesk.ids import uuid7
from agentdesk.models import (
    ConflictReview,
    Customer,
    CustomerAddress,
    CustomerEmail,
    CustomerHistory,
    CustomerKind,
    CustomerPhone,
)
from agentdesk.store.field_crypto import field_context
from agentdesk.store.mutation_args.base import rejecting
from agentdesk.store.mutation_args.customers import (
    AddressArgs,
    CustomerAddAddress,
    CustomerAddEmail,
    CustomerAddPhone,
    CustomerCreate,
    CustomerDelete,
    CustomerFields,
    CustomerPatch,
    EmailArgs,
    PhoneArgs,
)
from agentdesk.store.mutations import (
    Changed,
    MutationContext,
    MutationOutcome,
    MutationRejected,
    jsonable,
    mutator,
)

KYC_FIELDS = frozenset(
    {"given_name", "middle_name", "family_name", "organisation_name", "date_of_birth"}
)
NAME_FIELDS = frozenset({"given_name", "middle_name", "family_name", "organisation_name"})
PATCHABLE = frozenset(CustomerFields.model_fields)
BIRTH = "date_of_birth"
MASK = "\u2022"


def masked_birth(year: int | None) -> str | None:
    """The only form of a date of birth kept outside its ciphertext: ``••/••/1984``."""
    return None if year is None else f"{MASK}{MASK}/{MASK}{MASK}/{year}"


def _as_field(name: str, value: Any) -> Any:
    """A ``base`` value the agent saw, read as field ``name``'s type to compare it."""
    with rejecting("customer.patch"):
        return getattr(CustomerFields.model_validate({name: value}), name)


def _as_text(value: Any) -> str | None:
    return None if value is None else str(jsonable(value))


def display_name_of(row: Customer) -> str:
    """The list/search name: organisation for a business, given [middle] family for a person."""
    if row.kind == CustomerKind.BUSINESS and row.organisation_name:
        return row.organisation_name
    parts = [row.given_name, row.middle_name, row.family_name]
    return " ".join(p for p in parts if p) or (row.organisation_name or "")


def _live_customer(session: Session, customer_id: uuid.UUID | None, key: str = "id") -> Customer:
    row = session.get(Customer, customer_id, with_for_update=True) if customer_id else None
    if row is None:
        raise MutationRejected("no such customer", key)
    if row.deleted_at is not None:
        raise MutationRejected("the customer has been deleted", key)
    return row


def _history(
    session: Session, row: Customer, ctx: MutationContext, field: str, old: Any, new: Any
) -> Changed:
    entry = CustomerHistory(
        id=uuid7(),
        customer_id=row.id,
        field=field,
        old_value=_as_text(old),
        new_value=_as_text(new),
        changed_by=ctx.actor,
        changed_at=ctx.now,
    )
    session.add(entry)
    return Changed("customer_history", entry.id)


def _set_birth(row: Customer, born: dt.date | None, ctx: MutationContext) -> None:
    """Store a date of birth: the year everywhere, the ciphertext at the centre."""
    row.birth_year = None if born is None else born.year
    if ctx.side != "central":
        return
    if born is None:
        row.date_of_birth_enc = None
        return
    if ctx.field_cipher is None:
        raise MutationRejected(
            "this server has no field key configured, so it cannot store a date of birth",
            BIRTH,
        )
    context = field_context("customer", BIRTH, row.id)
    row.date_of_birth_enc = ctx.field_cipher.encrypt(born.isoformat(), context)


def _touched(row: Customer, ctx: MutationContext) -> None:
    row.updated_at = ctx.now
    if ctx.side == "central":
        row.version += 1


# --- contact points ------------------------------------------------------------------------


def _new_phone(item: PhoneArgs, customer_id: uuid.UUID, ctx: MutationContext) -> CustomerPhone:
    return CustomerPhone(
        id=item.id,
        customer_id=customer_id,
        label=item.label,
        number_raw=item.number_raw,
        e164=item.e164,
        is_primary=item.is_primary,
        created_at=ctx.now,
    )


def _new_email(item: EmailArgs, customer_id: uuid.UUID, ctx: MutationContext) -> CustomerEmail:
    return CustomerEmail(
        id=item.id,
        customer_id=customer_id,
        label=item.label,
        address=item.address,
        address_norm=item.address.lower(),
        is_primary=item.is_primary,
        created_at=ctx.now,
    )


def _new_address(
    item: AddressArgs, customer_id: uuid.UUID, ctx: MutationContext
) -> CustomerAddress:
    return CustomerAddress(
        id=item.id,
        customer_id=customer_id,
        label=item.label,
        line1=item.line1,
        line2=item.line2,
        city=item.city,
        region=item.region,
        postal_code=item.postal_code,
        country=item.country,
        created_at=ctx.now,
    )


def _clear_primary(
    session: Session,
    model: type[CustomerPhone] | type[CustomerEmail],
    customer_id: uuid.UUID,
    keep: uuid.UUID,
) -> None:
    session.execute(
        update(model)
        .where(model.customer_id == customer_id, model.id != keep)
        .values(is_primary=False)
    )


# --- mutators ------------------------------------------------------------------------------


@mutator("customer.create", "customer", CustomerCreate)
def create_customer(
    session: Session, args: CustomerCreate, ctx: MutationContext
) -> MutationOutcome:
    """Create a person or business with its contact points (``CustomerCreate``).

    Replaying an existing id changes nothing (result status ``exists``).
    """
    if session.get(Customer, args.id) is not None:
        return MutationOutcome({"status": "exists", "id": str(args.id)})
    row = Customer(
        id=args.id,
        kind=args.kind,
        version=1 if ctx.side == "central" else 0,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    given = args.given()
    born = given.pop(BIRTH, None)
    for name, value in given.items():
        setattr(row, name, value)
    if born is not None:
        _set_birth(row, born, ctx)
    row.display_name = args.display_name or display_name_of(row)
    session.add(row)
    session.flush()
    children: list[Any] = [_new_phone(i, args.id, ctx) for i in args.phones]
    children += [_new_email(i, args.id, ctx) for i in args.emails]
    children += [_new_address(i, args.id, ctx) for i in args.addresses]
    session.add_all(children)
    session.flush()
    return MutationOutcome(
        {"status": "created", "id": str(args.id)},
        [Changed("customer", args.id, version=row.version)],
    )


def _merge_field(
    session: Session,
    row: Customer,
    field: str,
    new: Any,
    base: dict[str, Any],
    ctx: MutationContext,
) -> str:
    """Decide one field: ``same`` (already so), ``applied``, or ``conflict`` (central kept)."""
    current = getattr(row, field)
    if current == new:
        return "same"
    concurrent = (
        ctx.side == "central" and field in base and _as_field(field, base[field]) != current
    )
    if concurrent and field in KYC_FIELDS:
        session.add(
            ConflictReview(
                id=uuid7(),
                entity_type="customer",
                entity_id=row.id,
                field=field,
                central_value=_as_text(current),
                losing_value=_as_text(new),
                client_id=ctx.client_id,
                agent_login=ctx.actor,
                created_at=ctx.now,
            )
        )
        return "conflict"
    # Not identity data, or nobody else changed it: the later arrival wins and the
    # history row written by the caller keeps the value it replaced.
    setattr(row, field, new)
    return "applied"


def _merge_birth(
    session: Session, row: Customer, new: dt.date | None, base: dict[str, Any], ctx: MutationContext
) -> str:
    """``_merge_field`` for the date of birth, which only the centre can read in full."""
    shown = masked_birth(row.birth_year)
    if ctx.side == "local":
        # The desktop cannot tell whether the full date changed; the centre decides.
        base.setdefault(BIRTH, shown)
        _set_birth(row, new, ctx)
        return "applied"
    current: str | None = None
    if row.date_of_birth_enc is not None:
        if ctx.field_cipher is None:
            raise MutationRejected(
                "this server has no field key configured, so it cannot change a date of birth",
                BIRTH,
            )
        current = ctx.field_cipher.decrypt(
            row.date_of_birth_enc, field_context("customer", BIRTH, row.id)
        )
    if current == (None if new is None else new.isoformat()):
        return "same"
    # Clients send the masked form they showed as the base (older ones the ISO date);
    # either way it is compared as a masked value.
    seen = base.get(BIRTH)
    if isinstance(seen, str) and len(seen) == 10 and seen[4] == "-":
        seen = masked_birth(int(seen[:4]))
    if BIRTH in base and seen != shown:
        new_year = None if new is None else new.year
        session.add(
            ConflictReview(
                id=uuid7(),
                entity_type="customer",
                entity_id=row.id,
                field=BIRTH,
                central_value=shown,
                losing_value=masked_birth(new_year),
                client_id=ctx.client_id,
                agent_login=ctx.actor,
                created_at=ctx.now,
            )
        )
        return "conflict"
    _set_birth(row, new, ctx)
    return "applied"


@mutator("customer.patch", "customer", CustomerPatch)
def patch_customer(session: Session, args: CustomerPatch, ctx: MutationContext) -> MutationOutcome:
    """Change some fields of a customer, merging per field with concurrent edits.

    ``display_name`` follows the names. Locally the ``base`` values the agent did not send
    are filled in from the cache, and the outbox keeps the arguments so completed. Result:
    ``applied`` fields and ``kept`` {field: central value} for identity fields whose
    concurrent edit went to the supervisors' conflict review.
    """
    row = _live_customer(session, args.id)
    base = dict(args.base)
    parsed = args.changes.given()
    changed: list[Changed] = []
    applied: list[str] = []
    kept: dict[str, Any] = {}
    for name, new in parsed.items():
        if name == BIRTH:
            old_shown = masked_birth(row.birth_year)
            verdict = _merge_birth(session, row, new, base, ctx)
            if verdict == "applied":
                applied.append(name)
                new_shown = masked_birth(row.birth_year)
                changed.append(_history(session, row, ctx, name, old_shown, new_shown))
            elif verdict == "conflict":
                kept[name] = old_shown
            continue
        if ctx.side == "local":
            base.setdefault(name, jsonable(getattr(row, name)))
        old = getattr(row, name)
        verdict = _merge_field(session, row, name, new, base, ctx)
        if verdict == "applied":
            applied.append(name)
            changed.append(_history(session, row, ctx, name, old, new))
        elif verdict == "conflict":
            kept[name] = jsonable(old)
    if applied:
        if NAME_FIELDS.intersection(applied):
            row.display_name = display_name_of(row)
        _touched(row, ctx)
    session.flush()
    result = {
        "status": "updated" if applied else "unchanged",
        "id": str(row.id),
        "applied": applied,
        "kept": kept,
    }
    queued = args.model_copy(update={"base": base}) if ctx.side == "local" else args
    return MutationOutcome(
        result, [Changed("customer", row.id, version=row.version), *changed], queued
    )


def _add_child(
    session: Session,
    customer_id: uuid.UUID,
    ctx: MutationContext,
    child: CustomerPhone | CustomerEmail | CustomerAddress,
    kind: str,
) -> MutationOutcome:
    row = _live_customer(session, customer_id, "customer_id")
    if session.get(type(child), child.id) is not None:
        return MutationOutcome({"status": "exists", "id": str(child.id)})
    child.customer_id = row.id
    session.add(child)
    session.flush()
    if isinstance(child, CustomerPhone | CustomerEmail) and child.is_primary:
        _clear_primary(session, type(child), row.id, child.id)
    shown = getattr(child, "number_raw", None) or getattr(child, "address", None)
    shown = shown or getattr(child, "line1", None)
    history = _history(session, row, ctx, kind, None, shown)
    _touched(row, ctx)
    session.flush()
    return MutationOutcome(
        {"status": "created", "id": str(child.id)},
        [Changed("customer", row.id, version=row.version), history],
    )


@mutator("customer.add_phone", "customer", CustomerAddPhone)
def add_phone(session: Session, args: CustomerAddPhone, ctx: MutationContext) -> MutationOutcome:
    """Add a phone number; ``is_primary`` clears the others."""
    return _add_child(
        session, args.customer_id, ctx, _new_phone(args, args.customer_id, ctx), "phone"
    )


@mutator("customer.add_email", "customer", CustomerAddEmail)
def add_email(session: Session, args: CustomerAddEmail, ctx: MutationContext) -> MutationOutcome:
    """Add an e-mail address; ``is_primary`` clears the others."""
    return _add_child(
        session, args.customer_id, ctx, _new_email(args, args.customer_id, ctx), "email"
    )


@mutator("customer.add_address", "customer", CustomerAddAddress)
def add_address(
    session: Session, args: CustomerAddAddress, ctx: MutationContext
) -> MutationOutcome:
    """Add a postal address."""
    child = _new_address(args, args.customer_id, ctx)
    return _add_child(session, args.customer_id, ctx, child, "address")


@mutator("customer.delete", "customer", CustomerDelete)
def delete_customer(
    session: Session, args: CustomerDelete, ctx: MutationContext
) -> MutationOutcome:
    """Tombstone a customer (``deleted_at``); nothing is removed, later edits are refused.

    Deleting twice changes nothing.
    """
    row = session.get(Customer, args.id, with_for_update=True)
    if row is None:
        raise MutationRejected("no such customer", "id")
    if row.deleted_at is not None:
        return MutationOutcome({"status": "unchanged", "id": str(row.id)})
    reason = args.reason
    row.deleted_at = ctx.now
    history = _history(session, row, ctx, "deleted_at", None, reason or ctx.now)
    _touched(row, ctx)
    session.flush()
    return MutationOutcome(
        {"status": "deleted", "id": str(row.id)},
        [Changed("customer", row.id, op="delete", version=row.version), history],
    )
