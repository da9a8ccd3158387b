"""As-you-type search over customers and tickets (Ctrl+K).

Names, phone digits and e-mail words go through the ``search_*`` index that
migration 0003 maintains with triggers: SQLite FTS5 with prefix indexes in the
embedded store and the local cache, a GIN ``tsvector`` index on PostgreSQL.
E-mail prefixes, ticket numbers and account last digits use plain B-tree
indexes. Every query is bounded by a LIMIT and never sorts the whole match
set, so a two-letter prefix over a million customers costs as little as a
full name; the few candidates are ranked in Python.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from agentdesk.models import Customer, CustomerEmail, Product, Ticket
from agentdesk.services.crm.phone import normalise
from agentdesk.services.crm.search_query import ParsedQuery, QueryKind, parse_query

DEFAULT_LIMIT = 20
_CANDIDATES = 200  # index rows fetched before ranking; bounded so prefixes stay cheap
_MAX_CODEPOINT = "\U0010ffff"


@dataclass(frozen=True)
class SearchHit:
    """One result row: a customer or a ticket, with the field that matched."""

    kind: str  # "customer" | "ticket"
    id: uuid.UUID
    title: str
    detail: str
    matched: str  # name | phone | email | account | ticket
    customer_id: uuid.UUID | None = None


@dataclass(frozen=True)
class SearchResults:
    """The answer to one query, with how long it took and a hint when nothing was searched."""

    query: str
    kind: QueryKind
    hits: tuple[SearchHit, ...]
    elapsed_ms: float
    message: str = ""


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _like_prefix(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _fts_quote(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def _display_phone(digits: str) -> str:
    verdict = normalise("+" + digits) if digits.isdigit() else None
    return verdict.display if verdict and verdict.e164 else digits


class Searcher(Protocol):
    """Anything that answers an agent's search box (this service, or the server's)."""

    def search(self, raw: str) -> SearchResults:
        """Search for ``raw``; never raises for bad input."""


class SearchService:
    """Runs classified queries against one store; safe to call from a worker thread."""

    def __init__(
        self, engine: Engine, default_region: str = "GB", limit: int = DEFAULT_LIMIT
    ) -> None:
        self._engine = engine
        self._region = default_region
        self._limit = limit
        self._pg = engine.dialect.name == "postgresql"

    def search(self, raw: str) -> SearchResults:
        """Search for ``raw`` (anything an agent types or pastes); never raises for bad input."""
        started = time.perf_counter()
        parsed = parse_query(raw, self._region)
        hits: tuple[SearchHit, ...] = ()
        if parsed.kind is not QueryKind.EMPTY:
            with Session(self._engine) as session:
                hits = tuple(self._dispatch(session, parsed))
        elapsed = (time.perf_counter() - started) * 1000
        message = parsed.message or ("" if hits else "no matches")
        return SearchResults(raw, parsed.kind, hits, elapsed, message)

    def _dispatch(self, session: Session, parsed: ParsedQuery) -> list[SearchHit]:
        if parsed.kind is QueryKind.TICKET:
            return self._tickets(session, parsed.terms[0])
        if parsed.kind is QueryKind.EMAIL:
            return self._emails(session, parsed.terms[0])
        if parsed.kind is QueryKind.ACCOUNT:
            return self._accounts(session, parsed.terms[0])
        return self._indexed(session, parsed)

    # --- the trigger-maintained index (names, phones, e-mail words) ----------------------

    def _indexed(self, session: Session, parsed: ParsedQuery) -> list[SearchHit]:
        rows = self._pg_docs(session, parsed) if self._pg else self._fts_docs(session, parsed)
        tokens = parsed.terms
        ranked: dict[uuid.UUID, tuple[int, str, str]] = {}
        for customer_id, field, body in rows:
            score = self._score(field, str(body), tokens, parsed.kind)
            best = ranked.get(customer_id)
            if best is None or score < best[0]:
                ranked[customer_id] = (score, field, str(body))
        names = self._customer_names(session, list(ranked))
        ordered = sorted(
            (cid for cid in ranked if cid in names),
            key=lambda c: (ranked[c][0], names[c][0].lower()),
        )
        return [
            self._customer_hit(cid, names[cid], ranked[cid][1], ranked[cid][2]) for cid in ordered
        ][: self._limit]

    @staticmethod
    def _score(field: str, body: str, tokens: Sequence[str], kind: QueryKind) -> int:
        """Lower is better: exact words before prefixes, names before e-mail words."""
        if kind is QueryKind.PHONE:
            return 0 if body in tokens else 1
        words = body.lower().replace("@", " ").replace(".", " ").split()
        exact = sum(1 for t in tokens if t in words)
        return (len(tokens) - exact) * 2 + (0 if field == "name" else 1)

    def _fts_docs(self, session: Session, parsed: ParsedQuery) -> list[tuple[uuid.UUID, str, str]]:
        if parsed.kind is QueryKind.PHONE:
            match = "phone : (" + " OR ".join(_fts_quote(t) + "*" for t in parsed.terms) + ")"
        else:
            match = "{name email} : " + " AND ".join(_fts_quote(t) + "*" for t in parsed.terms)
        result = session.execute(
            text(
                "SELECT d.customer_id, d.name, d.phone, d.email FROM search_fts "
                "JOIN search_doc d ON d.docid = search_fts.rowid "
                "WHERE search_fts MATCH :match LIMIT :n"
            ),
            {"match": match, "n": _CANDIDATES},
        )
        out = []
        for cid, name, phone, email in result:
            field, body = (
                ("name", name) if name else ("phone", phone) if phone else ("email", email)
            )
            out.append((_uuid(cid), field, body or ""))
        return out

    def _pg_docs(self, session: Session, parsed: ParsedQuery) -> list[tuple[uuid.UUID, str, str]]:
        if parsed.kind is QueryKind.PHONE:
            query, kinds = " | ".join(f"{t}:*" for t in parsed.terms), ["phone"]
        else:
            query, kinds = " & ".join(f"'{t}':*" for t in parsed.terms), ["name", "email"]
        result = session.execute(
            text(
                "SELECT customer_id, kind, body FROM search_doc "
                "WHERE tsv @@ to_tsquery('simple', search_fold(:q)) AND kind = ANY(:kinds) LIMIT :n"
            ),
            {"q": query, "kinds": kinds, "n": _CANDIDATES},
        )
        return [(_uuid(cid), kind, body) for cid, kind, body in result]

    # --- B-tree lookups ---------------------------------------------------------------------

    def _prefix(self, column: Any, prefix: str) -> Any:
        if self._pg:
            return column.like(_like_prefix(prefix), escape="\\")
        # SQLite's LIKE ignores case and skips the index; a range on BINARY collation does not.
        return (column >= prefix) & (column < prefix + _MAX_CODEPOINT)

    def _emails(self, session: Session, prefix: str) -> list[SearchHit]:
        stmt = (
            select(Customer.id, Customer.display_name, Customer.segment, CustomerEmail.address)
            .join(CustomerEmail, CustomerEmail.customer_id == Customer.id)
            .where(self._prefix(CustomerEmail.address_norm, prefix), Customer.deleted_at.is_(None))
            .limit(self._limit)
        )
        return [
            self._customer_hit(cid, (n, s), "email", a) for cid, n, s, a in session.execute(stmt)
        ]

    def _accounts(self, session: Session, last4: str) -> list[SearchHit]:
        stmt = (
            select(Customer.id, Customer.display_name, Customer.segment, Product.name)
            .join(Product, Product.customer_id == Customer.id)
            .where(Product.number_last4 == last4, Customer.deleted_at.is_(None))
            .limit(self._limit)
        )
        return [
            self._customer_hit(cid, (n, s), "account", f"{p} ••••{last4}")
            for cid, n, s, p in session.execute(stmt)
        ]

    def _tickets(self, session: Session, prefix: str) -> list[SearchHit]:
        stmt = (
            select(
                Ticket.id,
                Ticket.number,
                Ticket.title,
                Ticket.status,
                Ticket.customer_id,
                Customer.display_name,
            )
            .outerjoin(Customer, Customer.id == Ticket.customer_id)
            .where(self._prefix(Ticket.number, prefix.upper()), Ticket.deleted_at.is_(None))
            .order_by(Ticket.number)
            .limit(self._limit)
        )
        return [
            SearchHit(
                "ticket",
                tid,
                f"{number} · {title}",
                f"{status} · {name or 'no customer'}",
                "ticket",
                cid,
            )
            for tid, number, title, status, cid, name in session.execute(stmt)
        ]

    # --- shaping ----------------------------------------------------------------------------

    @staticmethod
    def _customer_names(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str]]:
        if not ids:
            return {}
        stmt = select(Customer.id, Customer.display_name, Customer.segment).where(
            Customer.id.in_(ids), Customer.deleted_at.is_(None)
        )
        return {cid: (name, segment) for cid, name, segment in session.execute(stmt)}

    @staticmethod
    def _customer_hit(cid: uuid.UUID, name: tuple[str, str], field: str, body: str) -> SearchHit:
        display, segment = name
        if field == "phone":
            detail = f"Phone {_display_phone(body)}"
        elif field == "email":
            detail = f"Email {body}"
        elif field == "account":
            detail = body
        else:
            detail = segment.capitalize()
        return SearchHit("customer", cid, display, detail, field, cid)
