"""Classify what an agent typed into the search box, without touching the database.

One box takes names, phone numbers in any format (pasted with spaces,
brackets, ``tel:`` prefixes or trailing words), e-mail addresses, the last
digits of an account and ticket numbers. Deciding which is pure string work,
kept here so it is easy to test and the query module stays about SQL.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers

from agentdesk.services.crm.phone import normalise

MAX_QUERY_CHARS = 200
MIN_QUERY_CHARS = 2
MIN_PHONE_DIGITS = 5
FULL_PHONE_DIGITS = 9  # enough digits to be a whole number even when words surround it
MAX_NAME_TOKENS = 6

_TOKEN = re.compile(r"\w+", re.UNICODE)
# Ticket numbers are "T-" + Crockford base32 groups ("T-06F8-1A2B-…"); typed with or
# without the dashes, in any case. "T" + digit also counts so "t06f8" works.
_TICKET = re.compile(r"^T(?:-[0-9A-Z-]*|\d[0-9A-Z-]*)$", re.IGNORECASE)
_CROCKFORD_ALIASES = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})
# A run of digits with the separators people type or paste: "+44 (0)7700-900 123".
_PHONE_SPAN = re.compile(r"\+?\(?\d[\d\s().\-/]*\d")
_ACCOUNT = re.compile(r"^(?:[*•xX.…#\s-]*)(\d{4})$")


class QueryKind(StrEnum):
    """Which index a query goes to."""

    EMPTY = "empty"
    NAME = "name"
    PHONE = "phone"
    EMAIL = "email"
    ACCOUNT = "account"
    TICKET = "ticket"


@dataclass(frozen=True)
class ParsedQuery:
    """A classified query: its kind and the normalised terms to look up."""

    kind: QueryKind
    terms: tuple[str, ...] = ()
    message: str = ""


def clean(text: str) -> str:
    """NFKC-normalise and drop control/format characters (pasted bidi marks, NULs)."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf")).strip()


def _phone_prefixes(text: str, region: str) -> tuple[str, ...]:
    """Digit prefixes of E.164 numbers (without '+') that the typed number may start."""
    verdict = normalise(text, region)
    if verdict.lookup_key:
        return (verdict.lookup_key.lstrip("+"),)
    stripped = text.lstrip()
    digits = re.sub(r"\D", "", text)
    country = str(phonenumbers.country_code_for_region(region) or "")
    if stripped.startswith("+"):
        return (digits,)
    if digits.startswith("00"):
        return (digits[2:],)
    if digits.startswith("0") and country:
        return (country + digits[1:],)
    # No prefix at all: either already international or national without the trunk 0.
    return (digits, country + digits) if country else (digits,)


def _phone_text(text: str) -> str | None:
    """The phone number inside ``text``, if it is mostly one (or holds a full one among words)."""
    spans: list[str] = _PHONE_SPAN.findall(text)
    if not spans:
        return None
    best = max(spans, key=lambda span: sum(ch.isdigit() for ch in span))
    digits = sum(ch.isdigit() for ch in best)
    letters = sum(ch.isalpha() for ch in text)
    if digits >= MIN_PHONE_DIGITS and (digits >= letters or digits >= FULL_PHONE_DIGITS):
        return best
    return None


def ticket_prefix(text: str) -> str:
    """Canonical ``T-XXXX-XXXX…`` prefix of a typed ticket number."""
    body = re.sub(r"[\s-]", "", text.upper())[1:].translate(_CROCKFORD_ALIASES)
    groups = [body[i : i + 4] for i in range(0, len(body), 4)]
    return "T-" + "-".join(groups)


def parse_query(raw: str, region: str = "GB") -> ParsedQuery:
    """Classify ``raw``. Never raises; odd input gives an EMPTY query with a message."""
    if not isinstance(raw, str):
        return ParsedQuery(QueryKind.EMPTY, message="search text must be text")
    if len(raw) > MAX_QUERY_CHARS * 4:
        return ParsedQuery(
            QueryKind.EMPTY, message=f"search text is limited to {MAX_QUERY_CHARS} characters"
        )
    text = clean(raw)[:MAX_QUERY_CHARS]
    if len(text) < MIN_QUERY_CHARS:
        return ParsedQuery(QueryKind.EMPTY, message=f"type at least {MIN_QUERY_CHARS} characters")
    if _TICKET.match(text.replace(" ", "")):
        return ParsedQuery(QueryKind.TICKET, (ticket_prefix(text),))
    if "@" in text:
        return ParsedQuery(QueryKind.EMAIL, (text.lower().replace(" ", ""),))
    account = _ACCOUNT.match(text)
    if account:
        return ParsedQuery(QueryKind.ACCOUNT, (account.group(1),))
    phone = _phone_text(text)
    if phone:
        return ParsedQuery(QueryKind.PHONE, _phone_prefixes(phone, region))
    tokens = [t.lower() for t in _TOKEN.findall(text)][:MAX_NAME_TOKENS]
    if not tokens:
        return ParsedQuery(QueryKind.EMPTY, message="type letters or digits to search")
    if all(t.isdigit() for t in tokens):
        return ParsedQuery(
            QueryKind.EMPTY, message="type 4 account digits or at least 5 phone digits"
        )
    return ParsedQuery(QueryKind.NAME, tuple(tokens))
