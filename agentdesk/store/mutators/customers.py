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
import re
import uuid
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from agentdesk.ids import uuid7
from agentdesk.models import (
    ConflictReview,
    ContactLabel,
    Customer,
    CustomerAddress,
    CustomerEmail,
    CustomerHistory,
    CustomerKind,
    CustomerPhone,
)
from agentdesk.store.field_crypto import field_context
from agentdesk.store.mutations import (
    Changed,
    MutationContext,
    MutationOutcome,
    MutationRejected,
    arg_text,
    arg_uuid,
    jsonable,
    mutator,
)

E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
KYC_FIELDS = frozenset(
    {"given_name", "middle_name", "family_name", "organisation_name", "date_of_birth"}
)
NAME_FIELDS = frozenset({"given_name", "middle_name", "family_name", "organisation_name"})
_TEXT_LIMITS = {
    "given_name": 200,
    "middle_name": 200,
    "family_name": 200,
    "organisation_name": 300,
    "organisation_type": 64,
    "segment": 32,
    "preferred_language": 16,
    "preferred_channel": 16,
}
_BOOL_FIELDS = frozenset({"marketing_opt_out", "vulnerable"})
PATCHABLE = (
    frozenset(_TEXT_LIMITS) | _BOOL_FIELDS | {"employee_count", "date_of_birth", "home_region"}
)
BIRTH = "date_of_birth"
MASK = "\u2022"


def masked_birth(year: int | None) -> str | None:
    """The only form of a date of birth kept outside its ciphertext: ``••/••/1984``."""
    return None if year is None else f"{MASK}{MASK}/{MASK}{MASK}/{year}"


# --- argument parsing ---------------------------------------------------------------------


def _field_value(name: str, value: Any) -> Any:
    """Validate one patchable field and return it in its column's Python type."""
    if name in _TEXT_LIMITS:
        return arg_text({name: value}, name, max_len=_TEXT_LIMITS[name])
    if name in _BOOL_FIELDS:
        if not isinstance(value, bool):
            raise MutationRejected(f"{name} must be true or false", name)
        return value
    if name == "employee_count":
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000_000:
            raise MutationRejected(
                "employee_count must be a whole number from 0 to 10,000,000", name
            )
        return value
    if name == "date_of_birth":
        if value is None or value == "":
            return None
        try:
            born = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        except ValueError:
            raise MutationRejected("date_of_birth must be an ISO date (YYYY-MM-DD)", name) from None
        if not dt.date(1880, 1, 1) <= born <= dt.date.today():
            raise MutationRejected("date_of_birth is outside any plausible range", name)
        return born
    if name == "home_region":
        if not isinstance(value, str) or not COUNTRY.match(value):
            raise MutationRejected("home_region must be a two-letter country code", name)
        return value
    raise MutationRejected(f"{name} cannot be changed with customer.patch", name)


def _label(value: Any, key: str) -> ContactLabel:
    try:
        return ContactLabel(value)
    except ValueError:
        allowed = ", ".join(m.value for m in ContactLabel)
        raise MutationRejected(f"{key} {value!r} is not one of: {allowed}", key) from None


def _child_id(item: dict[str, Any]) -> uuid.UUID:
    if item.get("id") is None:
        # Filled in place: on the local side the outbox keeps the args after the mutator
        # ran, so the centre later creates the very same row.
        item["id"] = str(uuid7())
    child = arg_uuid(item, "id")
    assert child is not None
    return child


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


def _new_phone(item: dict[str, Any], customer_id: uuid.UUID, ctx: MutationContext) -> CustomerPhone:
    e164 = item.get("e164")
    if e164 is not None and (not isinstance(e164, str) or not E164.match(e164)):
        raise MutationRejected("e164 must be an E.164 number such as +441632960001", "e164")
    return CustomerPhone(
        id=_child_id(item),
        customer_id=customer_id,
        label=_label(item.get("label"), "label"),
        number_raw=arg_text(item, "number_raw", max_len=64, required=True),
        e164=e164,
        is_primary=bool(item.get("is_primary", False)),
        created_at=ctx.now,
    )


def _new_email(item: dict[str, Any], customer_id: uuid.UUID, ctx: MutationContext) -> CustomerEmail:
    raw = arg_text(item, "address", max_len=320, required=True)
    address = (raw or "").strip()
    mailbox, _, domain = address.rpartition("@")
    if not mailbox or "." not in domain or any(c.isspace() for c in address):
        raise MutationRejected(f"{address!r} is not an e-mail address", "address")
    return CustomerEmail(
        id=_child_id(item),
        customer_id=customer_id,
        label=_label(item.get("label"), "label"),
        address=address,
        address_norm=address.lower(),
        is_primary=bool(item.get("is_primary", False)),
        created_at=ctx.now,
    )


def _new_address(
    item: dict[str, Any], customer_id: uuid.UUID, ctx: MutationContext
) -> CustomerAddress:
    country = item.get("country")
    if not isinstance(country, str) or not COUNTRY.match(country):
        raise MutationRejected("country must be a two-letter country code", "country")
    return CustomerAddress(
        id=_child_id(item),
        customer_id=customer_id,
        label=_label(item.get("label"), "label"),
        line1=arg_text(item, "line1", max_len=200, required=True),
        line2=arg_text(item, "line2", max_len=200),
        city=arg_text(item, "city", max_len=120, required=True),
        region=arg_text(item, "region", max_len=120),
        postal_code=arg_text(item, "postal_code", max_len=32),
        country=country,
        created_at=ctx.now,
    )


def _items(args: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = args.get(key) or []
    if (
        not isinstance(items, list)
        or not all(isinstance(i, dict) for i in items)
        or len(items) > 50
    ):
        raise MutationRejected(f"{key} must be a list of at most 50 objects", key)
    return items


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


@mutator("customer.create", "customer")
def create_customer(
    session: Session, args: dict[str, Any], ctx: MutationContext
) -> MutationOutcome:
    """Create a person or business with its contact points.

    args: ``id`` (UUIDv7, required); ``kind`` ``person``|``business``; ``given_name``,
    ``middle_name``, ``family_name`` (a person needs a given or family name);
    ``organisation_name`` (required for a business), ``organisation_type``, ``employee_count``;
    ``date_of_birth`` (YYYY-MM-DD); ``segment``, ``preferred_language``, ``preferred_channel``,
    ``marketing_opt_out``, ``vulnerable``, ``home_region``; ``display_name`` (optional, derived
    from the names when absent); ``phones`` [{``id``, ``label``, ``number_raw``, ``e164`` (already
    normalised by the caller, or null), ``is_primary``}], ``emails`` [{``id``, ``label``,
    ``address``, ``is_primary``}], ``addresses`` [{``id``, ``label``, ``line1``, ``line2``,
    ``city``, ``region``, ``postal_code``, ``country``}]. Child ids are filled in locally when
    missing. Replaying an existing id changes nothing (result status ``exists``).
    """
    customer_id = arg_uuid(args, "id")
    assert customer_id is not None
    if session.get(Customer, customer_id) is not None:
        return MutationOutcome({"status": "exists", "id": str(customer_id)})
    try:
        kind = CustomerKind(str(args.get("kind")))
    except ValueError:
        raise MutationRejected("kind must be 'person' or 'business'", "kind") from None
    row = Customer(
        id=customer_id,
        kind=kind,
        version=1 if ctx.side == "central" else 0,
        created_at=ctx.now,
        updated_at=ctx.now,
    )
    for name in sorted(PATCHABLE - {BIRTH}):
        if name in args:
            setattr(row, name, _field_value(name, args[name]))
    if args.get(BIRTH) is not None:
        _set_birth(row, _field_value(BIRTH, args[BIRTH]), ctx)
    if kind == CustomerKind.PERSON and not (row.given_name or row.family_name):
        raise MutationRejected("a person needs a given or family name", "family_name")
    if kind == CustomerKind.BUSINESS and not row.organisation_name:
        raise MutationRejected("a business needs an organisation name", "organisation_name")
    row.display_name = arg_text(args, "display_name", max_len=400) or display_name_of(row)
    session.add(row)
    session.flush()
    children: list[Any] = [_new_phone(i, customer_id, ctx) for i in _items(args, "phones")]
    children += [_new_email(i, customer_id, ctx) for i in _items(args, "emails")]
    children += [_new_address(i, customer_id, ctx) for i in _items(args, "addresses")]
    session.add_all(children)
    session.flush()
    return MutationOutcome(
        {"status": "created", "id": str(customer_id)},
        [Changed("customer", customer_id, version=row.version)],
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
        ctx.side == "central" and field in base and _field_value(field, base[field]) != current
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


@mutator("customer.patch", "customer")
def patch_customer(session: Session, args: dict[str, Any], ctx: MutationContext) -> MutationOutcome:
    """Change some fields of a customer, merging per field with concurrent edits.

    args: ``id``; ``changes`` {field: new value} with fields from ``PATCHABLE`` (names, date of
    birth, segment, languages, channel, flags, home region); ``base`` {field: value the agent saw
    when editing} (optional: the local side fills missing entries from the cache before the
    outbox keeps them); ``base_version`` (optional, informational). ``display_name`` follows the
    names. Result: ``applied`` fields and ``kept`` {field: central value} for identity fields
    whose concurrent edit went to the supervisors' conflict review.
    """
    row = _live_customer(session, arg_uuid(args, "id"))
    changes = args.get("changes")
    if not isinstance(changes, dict) or not changes:
        raise MutationRejected("changes must be a non-empty object", "changes")
    base = args.setdefault("base", {}) if ctx.side == "local" else (args.get("base") or {})
    if not isinstance(base, dict):
        raise MutationRejected("base must be an object", "base")
    parsed = {name: _field_value(name, value) for name, value in sorted(changes.items())}
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
    return MutationOutcome(result, [Changed("customer", row.id, version=row.version), *changed])


def _add_child(
    session: Session, args: dict[str, Any], ctx: MutationContext, kind: str
) -> MutationOutcome:
    row = _live_customer(session, arg_uuid(args, "customer_id"), "customer_id")
    builders = {
        "phone": (_new_phone, CustomerPhone),
        "email": (_new_email, CustomerEmail),
        "address": (_new_address, CustomerAddress),
    }
    build, model = builders[kind]
    child_id = _child_id(args)
    if session.get(model, child_id) is not None:
        return MutationOutcome({"status": "exists", "id": str(child_id)})
    child = build(args, row.id, ctx)
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
        {"status": "created", "id": str(child_id)},
        [Changed("customer", row.id, version=row.version), history],
    )


@mutator("customer.add_phone", "customer")
def add_phone(session: Session, args: dict[str, Any], ctx: MutationContext) -> MutationOutcome:
    """Add a phone number. args: ``customer_id``, ``id``, ``label``, ``number_raw``, ``e164``
    (normalised by the caller, or null when it cannot be), ``is_primary`` (clears the others)."""
    return _add_child(session, args, ctx, "phone")


@mutator("customer.add_email", "customer")
def add_email(session: Session, args: dict[str, Any], ctx: MutationContext) -> MutationOutcome:
    """Add an e-mail address.

    args: ``customer_id``, ``id``, ``label``, ``address``, ``is_primary``.
    """
    return _add_child(session, args, ctx, "email")


@mutator("customer.add_address", "customer")
def add_address(session: Session, args: dict[str, Any], ctx: MutationContext) -> MutationOutcome:
    """Add a postal address. args: ``customer_id``, ``id``, ``label``, ``line1``, ``line2``,
    ``city``, ``region``, ``postal_code``, ``country`` (ISO 3166 alpha-2)."""
    return _add_child(session, args, ctx, "address")


@mutator("customer.delete", "customer")
def delete_customer(
    session: Session, args: dict[str, Any], ctx: MutationContext
) -> MutationOutcome:
    """Tombstone a customer (``deleted_at``); nothing is removed, later edits are refused.

    args: ``id``; ``reason`` (optional, kept in the history). Deleting twice changes nothing.
    """
    customer_id = arg_uuid(args, "id")
    row = session.get(Customer, customer_id, with_for_update=True)
    if row is None:
        raise MutationRejected("no such customer", "id")
    if row.deleted_at is not None:
        return MutationOutcome({"status": "unchanged", "id": str(row.id)})
    reason = arg_text(args, "reason", max_len=2000)
    row.deleted_at = ctx.now
    history = _history(session, row, ctx, "deleted_at", None, reason or ctx.now)
    _touched(row, ctx)
    session.flush()
    return MutationOutcome(
        {"status": "deleted", "id": str(row.id)},
        [Changed("customer", row.id, op="delete", version=row.version), history],
    )
