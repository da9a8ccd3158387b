"""Who is calling? Caller ID → none, one or several customers, and the card a screen pop shows.

Lookups are point queries on ``customer_phone.e164`` (indexed) followed by a
handful of indexed reads for the chosen customer. The screen pop calls
:meth:`CallerMatcher.match` on the local cache synchronously (microseconds)
and, when the cache has no answer and the central store is reachable,
:meth:`CallerMatcher.match` on the central engine from a worker thread.
Both return the same frozen values, so the pop does not care where they came from.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol

from sqlalchemy import Engine, Select, Uuid, bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from agentdesk.logsafe import describe_error
from agentdesk.models import Customer, CustomerPhone, Interaction, Product, Ticket, TicketStatus
from agentdesk.services.crm.customer_views import mask_product
from agentdesk.services.crm.phone import CallerNumber, normalise

Source = Literal["local", "central", "none"]
OPEN_TICKET_STATES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)
MAX_CANDIDATES = 25

log = logging.getLogger(__name__)


class MatchKind(StrEnum):
    """Salesforce Open CTI's model: no match, single match, multiple matches."""

    NONE = "none"
    SINGLE = "single"
    MULTIPLE = "multiple"


@dataclass(frozen=True)
class CustomerSummary:
    """One candidate caller: enough to tell namesakes apart in a chooser."""

    id: uuid.UUID
    display_name: str
    kind: str
    segment: str
    preferred_language: str
    vulnerable: bool
    phone_label: str | None = None
    birth_year: int | None = None  # the full date is encrypted at the centre


@dataclass(frozen=True)
class ProductLine:
    """One product on the pop card, number already masked (``Visa •••• 1234``)."""

    kind: str
    name: str
    last4: str
    status: str
    masked: str = ""


@dataclass(frozen=True)
class TicketLine:
    id: uuid.UUID
    number: str
    title: str
    status: str
    priority: str
    resolution_due: dt.datetime | None


@dataclass(frozen=True)
class InteractionLine:
    id: uuid.UUID
    started_at: dt.datetime
    channel: str
    direction: str
    disposition_code: str | None
    subject: str | None


@dataclass(frozen=True)
class CustomerCard:
    """What the pop shows for one customer."""

    summary: CustomerSummary
    products: tuple[ProductLine, ...] = ()
    product_count: int = 0
    open_tickets: tuple[TicketLine, ...] = ()
    recent: tuple[InteractionLine, ...] = ()


@dataclass(frozen=True)
class CallerMatch:
    """The outcome of matching one caller ID against one store."""

    number: CallerNumber
    kind: MatchKind
    source: Source
    candidates: tuple[CustomerSummary, ...] = ()
    card: CustomerCard | None = None
    truncated: bool = False
    errors: tuple[str, ...] = field(default=())

    @property
    def customer_id(self) -> uuid.UUID | None:
        return self.card.summary.id if self.card else None


class PopMatcher(Protocol):
    """Matches callers and loads cards: the cache's matcher, or the server's."""

    def match_number(self, number: CallerNumber) -> CallerMatch:
        """The customers owning ``number``."""

    def card(self, customer_id: uuid.UUID) -> CustomerCard | None:
        """One customer's pop card, or None if they do not exist."""


class CallerMatcher:
    """Matches caller IDs against one store (the local cache or the central database)."""

    def __init__(
        self,
        engine: Engine,
        *,
        source: Source,
        region: str = "GB",
        products: int = 6,
        tickets: int = 5,
        recent: int = 5,
    ) -> None:
        self._engine = engine
        self._source = source
        self._region = region
        self._limits = (products, tickets, recent)
        # Built once: constructing a SELECT costs far more than running one on the pop path.
        self._q = _Queries.build(tickets, recent)

    @property
    def source(self) -> Source:
        return self._source

    def match(self, raw: str | None) -> CallerMatch:
        """Match a caller ID as the PBX gave it; never raises for odd input."""
        number = normalise(raw, self._region)
        return self.match_number(number)

    def owns(self, conn: Connection, customer_id: uuid.UUID, raw: str | None) -> bool:
        """True if ``raw`` (a caller ID in any format) is one of ``customer_id``'s numbers:
        the customer a match on it would hand out. Read on ``conn`` (the caller's
        transaction); odd input is simply False."""
        key = normalise(raw, self._region).lookup_key
        return key is not None and any(c.id == customer_id for c in self._candidates(conn, key))

    def match_number(self, number: CallerNumber) -> CallerMatch:
        """Never raises: a store that fails says so in ``errors`` (and the pop asks further)."""
        try:
            return self._match(number)
        except SQLAlchemyError as exc:
            log.warning("%s lookup failed: %s", self._source, describe_error(exc))
            return CallerMatch(number, MatchKind.NONE, "none", errors=(describe_error(exc),))

    def _match(self, number: CallerNumber) -> CallerMatch:
        key = number.lookup_key
        if key is None:
            return CallerMatch(number, MatchKind.NONE, "none")
        with self._engine.connect() as conn:
            candidates = self._candidates(conn, key)
            if not candidates:
                return CallerMatch(number, MatchKind.NONE, self._source)
            truncated = len(candidates) > MAX_CANDIDATES
            candidates = candidates[:MAX_CANDIDATES]
            if len(candidates) > 1:
                return CallerMatch(
                    number, MatchKind.MULTIPLE, self._source, tuple(candidates), truncated=truncated
                )
            card = self._card(conn, candidates[0])
        return CallerMatch(number, MatchKind.SINGLE, self._source, tuple(candidates), card)

    def card(self, customer_id: uuid.UUID) -> CustomerCard | None:
        """The pop card of one customer (after the agent picked them in the chooser)."""
        with self._engine.connect() as conn:
            row = conn.execute(self._q.summary, {"cid": customer_id}).first()
            if row is None:
                return None
            return self._card(conn, self._summary(row))

    # ------------------------------------------------------------------ queries
    @staticmethod
    def _summary(row: object, label: str | None = None) -> CustomerSummary:
        r = row._mapping  # type: ignore[attr-defined]
        return CustomerSummary(
            r["id"],
            r["display_name"],
            str(r["kind"]),
            r["segment"],
            r["preferred_language"],
            bool(r["vulnerable"]),
            label,
            r["birth_year"],
        )

    def _candidates(self, conn: Connection, e164: str) -> list[CustomerSummary]:
        seen: dict[uuid.UUID, CustomerSummary] = {}
        for row in conn.execute(self._q.candidates, {"e164": e164}):
            if row.id not in seen:  # one customer may list the same number twice
                seen[row.id] = self._summary(row, str(row.label))
        return list(seen.values())

    def _card(self, conn: Connection, summary: CustomerSummary) -> CustomerCard:
        n_products = self._limits[0]
        params = {"cid": summary.id}
        products = conn.execute(self._q.products, params).all()
        tickets = conn.execute(self._q.tickets, params).all()
        recent = conn.execute(self._q.recent, params).all()
        return CustomerCard(
            summary,
            tuple(
                ProductLine(
                    str(p.kind),
                    p.name,
                    p.number_last4,
                    p.status,
                    mask_product(str(p.kind), None, p.card_bin, p.number_last4),
                )
                for p in products[:n_products]
            ),
            len(products),
            tuple(
                TicketLine(
                    t.id, t.number, t.title, str(t.status), str(t.priority), t.resolution_due
                )
                for t in tickets
            ),
            tuple(
                InteractionLine(
                    i.id,
                    i.started_at,
                    str(i.channel),
                    str(i.direction),
                    i.disposition_code,
                    i.subject,
                )
                for i in recent
            ),
        )


@dataclass(frozen=True)
class _Queries:
    """The pop's statements, with bind parameters ``:e164`` and ``:cid``."""

    summary: Select[*tuple[Any, ...]]
    candidates: Select[*tuple[Any, ...]]
    products: Select[*tuple[Any, ...]]
    tickets: Select[*tuple[Any, ...]]
    recent: Select[*tuple[Any, ...]]

    @classmethod
    def build(cls, tickets: int, recent: int) -> _Queries:
        cid = bindparam("cid", type_=Uuid())
        base = select(
            Customer.id,
            Customer.display_name,
            Customer.kind,
            Customer.segment,
            Customer.preferred_language,
            Customer.vulnerable,
            Customer.birth_year,
        )
        return cls(
            summary=base.where(Customer.id == cid),
            candidates=(
                base.add_columns(CustomerPhone.label)
                .join(CustomerPhone, CustomerPhone.customer_id == Customer.id)
                .where(CustomerPhone.e164 == bindparam("e164"), Customer.deleted_at.is_(None))
                .order_by(Customer.display_name, Customer.id)
                .limit(MAX_CANDIDATES + 1)
            ),
            products=(
                select(
                    Product.kind,
                    Product.name,
                    Product.number_last4,
                    Product.status,
                    Product.card_bin,
                )
                .where(Product.customer_id == cid)
                .order_by(Product.kind, Product.name)
            ),
            tickets=(
                select(
                    Ticket.id,
                    Ticket.number,
                    Ticket.title,
                    Ticket.status,
                    Ticket.priority,
                    Ticket.resolution_due,
                )
                .where(
                    Ticket.customer_id == cid,
                    Ticket.status.in_(OPEN_TICKET_STATES),
                    Ticket.deleted_at.is_(None),
                )
                .order_by(Ticket.created_at.desc())
                .limit(tickets)
            ),
            recent=(
                select(
                    Interaction.id,
                    Interaction.started_at,
                    Interaction.channel,
                    Interaction.direction,
                    Interaction.disposition_code,
                    Interaction.subject,
                )
                .where(Interaction.customer_id == cid)
                .order_by(Interaction.started_at.desc())
                .limit(recent)
            ),
        )
