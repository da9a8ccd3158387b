"""Helpers that keep personal data out of log records.

Logs leave the workstation (support bundles, central log shippers) and are
kept far longer than a call, so nothing at INFO or above may name a
customer or carry a full phone number, e-mail address or card number. A
call is identified in logs by its ``linkedid`` and the caller by the last
four digits of the number, which is enough to match a complaint to a
record without reproducing the number.
"""

from __future__ import annotations

_KEEP = 4


def mask_phone(number: str | None) -> str:
    """``+441632960123`` → ``…0123``; anything without digits → ``-``.

    Only the digits count: formatting characters and a leading ``+`` say nothing
    about the caller but would leak the number's length and shape.
    """
    digits = "".join(ch for ch in number or "" if ch.isdigit())
    if not digits:
        return "-"
    if len(digits) <= _KEEP:
        # A short number (an extension, "anonymous" spelled as digits) is shown as masked too.
        return "…" + "*" * len(digits)
    return "…" + digits[-_KEEP:]


def describe_error(exc: BaseException) -> str:
    """An exception for a log line, without the values it may quote.

    SQLAlchemy's messages append the statement's parameters (names, numbers) and
    PostgreSQL's constraint errors quote the offending key on a DETAIL line, so only
    the class name and the first line of the driver's message are kept.
    """
    inner = getattr(exc, "orig", None)
    source = inner if isinstance(inner, BaseException) else None
    name = type(exc).__name__
    if source is None:
        # Socket and file errors describe the link, not a person; others may quote input.
        return f"{name}: {exc}" if isinstance(exc, OSError) else name
    first_line = str(source).strip().splitlines()[0] if str(source).strip() else ""
    return f"{name} ({type(source).__name__}: {first_line[:120]})"
