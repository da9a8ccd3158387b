"""Caller-ID normalisation: any string a PBX or an agent hands us → an E.164 key or a clear verdict.

The screen pop looks customers up by E.164, so every number stored and
every caller ID received goes through ``normalise``. Real caller IDs arrive
in every shape: international (``+44 20 7946 0958``), national
(``020 7946 0958``), with the ``00`` international prefix, North American
punctuation, an extension, a SIP URI, or not at all (``anonymous``,
``<unknown>``). The result says which, in words an agent can read.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, shortnumberinfo

MAX_INPUT_LENGTH = 64

# What PBXs and carriers put in the caller-ID field when there is no number.
_WITHHELD = frozenset(
    {
        "",
        "anonymous",
        "unknown",
        "<unknown>",
        "private",
        "restricted",
        "withheld",
        "unavailable",
        "unavail",
        "blocked",
        "no caller id",
        "p",
        "o",
        "<anonymous>",
    }
)
_URI_PREFIX = re.compile(r"^(?:tel|sip|sips|callto|phone):", re.IGNORECASE)
_EXTENSION = re.compile(r"(?:;ext=|\s*(?:ext\.?|extension|x|#)\s*)(\d{1,7})\s*$", re.IGNORECASE)
_ALLOWED = re.compile(r"^[+\d\s().\-/]*$")


class NumberStatus(StrEnum):
    VALID = "valid"  # a dialable number for its region
    POSSIBLE = "possible"  # right length but not an allocated range; still looked up
    SHORT_CODE = "short_code"  # emergency or service short code (999, 112, 100 …)
    WITHHELD = "withheld"  # caller withheld their number, or the network sent none
    INVALID = "invalid"  # not a phone number


@dataclass(frozen=True)
class CallerNumber:
    """The outcome of normalising one caller ID."""

    raw: str
    status: NumberStatus
    e164: str | None = None
    region: str | None = None
    extension: str | None = None
    reason: str = ""

    @property
    def lookup_key(self) -> str | None:
        """The key to search customers by, or None if no lookup makes sense."""
        return self.e164 if self.status in (NumberStatus.VALID, NumberStatus.POSSIBLE) else None

    @property
    def display(self) -> str:
        """International format for screens; the raw text for anything else."""
        if self.e164:
            parsed = phonenumbers.parse(self.e164, None)
            text = phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL)
            return f"{text} ext. {self.extension}" if self.extension else text
        if self.status is NumberStatus.WITHHELD:
            return "Withheld number"
        return self.raw


def _clean(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw)
    # Drop invisible formatting characters (bidi marks, zero-width joiners) that
    # ride along when numbers are pasted from e-mails or web pages.
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc"))
    text = _URI_PREFIX.sub("", text.strip())
    if "@" in text:  # sip:+442079460958@pbx.example → user part
        text = text.split("@", 1)[0]
    return text.strip().strip('"')


def normalise(raw: str | None, default_region: str = "GB") -> CallerNumber:
    """Normalise a caller ID or a typed/pasted number.

    ``default_region`` (ISO 3166 alpha-2) interprets national formats such as
    ``020 7946 0958``. Never raises for bad input; the status says what it was.
    """
    original = "" if raw is None else str(raw)
    if len(original) > MAX_INPUT_LENGTH:
        return CallerNumber(
            original[:MAX_INPUT_LENGTH],
            NumberStatus.INVALID,
            reason=f"longer than {MAX_INPUT_LENGTH} characters",
        )
    text = _clean(original)
    if text.lower() in _WITHHELD:
        return CallerNumber(
            original, NumberStatus.WITHHELD, reason="the caller's number was withheld"
        )
    extension = None
    match = _EXTENSION.search(text)
    if match:
        extension, text = match.group(1), text[: match.start()].strip()
    if not _ALLOWED.match(text) or not any(ch.isdigit() for ch in text):
        return CallerNumber(
            original,
            NumberStatus.INVALID,
            reason="contains characters that are not part of a phone number",
        )
    region = default_region.upper()
    try:
        parsed = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        return CallerNumber(original, NumberStatus.INVALID, reason=str(exc).split(". ", 1)[-1])
    national = str(parsed.national_number)
    if len(national) <= 6 and shortnumberinfo.is_valid_short_number_for_region(parsed, region):
        return CallerNumber(
            original,
            NumberStatus.SHORT_CODE,
            region=region,
            reason=f"{national} is a short code in {region}",
        )
    e164 = phonenumbers.format_number(parsed, PhoneNumberFormat.E164)
    number_region = phonenumbers.region_code_for_number(parsed)
    if phonenumbers.is_valid_number(parsed):
        return CallerNumber(original, NumberStatus.VALID, e164, number_region, extension)
    if phonenumbers.is_possible_number(parsed):
        return CallerNumber(
            original,
            NumberStatus.POSSIBLE,
            e164,
            number_region,
            extension,
            reason="not an allocated number range; matched as given",
        )
    return CallerNumber(
        original,
        NumberStatus.INVALID,
        extension=extension,
        reason="not a possible phone number for its country",
    )
