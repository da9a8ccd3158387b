"""Small text formatters shared by the desktop's widgets."""

from __future__ import annotations

import datetime as dt
import html

from agentdesk.ui.desk_theme import link_style


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


def words(code: str | None) -> str:
    """``card_lost`` → ``Card lost``."""
    return (code or "").replace("_", " ").strip().capitalize()


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def phone_link(e164: str | None, shown: str) -> str:
    """A rich-text link that the desktop turns into a click-to-dial request."""
    if not e164:
        return esc(shown)
    return f'<a href="tel:{esc(e164)}"{link_style()}>{esc(shown)}</a>'
