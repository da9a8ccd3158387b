"""Named mutations: the only way domain data changes, locally and centrally.

A mutation is a business operation (``interaction.add``, ``ticket.update``…)
with JSON-safe arguments. The desktop applies it to its local cache and
queues it in the outbox in the same transaction; the sync engine later
applies the *same* mutator on the central store, where its result is
authoritative. Keeping one registry means the two sides cannot drift.

Each mutation has one argument class (``store.mutation_args``). The service
that builds a mutation constructs it; ``apply_mutation`` parses whatever
arrives (the instance, or the JSON an outbox row or a push carries) once, and
the mutator receives the validated instance. Mutators run inside a write
transaction, check what needs the database (references, workflow), change
rows, and return a small JSON-safe result. They raise ``MutationRejected``
for input that can never succeed (the agent must fix it); any other
exception is treated as transient by the sync engine.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, overload

from sqlalchemy.orm import Session

from agentdesk.store.field_crypto import FieldCipher
from agentdesk.store.mutation_args.base import MutationArgs, OpenArgs
from agentdesk.store.mutation_args.base import MutationRejected as MutationRejected

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
    """What a mutator returns: a JSON-safe result plus the rows it changed.

    ``args`` are the arguments as the outbox must keep them when the mutator completed
    them locally (a patch's ``base`` values read from the cache); ``apply_mutation`` fills
    in the parsed arguments otherwise.
    """

    result: dict[str, Any]
    changed: list[Changed] = field(default_factory=list)
    args: MutationArgs | None = None


A = TypeVar("A", bound=MutationArgs)
Mutator = Callable[[Session, A, MutationContext], MutationOutcome]


@dataclass(frozen=True)
class MutatorSpec:
    """One registered mutation: its name, the entity it changes, its arguments and mutator."""

    name: str
    entity_type: str
    args_type: type[MutationArgs]
    fn: Callable[[Session, Any, MutationContext], MutationOutcome]


_REGISTRY: dict[str, MutatorSpec] = {}


@overload
def mutator(name: str, entity_type: str) -> Callable[[Mutator[Any]], Mutator[Any]]: ...


@overload
def mutator(name: str, entity_type: str, args: type[A]) -> Callable[[Mutator[A]], Mutator[A]]: ...


def mutator(
    name: str, entity_type: str, args: type[MutationArgs] = OpenArgs
) -> Callable[[Mutator[Any]], Mutator[Any]]:
    """Register ``fn`` as the mutator for ``name``, taking ``args`` (already validated).

    Without ``args`` the mutator gets ``OpenArgs`` (any keys): only for tests' fakes.
    """
    if args is not OpenArgs and args.mutation != name:
        raise RuntimeError(f"{args.__name__} is the arguments of {args.mutation!r}, not {name!r}")

    def register(fn: Mutator[Any]) -> Mutator[Any]:
        if name in _REGISTRY:
            raise RuntimeError(f"mutation {name!r} registered twice")
        _REGISTRY[name] = MutatorSpec(name, entity_type, args, fn)
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


def args_types() -> dict[str, type[MutationArgs]]:
    """Every mutation's name and argument class (for the server's published schema)."""
    _load_builtin_mutators()
    return {
        name: spec.args_type
        for name, spec in sorted(_REGISTRY.items())
        if spec.args_type is not OpenArgs
    }


def apply_mutation(
    session: Session, name: str, args: Mapping[str, Any] | MutationArgs, ctx: MutationContext
) -> MutationOutcome:
    """Parse ``args`` once and run the named mutator inside the caller's transaction.

    ``args`` is the instance a service built, or the JSON an outbox row or a push
    carries; either way a bad value is ``MutationRejected`` naming its field, before any
    row is touched.
    """
    mutation = spec(name)
    parsed = mutation.args_type.parse(args)
    outcome = mutation.fn(session, parsed, ctx)
    if outcome.args is None:
        outcome.args = parsed
    return outcome


def _load_builtin_mutators() -> None:
    # Imported lazily: the mutator modules import this one to register.
    import agentdesk.store.mutators  # noqa: F401


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
