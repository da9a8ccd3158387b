"""The SQL behind suggestions and search, on SQLite FTS5 and on PostgreSQL.

Each query scores, sorts and limits in the database and returns only the rows
shown, with what the list needs (a few kilobytes): a pop must not pull the
hundreds of articles an intent has through the driver to rank them in Python.

Score of a suggestion, the same on both dialects: 100 for an article about
the call's IVR intent, 10 per product of the customer's it is about, 5 when
it is in the caller's language, minus 3 when it is past its review date (so
it comes after a fresh one of the same relevance, and is still shown).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Date, Row, Uuid, bindparam, column, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import TextualSelect

INTENT_SCORE = 100
PRODUCT_SCORE = 10
LANGUAGE_SCORE = 5
STALE_PENALTY = 3

_SELECT = (
    "SELECT a.id, a.title, a.body, a.published_version, a.language, a.review_due, "
    "a.intents, a.products"
)
_SQLITE_FTS = (
    " FROM search_kb_fts JOIN search_kb_doc d ON d.docid = search_kb_fts.rowid"
    " WHERE search_kb_fts MATCH :q AND d.status = 'published'"
)
# The newest articles about any of the customer's products, ranked among themselves:
# ranking every article about a common product (10 000 of 20 000) costs 10-20 ms.
PRODUCT_CANDIDATES = 300
_PG_DOC = (
    " FROM search_kb_doc d JOIN knowledge_article a ON a.id = d.article_id"
    " WHERE a.status = 'published'"
)


@functools.lru_cache(maxsize=256)
def _typed(sql: str) -> TextualSelect:
    """The statement for ``sql``, built once (one per product count and query shape)."""
    return (
        text(sql)
        .bindparams(bindparam("today", type_=Date()))
        .columns(
            column("id", Uuid()),
            column("title"),
            column("body"),
            column("published_version"),
            column("language"),
            column("review_due", Date()),
            column("intents"),
            column("products"),
        )
    )


def _score(base: int, products: Sequence[str], params: dict[str, Any], t: str) -> str:
    """The score expression over table alias ``t``; binds one `` code `` per product.

    ``instr`` (SQLite) and ``strpos`` (PostgreSQL) rather than LIKE: the same test on
    space-padded codes at a third of the cost over a pop's 800 candidates.
    """
    find = "strpos" if t == "a" else "instr"
    parts = [str(base)]
    for n, code in enumerate(products):
        params[f"p{n}"] = f" {code} "
        parts.append(
            f"CASE WHEN {find}(' ' || {t}.products || ' ', :p{n}) > 0"
            f" THEN {PRODUCT_SCORE} ELSE 0 END"
        )
    parts.append(f"CASE WHEN {t}.language = :lang THEN {LANGUAGE_SCORE} ELSE 0 END")
    parts.append(f"CASE WHEN {t}.review_due < :today THEN {STALE_PENALTY} ELSE 0 END")
    return " + ".join(parts[:-1]) + " - " + parts[-1]


def _best(score: str, where: str, t: str) -> str:
    """Rank candidates by ``score`` on their narrow index rows, then read the ``:n`` kept."""
    return (
        f"{_SELECT}, t.score FROM (SELECT {t}.{'article_id' if t == 'd' else 'id'} AS aid,"
        f" {score} AS score{where} ORDER BY score DESC LIMIT :n) t"
        " JOIN knowledge_article a ON a.id = t.aid ORDER BY t.score DESC, a.title, a.id"
    )


class KnowledgeIndex:
    """Builds and runs the index queries for one dialect."""

    def __init__(self, postgres: bool) -> None:
        self._postgres = postgres

    def by_intent(
        self,
        s: Session,
        code: str,
        products: Sequence[str],
        language: str | None,
        today: dt.date,
        limit: int,
    ) -> list[Row[Any]]:
        """The best ``limit`` published articles about intent ``code``."""
        params: dict[str, Any] = {"lang": language or "", "today": today, "n": limit}
        t = "a" if self._postgres else "d"
        score = _score(INTENT_SCORE, products, params, t)
        if self._postgres:
            where = _PG_DOC + " AND d.intents @> ARRAY[CAST(:code AS text)]"
            params["code"] = code
        else:
            where = _SQLITE_FTS
            params["q"] = f'{{intents}} : "{code}"'
        return list(s.execute(_typed(_best(score, where, t)), params))

    def by_products(
        self,
        s: Session,
        products: Sequence[str],
        language: str | None,
        today: dt.date,
        limit: int,
        not_intent: str | None = None,
    ) -> list[Row[Any]]:
        """The best ``limit`` articles about the customer's products (not about ``not_intent``)."""
        params: dict[str, Any] = {"lang": language or "", "today": today, "n": limit}
        t = "a" if self._postgres else "d"
        score = _score(0, products, params, t)
        params["cap"] = PRODUCT_CANDIDATES
        if self._postgres:
            inner = (
                "SELECT d.article_id FROM search_kb_doc d WHERE d.status = 'published'"
                " AND d.products && CAST(:codes AS text[]) ORDER BY d.article_id DESC LIMIT :cap"
            )
            where = _PG_DOC + f" AND d.article_id IN ({inner})"
            params["codes"] = list(products)
        else:
            inner = (
                "SELECT rowid FROM search_kb_fts WHERE search_kb_fts MATCH :q"
                " ORDER BY rowid DESC LIMIT :cap"
            )
            where = f" FROM search_kb_doc d WHERE d.docid IN ({inner}) AND d.status = 'published'"
            params["q"] = "{products} : (" + " OR ".join(f'"{p}"' for p in products) + ")"
        if not_intent is not None:
            where += f" AND NOT (' ' || {t}.intents || ' ') LIKE :not_intent"
            params["not_intent"] = f"% {not_intent} %"
        return list(s.execute(_typed(_best(score, where, t)), params))

    def search(self, s: Session, fts5: str, tsquery: str, limit: int) -> list[Row[Any]]:
        """Published articles matching a search, best first (title over tags over body)."""
        if self._postgres:
            sql = (
                f"{_SELECT} FROM search_kb_doc d JOIN knowledge_article a ON a.id = d.article_id,"
                " to_tsquery('simple', search_fold(:tsq)) q"
                " WHERE d.tsv @@ q AND a.status = 'published'"
                " ORDER BY ts_rank(d.tsv, q) DESC, a.id LIMIT :n"
            )
        else:
            sql = (
                f"{_SELECT} FROM search_kb_fts"
                " JOIN search_kb_doc d ON d.docid = search_kb_fts.rowid"
                " JOIN knowledge_article a ON a.id = d.article_id"
                " WHERE search_kb_fts MATCH :q AND d.status = 'published'"
                " ORDER BY bm25(search_kb_fts, 10.0, 1.0, 4.0, 0.0, 0.0), a.id LIMIT :n"
            )
        params: dict[str, Any] = {"n": limit}
        params.update({"tsq": tsquery} if self._postgres else {"q": fts5})
        clause = text(sql).columns(
            column("id", Uuid()),
            column("title"),
            column("body"),
            column("published_version"),
            column("language"),
            column("review_due", Date()),
            column("intents"),
            column("products"),
        )
        return list(s.execute(clause, params))
