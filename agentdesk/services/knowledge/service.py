"""Reading the knowledge base: suggestions for a call, full-text search, one article.

Both queries go through the ``search_kb_*`` index migration 0013 keeps with
triggers (SQLite FTS5 in the desktop cache and the embedded store, a weighted
``tsvector`` and ``text[]`` GIN indexes on PostgreSQL), bounded by a LIMIT.

Suggestions for a call are ranked the same way on both (``index.py``): an
article for the call's IVR intent first; then by how many of the customer's
products it is about; then one in the caller's language; a stale article
(past its review date) after a fresh one with the same score, and flagged.
When fewer than ``limit`` articles match the intent, articles about the
customer's products fill the list.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Row, select

from agentdesk.models import Agent, KnowledgeArticle, KnowledgeArticleVersion, Product
from agentdesk.services.knowledge.index import KnowledgeIndex
from agentdesk.services.knowledge.markdown import excerpt, render_html
from agentdesk.services.knowledge.query import parse_search, valid_code
from agentdesk.store.engine import read_session

DEFAULT_LIMIT = 8


@dataclass(frozen=True)
class ArticleHit:
    """One article in a list (suggestions or search results), with why it is there."""

    id: uuid.UUID
    title: str
    excerpt: str
    version: int
    language: str
    review_due: dt.date | None
    stale: bool
    reason: str


@dataclass(frozen=True)
class ArticleList:
    """The answer to a suggestion or a search, how long it took, and a note for the agent."""

    hits: tuple[ArticleHit, ...]
    elapsed_ms: float
    message: str = ""


@dataclass(frozen=True)
class VersionInfo:
    number: int
    published_at: dt.datetime
    published_by: str | None
    note: str | None


@dataclass(frozen=True)
class ArticleView:
    """One version of an article as the reader shows it (``html`` is safe to display)."""

    id: uuid.UUID
    version: int
    latest_version: int
    title: str
    body: str
    html: str
    tags: str
    intents: tuple[str, ...]
    products: tuple[str, ...]
    language: str
    owner: str | None
    owner_id: uuid.UUID | None
    review_due: dt.date | None
    stale: bool
    retired: bool
    versions: tuple[VersionInfo, ...]


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(hex=str(value))


def _codes(value: Any) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        return tuple(value)
    return tuple(str(value or "").split())


# How a product kind reads in "the customer has …".
_PRODUCT_WORDS = {
    "current": "a current account",
    "savings": "a savings account",
    "deposit": "a deposit",
    "loan": "a loan",
    "card": "a card",
    "mortgage": "a mortgage",
    "investment": "investments",
    "insurance": "insurance",
}


def _words(codes: Sequence[str]) -> str:
    words = [_PRODUCT_WORDS.get(c, c.replace("_", " ")) for c in codes]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


class KnowledgeService:
    """Read-only use cases over one store (the desktop's cache, or a central store)."""

    def __init__(self, engine: Engine, today: Callable[[], dt.date] | None = None) -> None:
        self._engine = engine
        self._index = KnowledgeIndex(engine.dialect.name == "postgresql")
        self._today = today or (lambda: dt.datetime.now(dt.UTC).date())

    # --- suggestions ----------------------------------------------------------------------

    def customer_products(self, customer_id: uuid.UUID | None) -> tuple[str, ...]:
        if customer_id is None:
            return ()
        with read_session(self._engine) as s:
            kinds = s.scalars(
                select(Product.kind).where(Product.customer_id == customer_id).distinct()
            )
            return tuple(sorted(str(k.value if hasattr(k, "value") else k) for k in kinds))

    def suggest(
        self,
        intent: str | None,
        customer_id: uuid.UUID | None = None,
        language: str | None = None,
        limit: int = DEFAULT_LIMIT,
        products: Sequence[str] | None = None,
    ) -> ArticleList:
        """Articles for a call: its IVR intent, then the customer's products (see module doc).

        ``products`` are the customer's product kinds when the caller's card already holds
        them (a pop from the server); otherwise they are read from this store.
        """
        started = time.perf_counter()
        code = valid_code(intent)
        if products is None:
            products = self.customer_products(customer_id)
        else:
            products = tuple(sorted({c for p in products if (c := valid_code(p))}))
        if code is None and not products:
            message = (
                "The IVR did not say what the call is about; search below."
                if not intent
                else f"No articles know the IVR's intent “{intent[:40]}”; search below."
            )
            return ArticleList((), _ms(started), message)
        today = self._today()
        with read_session(self._engine) as s:
            rows = self._index.by_intent(s, code, products, language, today, limit) if code else []
            if len(rows) < limit and products:
                rows += self._index.by_products(
                    s, products, language, today, limit - len(rows), not_intent=code
                )
        hits = tuple(self._hit(r, today, self._reason(r, code, products)) for r in rows)
        message = "" if hits else "No article matches this call; search below."
        return ArticleList(hits, _ms(started), message)

    @staticmethod
    def _reason(row: Row[Any], code: str | None, products: tuple[str, ...]) -> str:
        parts = []
        if code is not None and code in _codes(row.intents):
            parts.append(f"the call is about {code.replace('_', ' ')}")
        held = sorted(set(products).intersection(_codes(row.products)))
        if held:
            parts.append(f"the customer has {_words(held)}")
        return "; ".join(parts).capitalize()

    @staticmethod
    def _hit(row: Row[Any], today: dt.date, reason: str) -> ArticleHit:
        due = row.review_due
        return ArticleHit(
            row.id,
            row.title,
            excerpt(row.body),
            row.published_version,
            row.language,
            due,
            due is not None and due < today,
            reason,
        )

    # --- search ---------------------------------------------------------------------------

    def search(self, query: str, limit: int = 20) -> ArticleList:
        """Published articles matching every word typed (as prefixes), best first.

        Raises :class:`~agentdesk.services.knowledge.query.KnowledgeQueryError` for text
        that cannot be searched (empty, too long, punctuation only, too many words).
        """
        started = time.perf_counter()
        words = parse_search(query)
        today = self._today()
        with read_session(self._engine) as s:
            rows = self._index.search(s, words.fts5(), words.tsquery(), limit)
        hits = tuple(self._hit(r, today, "") for r in rows)
        message = "" if hits else f"No article contains “{' '.join(words.words)}”."
        return ArticleList(hits, _ms(started), message)

    # --- one article ----------------------------------------------------------------------

    def article(self, article_id: uuid.UUID, version: int | None = None) -> ArticleView | None:
        """The published version ``version`` of an article (the current one when None)."""
        with read_session(self._engine) as s:
            a = s.get(KnowledgeArticle, article_id)
            if a is None:
                return None
            number = version or a.published_version
            v = s.scalar(
                select(KnowledgeArticleVersion).where(
                    KnowledgeArticleVersion.article_id == article_id,
                    KnowledgeArticleVersion.number == number,
                )
            )
            if v is None and version is not None:
                return None
            names = {r[0]: r[1] for r in s.execute(select(Agent.id, Agent.display_name))}
            history = s.scalars(
                select(KnowledgeArticleVersion)
                .where(KnowledgeArticleVersion.article_id == article_id)
                .order_by(KnowledgeArticleVersion.number.desc())
            ).all()
            source: Any = v if v is not None else a
            today = self._today()
            return ArticleView(
                a.id,
                number,
                a.published_version,
                source.title,
                source.body,
                render_html(source.body),
                source.tags,
                _codes(source.intents),
                _codes(source.products),
                source.language,
                names.get(a.owner_id) if a.owner_id else None,
                a.owner_id,
                a.review_due,
                a.review_due is not None and a.review_due < today,
                a.status == "retired",
                tuple(
                    VersionInfo(
                        h.number,
                        h.published_at,
                        names.get(h.published_by) if h.published_by else None,
                        h.note,
                    )
                    for h in history
                ),
            )

    def stale(self, limit: int = 200) -> tuple[ArticleHit, ...]:
        """Published articles past their review date, most overdue first (for editors)."""
        with read_session(self._engine) as s:
            rows = s.scalars(
                select(KnowledgeArticle)
                .where(
                    KnowledgeArticle.status == "published",
                    KnowledgeArticle.review_due < self._today(),
                )
                .order_by(KnowledgeArticle.review_due)
                .limit(limit)
            ).all()
            return tuple(
                ArticleHit(
                    a.id,
                    a.title,
                    excerpt(a.body),
                    a.published_version,
                    a.language,
                    a.review_due,
                    True,
                    f"Review was due on {a.review_due:%d %b %Y}",
                )
                for a in rows
            )


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
