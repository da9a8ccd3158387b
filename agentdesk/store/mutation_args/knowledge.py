"""Arguments of the ``knowledge.*`` mutations: publish a version, set the review date, retire.

The article body is Markdown. What may be published is checked here, once for both
sides: no raw HTML (a ``<script>`` or ``<img onerror=…>`` pasted from a web page) and
no link or image whose address is not ``http``, ``https`` or ``mailto`` (a
``javascript:`` link). The desktop renders with HTML switched off anyway; refusing it
at publishing time tells the editor, instead of showing agents a page of escaped tags.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated, Any, Self

from markdown_it import MarkdownIt
from markdown_it.token import Token
from pydantic import model_validator

from agentdesk.models import ProductKind
from agentdesk.store.mutation_args.base import (
    IS_ID,
    Before,
    MutationArgs,
    Text,
    WholeNumber,
    reject,
)

MAX_TITLE = 300
MAX_BODY = 200_000  # characters of Markdown; a long procedure is ~20 000
MAX_NOTE = 300
MAX_CODES = 12  # intents or products on one article
LANGUAGES = ("en", "de", "fr", "es", "pl")
ALLOWED_SCHEMES = ("http", "https", "mailto")
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")

# Parses links exactly as the renderer does, but accepts every address so the check
# below sees (and names) the ones the renderer would silently drop.
_PARSER = MarkdownIt("commonmark", {"html": True})


def _any_link(url: str) -> bool:
    return True


_PARSER.validateLink = _any_link  # type: ignore[method-assign]


def _walk(tokens: list[Token]) -> list[Token]:
    out: list[Token] = []
    for token in tokens:
        out.append(token)
        if token.children:
            out.extend(_walk(token.children))
    return out


def body_problem(body: str) -> str | None:
    """Why ``body`` cannot be published as an article, in words for the editor, or None."""
    for token in _walk(_PARSER.parse(body)):
        if token.type in ("html_block", "html_inline"):
            tag = token.content.strip().splitlines()[0][:40] if token.content.strip() else "<…>"
            return (
                f"contains HTML ({tag}); write the article in Markdown — HTML is not "
                "shown to agents"
            )
        if token.type in ("link_open", "image"):
            target = str(token.attrGet("href" if token.type == "link_open" else "src") or "")
            scheme = _SCHEME.match(target.strip())
            if scheme is not None and scheme.group(1).lower() not in ALLOWED_SCHEMES:
                what = "a link" if token.type == "link_open" else "an image"
                return (
                    f"has {what} to {scheme.group(1).lower()}: — only http, https and "
                    "mailto addresses are allowed"
                )
            if token.type == "image":
                return "has an image; articles are text only (describe it or link to it)"
    return None


def _body(value: Any) -> Any:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("is empty; write the answer agents will read")
    problem = body_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _codes(value: Any) -> Any:
    """A list of codes, or the same as space/comma-separated text; sorted, no repeats."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, list | tuple):
        raise ValueError("must be a list of codes")
    codes = sorted({str(v).strip().lower() for v in value if str(v).strip()})
    if len(codes) > MAX_CODES:
        raise ValueError(f"has {len(codes)} codes; the limit is {MAX_CODES}")
    for code in codes:
        if not _CODE.match(code):
            raise ValueError(f"{code!r} is not a code (lower-case letters, digits and _)")
    return tuple(codes)


def _products(value: Any) -> Any:
    codes = _codes(value)
    known = {p.value for p in ProductKind}
    for code in codes:
        if code not in known:
            raise ValueError(f"{code!r} is not a product; one of: {', '.join(sorted(known))}")
    return codes


def _language(value: Any) -> Any:
    if value not in LANGUAGES:
        raise ValueError(f"{value!r} is not one of: {', '.join(LANGUAGES)}")
    return value


def _date(value: Any) -> Any:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError("must be a date (YYYY-MM-DD)")


Codes = Annotated[tuple[str, ...], Before(_codes)]
Date = Annotated[dt.date | None, Before(_date)]


class KnowledgePublish(MutationArgs):
    """``knowledge.publish``: publish ``article_id`` as version ``base_version + 1``.

    ``base_version`` is the published version the editor started from (0 for a new
    article): if someone published in between, the mutation is refused rather than
    silently replacing their version. ``version_id`` fixes the new version's id, so a
    replay changes nothing.
    """

    mutation = "knowledge.publish"

    article_id: Annotated[uuid.UUID, IS_ID]
    version_id: Annotated[uuid.UUID, IS_ID]
    base_version: Annotated[int, WholeNumber()]
    title: Annotated[str, Text(MAX_TITLE, required=True)]
    body: Annotated[str, Text(MAX_BODY, multiline=True, required=True), Before(_body)]
    tags: Annotated[str | None, Text(MAX_TITLE)] = None
    intents: Codes = ()
    products: Annotated[tuple[str, ...], Before(_products)] = ()
    language: Annotated[str, Before(_language)] = "en"
    owner_id: Annotated[uuid.UUID | None, IS_ID] = None
    review_due: Date = None
    note: Annotated[str | None, Text(MAX_NOTE)] = None

    @model_validator(mode="after")
    def _findable(self) -> Self:
        if not self.intents and not self.products and not (self.tags or "").strip():
            raise reject(
                "give the article at least one intent, product or tag, or agents will only "
                "find it by searching",
                "intents",
            )
        return self


class KnowledgeReview(MutationArgs):
    """``knowledge.review``: the article was checked and stays valid until ``review_due``."""

    mutation = "knowledge.review"

    article_id: Annotated[uuid.UUID, IS_ID]
    review_due: Date = None


class KnowledgeRetire(MutationArgs):
    """``knowledge.retire``: withdraw an article (kept, with its versions, for citations)."""

    mutation = "knowledge.retire"

    article_id: Annotated[uuid.UUID, IS_ID]
