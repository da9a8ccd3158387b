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
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.orm import Session

Side = Literal["local", "central"]


@dataclass(frozen=True)
class MutationContext:
    """Who applies a mutation, where, and when."""

    actor: str
    side: Side
    now: dt.datetime
    client_id: uuid.UUID | None = None


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


def arg_text(args: dict[str, Any], key: str, *, max_len: int, required: bool = False) -> str | None:
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
