"""Values exchanged between a desktop and the central store, and the errors of the protocol."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, TimeoutError


class Cursor(NamedTuple):
    """Position in the change feed: ``(xid, seq)`` on PostgreSQL, ``(0, seq)`` on SQLite."""

    xid: int
    seq: int

    def __str__(self) -> str:
        return f"{self.xid}:{self.seq}"

    @classmethod
    def parse(cls, text: str | None) -> Cursor:
        if not text:
            return START
        xid, _, seq = text.partition(":")
        return cls(int(xid), int(seq))


START = Cursor(0, 0)


@dataclass(frozen=True)
class PushEntry:
    """One outbox entry on its way to the centre."""

    client_seq: int
    mutation_id: uuid.UUID
    name: str
    args: dict[str, Any]


PushState = Literal["applied", "duplicate", "rejected"]


@dataclass(frozen=True)
class PushResult:
    """The centre's verdict on one entry (a duplicate carries the stored first verdict)."""

    client_seq: int
    mutation_id: uuid.UUID
    state: PushState
    result: dict[str, Any]
    error: str | None = None
    field: str | None = None

    @property
    def rejected(self) -> bool:
        return self.state == "rejected" or self.result.get("state") == "rejected"


@dataclass(frozen=True)
class PushReply:
    """Verdicts in order; ``gap_expected`` is set when the centre refused an out-of-order entry."""

    results: tuple[PushResult, ...]
    gap_expected: int | None = None


@dataclass(frozen=True)
class FeedRow:
    """One change-feed row as a client receives it."""

    xid: int
    seq: int
    entity_type: str
    entity_id: uuid.UUID
    op: str
    version: int
    data: dict[str, Any] | None

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.xid, self.seq)


class SyncError(RuntimeError):
    """Base of the sync protocol's errors."""


class CentralUnavailable(SyncError):
    """The central store cannot be reached now; retry later."""


class SessionExpired(SyncError):
    """The centre no longer accepts this desktop's session: the agent must sign in again.

    Nothing is lost meanwhile: the outbox keeps every write until a new session sends it.
    """


class ResyncRequired(SyncError):
    """The feed no longer holds everything after this client's cursor: refill, then re-push."""


class ClientIdentityError(SyncError):
    """Another cache already used this client id with different mutations; a new id is needed."""


class PoisonSuspect(SyncError):
    """A mutation failed at the centre for a reason other than validation or connectivity."""

    def __init__(self, mutation_id: uuid.UUID, detail: str) -> None:
        super().__init__(f"mutation {mutation_id} failed at the centre: {detail}")
        self.mutation_id = mutation_id
        self.detail = detail


def is_transient(exc: BaseException) -> bool:
    """Connection loss, server restart, deadlock, lock timeout: worth retrying unchanged."""
    if isinstance(exc, CentralUnavailable | OperationalError | InterfaceError | TimeoutError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, ConnectionError | OSError)
