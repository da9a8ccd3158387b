"""Article bodies: Markdown to HTML that is safe to show, and plain-text excerpts.

The renderer is markdown-it-py's CommonMark with raw HTML switched off (a pasted
``<script>`` shows as text, never as markup), images off (the viewer must never
load a file or a remote address) and links only to ``http``, ``https`` and
``mailto`` addresses; any other link (``javascript:``, ``file:``, ``data:``…)
stays as plain text. Publishing refuses such bodies up front
(``store.mutation_args.knowledge.body_problem``); this is the second line, for
whatever is already stored.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.token import Token

from agentdesk.store.mutation_args.knowledge import ALLOWED_SCHEMES
from agentdesk.store.mutation_args.knowledge import body_problem as body_problem

_SCHEME = re.compile(r"^\s*([a-zA-Z][a-zA-Z0-9+.\-]*):")
_SPACES = re.compile(r"\s+")


def _safe_link(url: str) -> bool:
    scheme = _SCHEME.match(url)
    return scheme is None or scheme.group(1).lower() in ALLOWED_SCHEMES


def _renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable("image")
    md.validateLink = _safe_link  # type: ignore[method-assign]
    return md


_MD = _renderer()


def render_html(body: str) -> str:
    """``body`` as HTML for a read-only viewer: no raw HTML, no images, safe links only."""
    return str(_MD.render(body))


def _text_of(tokens: list[Token], out: list[str]) -> None:
    for token in tokens:
        if token.children:
            _text_of(token.children, out)
        elif token.type in ("text", "code_inline", "code_block", "fence", "html_inline"):
            out.append(token.content)
        elif token.type in ("softbreak", "hardbreak", "paragraph_close", "heading_close"):
            out.append(" ")


def plain_text(body: str) -> str:
    """The words of ``body`` without Markdown syntax, on one line (for lists and labels)."""
    out: list[str] = []
    _text_of(_MD.parse(body), out)
    return _SPACES.sub(" ", "".join(out)).strip()


_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKS = re.compile(r"(^|\s)(#{1,6}|>|[-*+]|\d+[.)])\s+|[*_`~]+|<[^>\n]*>", re.MULTILINE)


def excerpt(body: str, limit: int = 160) -> str:
    """The first ``limit`` characters of the words of ``body``, cut at a word with an ellipsis.

    For lists (a line or two per article), so a cheap approximation of :func:`plain_text`
    over the head of the body: link and image syntax keep their text, heading, quote and
    list markers, emphasis and code marks and anything tag-like go. Parsing eight bodies
    with markdown-it cost a pop a millisecond or more.
    """
    head = _LINK.sub(r"\1", body[: limit * 4])
    text = _SPACES.sub(" ", _MARKS.sub(r"\1", head)).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return f"{cut}…"
