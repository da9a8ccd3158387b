"""Small text formatters shared by the desktop's widgets."""

from __future__ import annotations

import datetime as dt
import html
import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from agentdesk.services.labels import Kind, plain_words, shipped_labels
from agentdesk.ui.desk_theme import link_style

# What a shown value must not carry. Bidi embeddings, overrides and isolates (U+202A–U+202E,
# U+2066–U+2069) and the implicit marks let a value reorder the text around it (an RLO
# before a reversed "PASSED" reads as "PASSED"); C0/C1 controls and lone surrogates have no
# glyph at all. Each is shown as U+FFFD so the agent sees that something odd was there.
_UNSHOWABLE = re.compile(
    "[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f"
    "\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_LINE_BREAKS = re.compile("[\n\t]")
MARK = "\ufffd"


def duration(seconds: float | None) -> str:
    """``75`` → ``1:15``; ``3725`` → ``1:02:05``."""
    if seconds is None:
        return "–"
    total = max(int(seconds), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def when(value: dt.datetime | None) -> str:
    """Local date and time, short."""
    if value is None:
        return ""
    return value.astimezone().strftime("%d %b %Y %H:%M")


def count(n: int, singular: str, plural: str | None = None) -> str:
    """``count(1, "ticket")`` → ``1 ticket``; ``count(1200, "entry", "entries")``
    → ``1,200 entries``."""
    return f"{n:,} {singular if n == 1 else (plural or singular + 's')}"


def words(code: str | None) -> str:
    """``card_lost`` → ``Card lost``."""
    return plain_words(code)


def label(kind: Kind, code: str | None) -> str:
    """What an agent reads for a stored code: ``label("segment", "young_saver")`` →
    ``Young saver``, from the label files in ``resources/``."""
    return shipped_labels().label(kind, code)


def display_text(value: object, *, multiline: bool = False) -> str:
    """``value`` made safe to show as plain text in a label, tooltip, tab or notification.

    Bidi controls, other control characters and lone surrogates become U+FFFD; a
    single-line value also turns tabs and line breaks into spaces so a name cannot
    paint a second line of its own under the real one.
    """
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not multiline:
        text = _LINE_BREAKS.sub(" ", text)
    return _UNSHOWABLE.sub(MARK, text)


def tab_text(value: object) -> str:
    """Data for a tab, button or dock title, where ``&`` marks a keyboard mnemonic.

    Doubling it shows the ampersand itself, so "ID&V" neither loses its "&" nor makes
    Alt+V jump to that tab.
    """
    return display_text(value).replace("&", "&&")


def esc(text: object, *, multiline: bool = False) -> str:
    """Data for a rich-text label: neutralised (``display_text``) then HTML-escaped."""
    return html.escape(display_text(text, multiline=multiline), quote=True)


def plain(label: QLabel) -> QLabel:
    """Make ``label`` plain text, so markup in the data it shows is painted as written.

    QLabel's default (AutoText) renders anything that looks like HTML; a customer named
    ``<b style=color:green>ID&V PASSED</b>`` would paint a green banner.
    """
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def rich_tooltip(text: object) -> str:
    """Data for a tooltip, shown verbatim: Qt renders tooltip text as HTML when it looks
    like HTML, and has no plain-text switch, so the value is escaped inside a paragraph."""
    return "<p style='white-space:pre-wrap'>" + esc(text, multiline=True) + "</p>"


def phone_link(e164: str | None, shown: str) -> str:
    """A rich-text link that the desktop turns into a click-to-dial request."""
    if not e164:
        return esc(shown)
    return f'<a href="tel:{esc(e164)}"{link_style()}>{esc(shown)}</a>'
