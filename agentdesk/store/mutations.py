"""Named mutations: the only way domain data changes, locally and centrally.

A mutation is a business operation (``interaction.add``, ``ticket.update``…)
with JSON-safe arguments. The desktop applies it to its local cache and
queues it in the outbox in the same transaction; the sync engine later
applies the *same* mutator on the central store, where its result is
authoritative. Keeping one registry means the two sides cannot drift.

Mutators receive an open session inside a write transaction, validate,
change rows, and return a small JSON-safe result. They raise
``MutationRejected`` for input that can never succeed (the agent must fix
it); any other exception is treated as transient by the sync engine.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.orm import Session

from agentdesk.store.field_crypto import FieldCipher

Side = Literal["local", "central"]


@dataclass(frozen=True)
class MutationContext:
    """Who applies a mutation, where, and when.

    ``field_cipher`` is the server's field key (central side only): mutators that take an
    identity number or a date of birth store its ciphertext with it. A desktop has none and
    stores only the masked form; the clear value travels in the mutation args to the server.
    """

    actor: str
    side: Side
    now: dt.datetime
    client_id: uuid.UUID | None = None
    field_cipher: FieldCipher | None = None


@dataclass(frozen=True)
class Changed:
    """One row a mutation touched, for the change feed and for screens to refresh."""

    entity_type: str
    entity_id: uuid.UUID
    op: Literal["upsert", "delete"] = "upsert"
    version: int = 1


@dataclass
class MutationOutcome:
    """What a mutator returns: a JSON-safe result plus the rows it changed."""

    result: dict[str, Any]
    changed: list[Changed] = field(default_factory=list)


class MutationRejected(ValueError):
    """Input that can never be applied; shown to the agent with ``field`` highlighted."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


Mutator = Callable[[Session, dict[str, Any], MutationContext], MutationOutcome]


@dataclass(frozen=True)
class MutatorSpec:
    name: str
    entity_type: str
    fn: Mutator


_REGISTRY: dict[str, MutatorSpec] = {}


def mutator(name: str, entity_type: str) -> Callable[[Mutator], Mutator]:
    """Register ``fn`` as the mutator for ``name``."""

    def register(fn: Mutator) -> Mutator:
        if name in _REGISTRY:
            raise RuntimeError(f"mutation {name!r} registered twice")
        _REGISTRY[name] = MutatorSpec(name, entity_type, fn)
        return fn

    return register


def spec(name: str) -> MutatorSpec:
    _load_builtin_mutators()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise MutationRejected(f"unknown mutation {name!r}") from None


def names() -> list[str]:
    _load_builtin_mutators()
    return sorted(_REGISTRY)


def apply_mutation(
    session: Session, name: str, args: dict[str, Any], ctx: MutationContext
) -> MutationOutcome:
    """Run the named mutator inside the caller's transaction."""
    return spec(name).fn(session, args, ctx)


def _load_builtin_mutators() -> None:
    # Imported lazily: the mutator modules import this one to register.
    import agentdesk.store.mutators  # noqa: F401


# --- small argument helpers shared by mutators --------------------------------------------


def arg_uuid(args: dict[str, Any], key: str, *, required: bool = True) -> uuid.UUID | None:
    value = args.get(key)
    if value is None:
        if required:
            raise MutationRejected(f"{key} is required", key)
        return None
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise MutationRejected(f"{key} is not a valid id", key) from None


def arg_datetime(args: dict[str, Any], key: str, *, required: bool = True) -> dt.datetime | None:
    value = args.get(key)
    if value is None:
        if required:
            raise MutationRejected(f"{key} is required", key)
        return None
    try:
        parsed = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise MutationRejected(f"{key} is not an ISO 8601 timestamp", key) from None
    if parsed.tzinfo is None:
        raise MutationRejected(f"{key} must carry a time zone", key)
    return parsed.astimezone(dt.UTC)


# Free-text fields where an agent may type line breaks and tabs; every other text field is
# one line, so a value cannot paint a second line (a fake "ID&V PASSED") under a name.
MULTILINE_KEYS = frozenset({"notes", "body", "description", "reason"})
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_CONTROL = re.compile("[\t\n\r]")


def arg_text(args: dict[str, Any], key: str, *, max_len: int, required: bool = False) -> str | None:
    """A text argument, refused with a clear reason if it cannot be stored and shown safely.

    Lone surrogates (half of a UTF-16 pair, from a broken paste or a crafted request)
    cannot be encoded for the database or the wire; control characters have no glyph and
    can hide text. Bidi controls stay allowed: real names need them, and the desktop
    neutralises them when it shows a value.
    """
    value = args.get(key)
    if value is None or value == "":
        if required:
            raise MutationRejected(f"{key} is required", key)
        return None
    if not isinstance(value, str):
        raise MutationRejected(f"{key} must be text", key)
    if len(value) > max_len:
        raise MutationRejected(f"{key} is {len(value):,} characters; the limit is {max_len:,}", key)
    if "\x00" in value:
        raise MutationRejected(f"{key} contains a NUL character", key)
    if (bad := _SURROGATE.search(value)) is not None:
        raise MutationRejected(
            f"{key} contains an invalid character (a lone UTF-16 surrogate, "
            f"U+{ord(bad.group()):04X}, at position {bad.start() + 1}); retype or re-paste it",
            key,
        )
    if (bad := _CONTROL.search(value)) is not None or (
        key not in MULTILINE_KEYS and (bad := _LINE_CONTROL.search(value)) is not None
    ):
        what = "a line break or tab" if bad.group() in "\t\n\r" else "a control character"
        raise MutationRejected(
            f"{key} contains {what} (U+{ord(bad.group()):04X}) at position {bad.start() + 1}"
            + ("" if key in MULTILINE_KEYS else "; it must be a single line"),
            key,
        )
    return value


def jsonable(value: Any) -> Any:
    """Turn ids, datetimes and enums into JSON-safe values for outbox args and results."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "value") and isinstance(value.value, str):
        return value.value
    return value
