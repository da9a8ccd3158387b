"""Caller-ID normalisation against the shapes real PBXs and agents produce."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentdesk.services.crm.phone import MAX_INPUT_LENGTH, NumberStatus, normalise

LONDON = "+442079460958"


@pytest.mark.parametrize(
    "raw",
    [
        "+44 20 7946 0958",
        "020 7946 0958",
        "0044 20 7946 0958",
        "+44 (0)20 7946 0958",
        "tel:+44-20-7946-0958",
        "sip:+442079460958@pbx.example.com",
        "\u200e+44 20 7946 0958\u200f",
        "＋４４ ２０ ７９４６ ０９５８",
    ],
)
def test_london_number_in_every_format(raw: str) -> None:
    result = normalise(raw, "GB")
    assert result.status is NumberStatus.VALID
    assert result.e164 == LONDON
    assert result.lookup_key == LONDON


def test_north_american_number_depends_on_default_region() -> None:
    us = normalise("(415) 555-0134", "US")
    assert us.status is NumberStatus.VALID and us.e164 == "+14155550134"
    assert normalise("(415) 555-0134", "GB").status is not NumberStatus.VALID


def test_extension_is_kept_apart() -> None:
    result = normalise("+1 415 555 0134 ext. 12", "GB")
    assert result.e164 == "+14155550134"
    assert result.extension == "12"
    assert result.display.endswith("ext. 12")


@pytest.mark.parametrize(
    "raw", [None, "", "anonymous", "Anonymous", "<unknown>", "unknown", "Restricted", "  PRIVATE "]
)
def test_withheld(raw: str | None) -> None:
    result = normalise(raw)
    assert result.status is NumberStatus.WITHHELD
    assert result.lookup_key is None
    assert result.display == "Withheld number"


@pytest.mark.parametrize("raw", ["999", "112"])
def test_short_codes(raw: str) -> None:
    result = normalise(raw, "GB")
    assert result.status is NumberStatus.SHORT_CODE
    assert result.lookup_key is None
    assert "short code" in result.reason


@pytest.mark.parametrize(
    "raw",
    [
        "1-800-FLOWERS",
        "call me",
        "'; DROP TABLE customer;--",
        "+44 20 7946 095٨x",
        "١٢٣",
        "🙂🙂",
        "++--",
    ],
)
def test_garbage_is_invalid_with_a_reason(raw: str) -> None:
    result = normalise(raw, "GB")
    assert result.status in (NumberStatus.INVALID, NumberStatus.POSSIBLE, NumberStatus.SHORT_CODE)
    if result.status is NumberStatus.INVALID:
        assert result.reason
        assert result.lookup_key is None


def test_overlong_input_is_refused_without_parsing() -> None:
    result = normalise("1" * 10_000)
    assert result.status is NumberStatus.INVALID
    assert str(MAX_INPUT_LENGTH) in result.reason
    assert len(result.raw) == MAX_INPUT_LENGTH


def test_possible_but_unallocated_number_is_still_looked_up() -> None:
    result = normalise("+4420794609", "GB")
    assert result.status in (NumberStatus.POSSIBLE, NumberStatus.INVALID)
    assert (result.lookup_key is not None) == (result.status is NumberStatus.POSSIBLE)


def test_foreign_number_keeps_its_region() -> None:
    result = normalise("+49 30 901820", "GB")
    assert result.region == "DE"
    assert result.e164 == "+4930901820"


@given(st.text(max_size=200))
def test_never_raises(raw: str) -> None:
    result = normalise(raw, "GB")
    assert result.status in NumberStatus
    if result.e164 is not None:
        assert result.e164.startswith("+") and result.e164[1:].isdigit()
