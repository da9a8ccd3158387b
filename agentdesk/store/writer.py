"""The local write path: apply a mutation to the cache and queue it, atomically.

Every write a desktop makes goes through ``LocalWriter.write``: the domain
rows and the outbox entry commit in one ``BEGIN IMMEDIATE`` transaction, so
a crash can lose neither one without the other. The outbox entry carries a
UUIDv7 mutation id and a per-client counter (SQLite AUTOINCREMENT, never
reused) that the centre uses to apply it exactly once.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from agentdesk.ids import uuid7
from agentdesk.models import OutboxEntry, utcnow
from agentdesk.store.engine import write_session
from agentdesk.store.mutation_args.base import MutationArgs
from agentdesk.store.mutations import Changed, MutationContext, apply_mutation, jsonable, spec


@dataclass(frozen=True)
class WriteResult:
    """What a local write produced: the outbox counter, the result and what changed."""

    mutation_id: uuid.UUID
    client_seq: int
    result: dict[str, Any]
    changed: tuple[Changed, ...]


WriteListener = Callable[[WriteResult], None]


class LocalWriter:
    """Serialises this workstation's writes to its local cache and outbox."""

    def __init__(self, engine: Engine, actor: str) -> None:
        self._engine = engine
        self._actor = actor
        self._lock = threading.Lock()  # one writer at a time, also within the process
        self._listeners: list[WriteListener] = []

    @property
    def actor(self) -> str:
        return self._actor

    def set_actor(self, actor: str) -> None:
        self._actor = actor

    def add_listener(self, listener: WriteListener) -> None:
        """Call ``listener`` after each committed write (e.g. to poke the sync worker)."""
        self._listeners.append(listener)

    def write(
        self,
        name: str,
        args: MutationArgs | Mapping[str, Any],
        base_versions: dict[str, Any] | None = None,
    ) -> WriteResult:
        """Apply mutation ``name`` locally and queue it for the centre.

        ``args`` is the mutation's argument class (services build it), or a mapping that
        is parsed into it. The outbox keeps the arguments as JSON, as the mutator left them.
        Raises ``MutationRejected`` (nothing written) when the input is invalid.
        """
        mutation = spec(name)
        ctx = MutationContext(actor=self._actor, side="local", now=utcnow())
        with self._lock, write_session(self._engine) as session:
            outcome = apply_mutation(session, name, args, ctx)
            assert outcome.args is not None  # apply_mutation fills it in
            safe_args = outcome.args.to_json()
            entity_id = (
                outcome.changed[0].entity_id if outcome.changed else uuid.UUID(safe_args["id"])
            )
            entry = OutboxEntry(
                mutation_id=uuid7(),
                name=name,
                entity_type=mutation.entity_type,
                entity_id=entity_id,
                args=safe_args,
                base_versions=jsonable(base_versions or {}),
                created_at=ctx.now,
            )
            session.add(entry)
            session.flush()
            result = WriteResult(
                entry.mutation_id, entry.client_seq, outcome.result, tuple(outcome.changed)
            )
        for listener in list(self._listeners):
            listener(result)
        return result
