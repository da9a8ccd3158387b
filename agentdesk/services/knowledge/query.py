"""What an agent typed into the knowledge search box, checked and turned into index queries.

Bad input gets a sentence, not an empty list: nothing typed, only punctuation, a
pasted page (longer than :data:`MAX_QUERY`), too many words. Words are reduced to
letters, digits and ``_`` before they reach FTS5 or ``to_tsquery``, so no query
syntax (quotes, ``NEAR``, ``:``, ``&``) typed by an agent can change the query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_QUERY = 200  # characters
MAX_WORDS = 12
_WORD = re.compile(r"\w+", re.UNICODE)
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class KnowledgeQueryError(ValueError):
    """The search text cannot be searched as it stands; the message says what to change."""


@dataclass(frozen=True)
class SearchWords:
    """The words of a valid search, lower-cased, in the order typed, without repeats."""

    words: tuple[str, ...]

    def fts5(self) -> str:
        """An FTS5 MATCH over title, body and tags: every word, each as a prefix."""
        terms = " ".join(f'"{w}"*' for w in self.words)
        return f"{{title body tags}} : ({terms})"

    def tsquery(self) -> str:
        """A ``to_tsquery('simple', …)`` text: every word, each as a prefix."""
        return " & ".join(f"{w}:*" for w in self.words)


def parse_search(text: str) -> SearchWords:
    """``text`` as search words, or :class:`KnowledgeQueryError` saying what is wrong."""
    stripped = text.strip()
    if not stripped:
        raise KnowledgeQueryError("Type a word or two to search the knowledge base.")
    if len(stripped) > MAX_QUERY:
        raise KnowledgeQueryError(
            f"The search is {len(stripped):,} characters long; the limit is {MAX_QUERY}. "
            "Type a few key words instead."
        )
    words = tuple(dict.fromkeys(w.lower() for w in _WORD.findall(stripped)))
    if not words:
        raise KnowledgeQueryError(
            "Type letters or digits to search; punctuation alone finds nothing."
        )
    if len(words) > MAX_WORDS:
        raise KnowledgeQueryError(
            f"The search has {len(words)} different words; use at most {MAX_WORDS}."
        )
    return SearchWords(words)


def valid_code(value: str | None) -> str | None:
    """An intent or product code as stored on articles, or None for anything else."""
    if value is None:
        return None
    code = value.strip().lower()
    return code if _CODE.match(code) else None
