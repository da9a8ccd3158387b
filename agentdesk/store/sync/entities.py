"""What the change feed carries: synced entity kinds, their JSON form, and how they decode.

A feed row names an entity kind and carries the row as it stood after the
change. The customer is an *aggregate*: its row travels with its phones,
e-mails, addresses, identity documents and products, versioned together by
``customer.version``, so a client replaces the whole card at once and never
shows half of a concurrent edit. Tickets carry their own version; history
rows, comments, interactions and audit entries are append-only.

Ciphertext columns (``SERVER_ONLY_COLUMNS``) never leave the centre: feed
payloads and cache fills carry NULL in their place, so a desktop cache holds
the masked forms and nothing a stolen laptop could decrypt offline.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Select, Table, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.types import Date, Enum, Numeric, Uuid

from agentdesk.models import (
    Agent,
    AgentSkill,
    AuditEntry,
    Base,
    Customer,
    CustomerAddress,
    CustomerEmail,
    CustomerHistory,
    CustomerPhone,
    Disposition,
    IdentityDocument,
    Interaction,
    KnowledgeArticle,
    KnowledgeArticleVersion,
    Product,
    Queue,
    Reminder,
    Skill,
    Team,
    Ticket,
    TicketAlert,
    TicketComment,
    TicketHistory,
    agent_team,
)
from agentdesk.models.base import UTCDateTime


@dataclass(frozen=True)
class EntityKind:
    """One kind of feed entity: its table, the aggregate root it belongs to, how it merges.

    ``root`` names the aggregate whose pending local mutations shield this row
    from being overwritten (``customer`` or ``ticket``), or None for
    append-only rows that can never conflict.
    """

    name: str
    model: type[Base]
    root: str | None
    root_column: str | None
    versioned: bool

    @property
    def table(self) -> Table:
        return _t(self.model)


def _t(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


CUSTOMER_CHILDREN: tuple[tuple[str, Table], ...] = (
    ("phones", _t(CustomerPhone)),
    ("emails", _t(CustomerEmail)),
    ("addresses", _t(CustomerAddress)),
    ("documents", _t(IdentityDocument)),
    ("products", _t(Product)),
)

KINDS: dict[str, EntityKind] = {
    k.name: k
    for k in (
        EntityKind("customer", Customer, "customer", "id", True),
        EntityKind("customer_history", CustomerHistory, "customer", "customer_id", False),
        EntityKind("ticket", Ticket, "ticket", "id", True),
        EntityKind("ticket_history", TicketHistory, "ticket", "ticket_id", False),
        EntityKind("ticket_comment", TicketComment, None, None, False),
        EntityKind("interaction", Interaction, None, None, False),
        EntityKind("audit_entry", AuditEntry, None, None, False),
        # Follow-ups for one agent's desk (issue 12): a reminder changes state at the centre
        # (due) and on the desk (done), so it carries a version; an alert is written once.
        EntityKind("reminder", Reminder, None, None, True),
        EntityKind("ticket_alert", TicketAlert, None, None, False),
        # The knowledge base (issue 13): every cache holds all of it; an article changes
        # (publish, review, retire) with a version, each published version is written once.
        EntityKind("knowledge_article", KnowledgeArticle, None, None, True),
        EntityKind("knowledge_article_version", KnowledgeArticleVersion, None, None, False),
    )
}
# Kinds every desktop receives whatever its scope (the feed has no team or customer for them).
BROADCAST_KINDS: frozenset[str] = frozenset({"knowledge_article", "knowledge_article_version"})

# Reference data: copied whole on every fill and refreshed periodically, never edited on desktops.
REFERENCE_TABLES: tuple[Table, ...] = (
    _t(Team),
    _t(Agent),
    agent_team,
    _t(Skill),
    _t(AgentSkill),
    _t(Queue),
    _t(Disposition),
)
# Every table the sync engine writes into on a desktop, parents before children.
SYNCED_TABLES: tuple[Table, ...] = (
    _t(KnowledgeArticle),
    _t(KnowledgeArticleVersion),
    _t(Customer),
    *(t for _, t in CUSTOMER_CHILDREN),
    _t(CustomerHistory),
    _t(Ticket),
    _t(TicketHistory),
    _t(TicketComment),
    _t(Interaction),
    _t(AuditEntry),
    _t(Reminder),
    _t(TicketAlert),
)


# Encrypted identity data: read only by the server (reveal), replaced by NULL in every
# payload and cache fill. Agent password hashes: checked only by the server's sign-in;
# caches keep the column (one schema everywhere) but never a hash in it.
SERVER_ONLY_COLUMNS: dict[str, frozenset[str]] = {
    "customer": frozenset({"date_of_birth_enc"}),
    "identity_document": frozenset({"number_enc"}),
    "agent": frozenset({"password_hash"}),
}
# What a NOT NULL server-only column holds in a cache: not a PHC string, so no password
# ever verifies against it.
WITHHELD = "!withheld"


def replica_select(table: Table) -> Select[Any]:
    """``SELECT`` every column of ``table`` in order, server-only ones blanked.

    Blanked means NULL, or ``WITHHELD`` where the column cannot be NULL.
    """
    hidden = SERVER_ONLY_COLUMNS.get(table.name, frozenset())
    if not hidden:
        return select(table)
    return select(
        *(
            literal(None if c.nullable else WITHHELD, type_=c.type).label(c.name)
            if c.name in hidden
            else c
            for c in table.columns
        )
    )


# --- JSON encoding --------------------------------------------------------------------------


def encode_value(value: Any) -> Any:
    """A column value as JSON: ids and timestamps as text, decimals as text, enums by value."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def encode_row(row: Any, table: Table) -> dict[str, Any]:
    """An ORM object or a Core row as a JSON-safe dict keyed by column name.

    Server-only columns are present (so every payload has the same keys) but always None.
    """
    hidden = SERVER_ONLY_COLUMNS.get(table.name, frozenset())
    if hasattr(row, "_mapping"):
        mapping = row._mapping
        return {
            c.name: None if c.name in hidden else encode_value(mapping[c.name])
            for c in table.columns
        }
    return {
        c.name: None if c.name in hidden else encode_value(getattr(row, c.name))
        for c in table.columns
    }


def _decoder(column: Column[Any]) -> Callable[[Any], Any]:
    kind = column.type
    if isinstance(kind, Uuid):
        return uuid.UUID
    if isinstance(kind, UTCDateTime):
        return dt.datetime.fromisoformat
    if isinstance(kind, Date):
        return dt.date.fromisoformat
    if isinstance(kind, Numeric):
        return Decimal
    if isinstance(kind, Enum) and kind.enum_class is not None:
        return kind.enum_class
    return same


def same(value: Any) -> Any:
    """The decoder of columns whose JSON value is already the Python value."""
    return value


_DECODERS: dict[str, dict[str, Callable[[Any], Any]]] = {}


def _decoders(table: Table) -> dict[str, Callable[[Any], Any]]:
    decoders = _DECODERS.get(table.name)
    if decoders is None:
        decoders = {c.name: _decoder(c) for c in table.columns}
        _DECODERS[table.name] = decoders
    return decoders


def column_decoders(table: Table) -> list[Callable[[Any], Any]]:
    """One decoder per column, in column order (for rows sent as JSON arrays)."""
    return list(_decoders(table).values())


def decode_row(data: dict[str, Any], table: Table) -> dict[str, Any]:
    """The inverse of ``encode_row``: Python values ready to bind. Unknown keys are dropped."""
    decoders = _decoders(table)
    return {
        name: (None if data.get(name) is None else fn(data[name]))
        for name, fn in decoders.items()
        if name in data
    }


# --- serialising the central state of an entity -------------------------------------------


def customer_aggregate(session: Session, customer_id: uuid.UUID) -> dict[str, Any] | None:
    """The customer row with every child list, or None if it does not exist."""
    row = session.execute(
        replica_select(_t(Customer)).where(_t(Customer).c.id == customer_id)
    ).first()
    if row is None:
        return None
    data: dict[str, Any] = {"row": encode_row(row, _t(Customer))}
    for key, table in CUSTOMER_CHILDREN:
        rows = session.execute(
            replica_select(table).where(table.c.customer_id == customer_id).order_by(table.c.id)
        )
        data[key] = [encode_row(r, table) for r in rows]
    return data


def serialise(session: Session, kind: EntityKind, entity_id: uuid.UUID) -> dict[str, Any] | None:
    """The feed payload of one entity as it stands in ``session`` (None when absent)."""
    if kind.name == "customer":
        return customer_aggregate(session, entity_id)
    # Usually in the identity map already (the mutator just wrote it): no query.
    row = session.get(kind.model, entity_id)
    return None if row is None else {"row": encode_row(row, kind.table)}


def scope_keys(kind: EntityKind, data: dict[str, Any] | None) -> tuple[Any, Any]:
    """(team_id, customer_id) of a payload, for feed filtering."""
    if not data:
        return None, None
    row = data["row"]
    if kind.name == "customer":
        return None, row["id"]
    return row.get("team_id"), row.get("customer_id")


def payload_root_id(kind: EntityKind, data: dict[str, Any]) -> uuid.UUID | None:
    if kind.root_column is None:
        return None
    value = data["row"].get(kind.root_column)
    return None if value is None else uuid.UUID(str(value))


def unique(items: Iterable[tuple[str, uuid.UUID]]) -> list[tuple[str, uuid.UUID]]:
    """Keep first occurrence order, drop repeats."""
    return list(dict.fromkeys(items))
